#include "storage/types.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "protocol/text.hpp"
#include "storage/areas/sync.hpp"

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
// Also stored (commands.priority holds the number) and shown by the API.
constexpr std::array<std::pair<CommandPriority, const char*>, 3> kPriorityNames{{
    {CommandPriority::control, "control"},
    {CommandPriority::normal, "normal"},
    {CommandPriority::bulk, "bulk"},
}};
}  // namespace

const char* command_priority_name(CommandPriority priority) noexcept {
  for (const auto& [p, name] : kPriorityNames)
    if (p == priority) return name;
  return "unknown";
}

std::optional<CommandPriority> command_priority_from_name(std::string_view name) noexcept {
  for (const auto& [p, n] : kPriorityNames)
    if (name == n) return p;
  return std::nullopt;
}

const char* command_status_name(CommandStatus status) noexcept {
  for (const auto& [s, name] : kStatusNames)
    if (s == status) return name;
  return "unknown";
}

const char* sync_state_name(SyncState state) noexcept {
  switch (state) {
    case SyncState::pending: return "pending";
    case SyncState::sending: return "sending";
    case SyncState::applied: return "applied";
    case SyncState::failed: return "failed";
  }
  return "unknown";
}

bool valid_command_text(const NewCommand& command) {
  const std::string& line = command.line;
  if (line.empty() || line.find('\r') != std::string::npos) return false;
  if (line.find('\n') == std::string::npos) return true;
  if (command.verb != "DATA UPDATE") return false;
  std::size_t start = 0;
  while (start <= line.size()) {
    const auto end = std::min(line.find('\n', start), line.size());
    const std::string_view piece(line.data() + start, end - start);
    if (piece.empty() || (start > 0 && piece.substr(0, 2) == "C:")) return false;
    start = end + 1;
  }
  return true;
}

void apply_settings(Device& device, const DeviceSettings& settings) {
  if (settings.approved) device.approved = *settings.approved;
  if (settings.time_zone) device.time_zone = *settings.time_zone;
  for (const auto& edit : settings.config) {
    if (edit.value) {
      // The edit's spelling of the key is kept: the API canonicalises it ("requestdelay" -> RequestDelay).
      if (auto* f = device.config.find(edit.key)) f->key = edit.key;
      device.config.set(edit.key, *edit.value);
    } else {
      std::erase_if(device.config.fields, [&](const protocol::Field& f) { return protocol::text::iequals(f.key, edit.key); });
    }
  }
}

void merge_options(protocol::Record& options, const protocol::Record& update) {
  auto bare = [](std::string_view k) { return !k.empty() && k.front() == '~' ? k.substr(1) : k; };
  bool changed = false;
  for (const auto& f : update.fields) {
    if (!f.has_value) continue;
    const std::string_view key = bare(f.key);
    if (key.empty()) continue;
    std::erase_if(options.fields, [&](const protocol::Field& g) { return protocol::text::iequals(bare(g.key), key); });
    options.fields.push_back(f);
    changed = true;
  }
  if (!changed) return;
  // SQLite's NOCASE order: ASCII letters folded to lower case, then bytes.
  auto folded_less = [](const protocol::Field& a, const protocol::Field& b) {
    auto low = [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u >= 'A' && u <= 'Z' ? static_cast<unsigned char>(u + ('a' - 'A')) : u;
    };
    return std::lexicographical_compare(a.key.begin(), a.key.end(), b.key.begin(), b.key.end(),
                                        [&](char x, char y) { return low(x) < low(y); });
  };
  std::stable_sort(options.fields.begin(), options.fields.end(), folded_less);
  options.fields.shrink_to_fit();
}

std::optional<CommandStatus> command_status_from_name(std::string_view name) noexcept {
  for (const auto& [s, n] : kStatusNames)
    if (name == n) return s;
  return std::nullopt;
}

}  // namespace zkpush::storage
