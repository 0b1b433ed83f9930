// The message log (storage/areas/messages.hpp) in the messages table; the triggers that write the
// messages of events, door-state changes and closed commands are in schema.cpp, with the advisory
// lock that keeps message ids visible in increasing order.
#pragma once

#include "storage/areas/messages.hpp"
#include "storage/postgres/database.hpp"

namespace zkpush::storage::postgres {

class Messages final : public MessageWrites {
 public:
  explicit Messages(Connection& c) : c_(c) {}
  std::vector<Message> list(const MessageFilter& filter) override;
  std::vector<Message> get(const std::vector<std::int64_t>& ids) override;
  std::int64_t last_id() override;
  std::int64_t add(const std::string& kind, const std::string& sn, const std::string& body, std::int64_t at) override;
  std::int64_t prune(std::int64_t before, std::int64_t limit) override;
  std::optional<std::int64_t> cursor(const std::string& consumer) override;
  void set_cursor(const std::string& consumer, std::int64_t id) override;

 private:
  Connection& c_;
};

}  // namespace zkpush::storage::postgres
