#include "storage/sqlite/connection.hpp"

#include <stdexcept>

namespace zkpush::storage::sqlite {

Connection::Lease Connection::prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end())
    it = statements_.emplace(std::string(sql), std::make_unique<Entry>(Statement(db_, sql))).first;
  if (it->second->in_use)
    throw std::logic_error("statement already in use on this connection: " + std::string(sql.substr(0, 60)));
  return Lease(*it->second);
}

ReadTransaction::ReadTransaction(Database& db) : db_(db) { db_.exec("BEGIN"); }

ReadTransaction::~ReadTransaction() {
  try {
    db_.exec("COMMIT");  // ends the read snapshot; nothing was written
  } catch (const std::exception&) {
    // A read transaction cannot fail to end in a way that loses anything; the next BEGIN reports
    // a connection that is really broken.
  }
}

}  // namespace zkpush::storage::sqlite
