#include "storage/postgres/postgres_store.hpp"

#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <utility>

#include "storage/postgres/schema.hpp"
#include "storage/postgres/view.hpp"

namespace zkpush::storage::postgres {

namespace {

// A connection as every zkpush connection wants it: named in pg_stat_activity, and with commits that
// wait for the WAL flush (a server configured with synchronous_commit = off or local would otherwise
// answer devices before their data is safe; remote_write and stronger are kept).
std::unique_ptr<Connection> connect(const std::string& url, std::string_view role) {
  auto c = std::make_unique<Connection>(url);
  c->exec("SET application_name = 'zkpush " + std::string(role) + "'");
  auto st = c->prepare("SELECT current_setting('synchronous_commit')");
  st.step();
  const std::string level = st.column_text(0);
  if (level == "off" || level == "local") c->exec("SET synchronous_commit = on");
  return c;
}

void rollback_quietly(Connection& c) noexcept {
  try {
    if (c.usable()) c.exec("ROLLBACK");
  } catch (const std::exception&) {
    // The connection went away meanwhile; it is replaced at its next use.
  }
}

}  // namespace

PostgresStore::PostgresStore(const PostgresOptions& options)
    : options_(options), shown_url_(redacted_url(options.url)) {
  try {
    auto c = connect(options_.url, "migrate");
    migrate(*c);
    writer_ = connect(options_.url, "writer");
    idle_.push_back(connect(options_.url, "reader"));
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("opening the store ") + shown_url_ + ": " + e.what());
  }
  writer_pid_ = writer_->backend_pid();
  write_thread_ = std::thread([this] { writer_loop(); });
  feed_thread_ = std::thread([this] { feed_loop(); });
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.reader_threads); ++i)
    read_threads_.emplace_back([this] { reader_loop(); });
  // The services load their memory from the store right after opening it: a change another node
  // commits after that load must reach them, so the feed listens before this returns. (Bounded: a
  // server that stops answering here is the feed's to reconnect to, and it says resync then.)
  std::unique_lock lock(feed_start_mu_);
  feed_start_cv_.wait_for(lock, std::chrono::seconds(30), [this] { return feed_started_; });
}

PostgresStore::~PostgresStore() {
  feed_stopping_ = true;
  feed_thread_.join();
  {
    std::lock_guard lock(read_mu_);
    read_stopping_ = true;
  }
  read_cv_.notify_all();
  for (auto& t : read_threads_) t.join();
  {
    std::lock_guard lock(write_mu_);
    write_stopping_ = true;
  }
  write_cv_.notify_all();
  write_thread_.join();
}

// ---- writes --------------------------------------------------------------------------------------------

void PostgresStore::submit_write(std::function<void(Transaction&)> job, Outcome done) {
  {
    std::lock_guard lock(write_mu_);
    write_queue_.push_back(Pending{std::move(job), std::move(done)});
  }
  write_cv_.notify_one();
}

Connection& PostgresStore::writer_connection() {
  if (!writer_ || !writer_->usable()) {
    // Until the new session exists, no notification is this node's: a lost session's process id may
    // be given to another node's session.
    writer_pid_ = 0;
    writer_.reset();
    writer_ = connect(options_.url, "writer");
    writer_pid_ = writer_->backend_pid();
  }
  return *writer_;
}

void PostgresStore::writer_loop() {
  std::deque<Pending> group;
  for (;;) {
    {
      std::unique_lock lock(write_mu_);
      write_cv_.wait(lock, [this] { return write_stopping_ || !write_queue_.empty(); });
      if (write_queue_.empty() && write_stopping_) break;
      while (!write_queue_.empty() && group.size() < options_.max_group) {
        group.push_back(std::move(write_queue_.front()));
        write_queue_.pop_front();
      }
    }
    commit_group(group);
    group.clear();
  }
  writer_.reset();  // disconnects on the thread that used it
}

namespace {

// Why a unit failed, as its caller is told: a refusal as given, the database's error with whether it
// is transient, anything else (a value that cannot be encoded, a bug) not transient. Rethrows when
// the connection itself is gone: the whole group fails with it.
StoreError unit_failure(Connection& c) {
  try {
    throw;
  } catch (const Refused& r) {
    return StoreError{false, r.what(), r.reason()};
  } catch (const PgError& e) {
    if (!c.usable()) throw;
    return StoreError{e.is_transient(), e.what()};
  } catch (const std::exception& e) {
    return StoreError{false, e.what()};
  }
}

}  // namespace

// A group runs first without savepoints: one round trip per statement of its units and none between
// them (a savepoint per unit cost one more round trip each, which halved ingest of one event per
// request). Units almost never fail; when one does, the group is rolled back and run again with a
// savepoint around each unit, so that only the failed one is undone. A unit may thus run twice: its
// job reads and writes through the transaction only, and its value is the one of its last run.
void PostgresStore::commit_group(std::deque<Pending>& group) {
  std::vector<std::optional<StoreError>> outcomes(group.size());
  bool group_failed = false;
  Connection* c = nullptr;
  try {
    c = &writer_connection();
    try {
      c->exec("BEGIN");
    } catch (const PgError&) {
      // A session lost while the writer was idle (the server restarted, an administrator or a pooler
      // ended it) shows only now. No unit has run on it: one new session, rather than failing a
      // whole group for what happened while nothing ran.
      if (c->usable()) throw;
      // writer_connection() destroys the lost session before it connects again: should connecting
      // fail too, c must not point at it any more (the rollback below).
      c = nullptr;
      c = &writer_connection();
      c->exec("BEGIN");
    }
    std::size_t failed = group.size();
    for (std::size_t i = 0; i < group.size() && failed == group.size(); ++i) {
      try {
        View view(*c, true);
        group[i].job(view);
      } catch (...) {
        outcomes[i] = unit_failure(*c);
        failed = i;
      }
    }
    if (failed < group.size()) {
      c->exec("ROLLBACK");
      // A group of one has nothing else to keep: its unit's failure is the answer, nothing written.
      if (group.size() > 1) {
        outcomes.assign(group.size(), std::nullopt);
        c->exec("BEGIN; SAVEPOINT job");
        for (std::size_t i = 0; i < group.size(); ++i) {
          const bool last = i + 1 == group.size();
          try {
            View view(*c, true);
            group[i].job(view);
            c->exec(last ? "RELEASE job" : "RELEASE job; SAVEPOINT job");
          } catch (...) {
            outcomes[i] = unit_failure(*c);
            c->exec(last ? "ROLLBACK TO job; RELEASE job" : "ROLLBACK TO job; RELEASE job; SAVEPOINT job");
          }
        }
      }
    }
    if (group.size() > 1 || failed == group.size()) c->exec("COMMIT");
  } catch (const std::exception& e) {
    // BEGIN, a savepoint, the connection or the COMMIT failed: nothing of this group is durable. (A
    // COMMIT whose answer was lost may in fact have committed; the devices resend and duplicates are
    // recognised: events by their index or digest, answers by command id.)
    if (c) rollback_quietly(*c);
    group_failed = true;
    const StoreError failure{true, "writing to " + shown_url_ + ": " + e.what()};
    for (auto& o : outcomes) o = failure;
  }
  {
    std::lock_guard lock(write_mu_);
    groups_ += 1;
    jobs_ += group.size();
    if (group_failed) failed_commits_ += 1;
  }
  for (std::size_t i = 0; i < group.size(); ++i)
    if (group[i].done) group[i].done(std::move(outcomes[i]));
}

// ---- reads ---------------------------------------------------------------------------------------------

std::unique_ptr<Connection> PostgresStore::take_reader() {
  {
    std::lock_guard lock(pool_mu_);
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (c->usable()) return c;
    }
  }
  return connect(options_.url, "reader");
}

void PostgresStore::give_back(std::unique_ptr<Connection> c) noexcept {
  if (!c || !c->usable()) return;
  std::lock_guard lock(pool_mu_);
  if (idle_.size() < options_.idle_readers) idle_.push_back(std::move(c));
}

std::optional<StoreError> PostgresStore::run_read(const std::function<void(Reads&)>& job) {
  std::unique_ptr<Connection> c;
  try {
    c = take_reader();
    constexpr const char* kBegin = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
    try {
      c->exec(kBegin);
    } catch (const PgError&) {
      // A pooled session that was lost while idle (usable() cannot know before it is used): the
      // others in the pool were most likely lost with it (a restart). They go, and the unit runs on
      // a new session: the job has not run yet.
      if (c->usable()) throw;
      {
        std::lock_guard lock(pool_mu_);
        idle_.clear();
      }
      c = connect(options_.url, "reader");
      c->exec(kBegin);
    }
    View view(*c, false);
    job(view);
    c->exec("COMMIT");
    give_back(std::move(c));
    return std::nullopt;
  } catch (const Refused& r) {
    if (c) rollback_quietly(*c), give_back(std::move(c));
    return StoreError{false, r.what(), r.reason()};
  } catch (const std::runtime_error& e) {
    // The server, the connection, or a stored value that cannot be decoded: cannot be read now.
    if (c) rollback_quietly(*c), give_back(std::move(c));
    return StoreError{true, "reading " + shown_url_ + ": " + e.what()};
  }
}

void PostgresStore::submit_read(std::function<void(Reads&)> job, Outcome done) {
  {
    std::lock_guard lock(read_mu_);
    read_queue_.push_back(ReadTask{std::move(job), std::move(done)});
  }
  read_cv_.notify_one();
}

void PostgresStore::reader_loop() {
  for (;;) {
    ReadTask task;
    {
      std::unique_lock lock(read_mu_);
      read_cv_.wait(lock, [this] { return read_stopping_ || !read_queue_.empty(); });
      if (read_queue_.empty()) return;
      task = std::move(read_queue_.front());
      read_queue_.pop_front();
    }
    auto error = run_read(task.job);
    if (task.done) task.done(std::move(error));
  }
}

// ---- the feed and the lead ----------------------------------------------------------------------------

namespace {

// Channels the schema's triggers notify (schema.cpp), and the lead's advisory lock.
constexpr std::string_view kListen =
    "LISTEN zkpush_device; LISTEN zkpush_commands; LISTEN zkpush_messages; LISTEN zkpush_sync; "
    "LISTEN zkpush_settings";
constexpr std::string_view kTakeLead = "SELECT pg_try_advisory_lock(2054276086)";
constexpr auto kFeedTick = std::chrono::seconds(1);

}  // namespace

void PostgresStore::watch(ChangeListener listener) {
  std::shared_ptr<const ChangeListener> fresh;
  if (listener) fresh = std::make_shared<const ChangeListener>(std::move(listener));
  std::shared_ptr<const ChangeListener> old;
  {
    std::lock_guard lock(listener_mu_);
    old = std::exchange(listener_, std::move(fresh));
  }
  // From another thread: wait for a callback of the old listener in progress, so that its owner may
  // go once this returns. From a callback itself (the feed's thread, call_mu_ held): tell() keeps its
  // own copy of the listener running, and waiting would never end.
  if (std::this_thread::get_id() != feed_thread_.get_id()) {
    std::lock_guard call(call_mu_);
  }
}

void PostgresStore::tell(const Change& change) {
  std::lock_guard call(call_mu_);
  std::shared_ptr<const ChangeListener> listener;
  {
    std::lock_guard lock(listener_mu_);
    listener = listener_;
  }
  if (!listener) {
    // Before the first watch() (the services loading their memory) or after the last: a change the
    // services' memory may have missed is made up for by a resync once someone listens.
    if (change.kind != Change::Kind::messages) missed_ = true;
    return;
  }
  try {
    (*listener)(change);
  } catch (const std::exception&) {
    // The listener's own failure: it must not cost the feed its connection (and the node its lead).
  }
}

void PostgresStore::feed_ready() {
  {
    std::lock_guard lock(feed_start_mu_);
    feed_started_ = true;
  }
  feed_start_cv_.notify_all();
}

void PostgresStore::feed_loop() {
  bool first = true;
  while (!feed_stopping_) {
    try {
      auto c = connect(options_.url, "feed");
      c->exec(kListen);
      // Whatever happened while there was no feed (or before this one started listening) is unknown.
      const bool returning = !first;
      if (returning) tell(Change{Change::Kind::resync, ""});
      first = false;
      feed_ready();
      listen_once(*c, returning);
    } catch (const std::exception&) {
      // The server or the connection failed: not leading any more; try again after a pause. (A first
      // attempt that failed lets the constructor go on: the next one says resync.)
      first = false;
      feed_ready();
    }
    leads_ = false;
    for (int i = 0; i < 10 && !feed_stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  leads_ = false;
}

void PostgresStore::listen_once(Connection& c, bool returning) {
  // A node back from a lost feed lets a node that kept its own (trying every tick) take the lead
  // first: the lead does not bounce back to the node whose session just failed.
  auto next_check = std::chrono::steady_clock::now() + (returning ? 2 * kFeedTick : std::chrono::seconds(0));
  while (!feed_stopping_) {
    if (missed_.load()) {
      bool listening = false;
      {
        std::lock_guard lock(listener_mu_);
        listening = listener_ != nullptr;
      }
      if (listening && missed_.exchange(false)) tell(Change{Change::Kind::resync, ""});
    }
    if (std::chrono::steady_clock::now() >= next_check) {
      if (leads_) {
        c.exec("SELECT 1");  // still connected, so still holding the lock; a failure throws
      } else {
        auto st = c.prepare(kTakeLead);
        st.step();
        leads_ = st.column_int(0) != 0;
      }
      next_check = std::chrono::steady_clock::now() + kFeedTick;
    }
    for (const auto& n : c.notifications(std::chrono::milliseconds(200))) {
      if (n.sender == writer_pid_.load()) continue;  // this node's own commit
      if (n.channel == "zkpush_device")
        tell(Change{Change::Kind::device, n.payload});
      else if (n.channel == "zkpush_commands")
        tell(Change{Change::Kind::commands, n.payload});
      else if (n.channel == "zkpush_messages")
        tell(Change{Change::Kind::messages, ""});
      else if (n.channel == "zkpush_sync")
        tell(Change{Change::Kind::sync, n.payload});
      else if (n.channel == "zkpush_settings")
        tell(Change{Change::Kind::settings, n.payload});  // the table: api_tokens, webhooks, sub_controllers
    }
  }
}

// ---- maintenance ---------------------------------------------------------------------------------------

std::string PostgresStore::integrity_check() {
  // PostgreSQL checks its pages itself (data checksums, when the cluster has them; amcheck for an
  // administrator). What zkpush can check: the server answers and the schema is this program's.
  try {
    auto c = take_reader();
    const int version = schema_version(*c);
    give_back(std::move(c));
    if (version != latest_schema_version())
      return "schema version " + std::to_string(version) + ", this zkpush expects " +
             std::to_string(latest_schema_version());
    return "ok";
  } catch (const std::exception& e) {
    return "cannot check " + shown_url_ + ": " + e.what();
  }
}

StoreResult<StoreStats> PostgresStore::stats() {
  auto counts = read_now([](Reads& r) {
    StoreStats s;
    s.devices = r.devices().count();
    s.events = r.events().count("");
    s.queued_commands = r.commands().pending_total();
    return s;
  });
  if (!counts.ok()) return counts;
  StoreStats s = counts.value();
  std::lock_guard lock(write_mu_);
  s.write_groups = groups_;
  s.write_jobs = jobs_;
  s.failed_commits = failed_commits_;
  s.write_queue = write_queue_.size();
  return s;
}

std::unique_ptr<Store> open_postgres_store(const PostgresOptions& options) {
  return std::make_unique<PostgresStore>(options);
}

MigrationOutcome migrate_postgres(const std::string& url) {
  try {
    auto c = connect(url, "migrate");
    const auto report = migrate(*c);
    return {report.from, report.to};
  } catch (const std::exception& e) {
    throw std::runtime_error("migrating " + redacted_url(url) + ": " + e.what());
  }
}

}  // namespace zkpush::storage::postgres
