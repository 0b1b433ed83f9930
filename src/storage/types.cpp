#include "storage/types.hpp"

#include <array>
#include <utility>

namespace zkpush::storage {

namespace {
// The names are stored in the database (commands.status) and shown by the API: never rename one.
constexpr std::array<std::pair<CommandStatus, const char*>, 6> kStatusNames{{
    {CommandStatus::queued, "queued"},
    {CommandStatus::sent, "sent"},
    {CommandStatus::done, "done"},
    {CommandStatus::failed, "failed"},
    {CommandStatus::expired, "expired"},
    {CommandStatus::cancelled, "cancelled"},
}};
}  // namespace

const char* command_status_name(CommandStatus status) noexcept {
  for (const auto& [s, name] : kStatusNames)
    if (s == status) return name;
  return "unknown";
}

std::optional<CommandStatus> command_status_from_name(std::string_view name) noexcept {
  for (const auto& [s, n] : kStatusNames)
    if (name == n) return s;
  return std::nullopt;
}

}  // namespace zkpush::storage
