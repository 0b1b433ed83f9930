// The command queue (service/command_queue.hpp) over a real SQLite store in a temporary folder, with
// a manual clock: the state machine (next_status for every status and event, effective_status),
// prepare() (line checks, verb, priority and deadline defaults), enqueue and cancel, delivery
// (priority order, the cap, the byte budget, re-sends with the same wire id, expiry instead of a
// late delivery), answers (done, failed, -5000, -7, repeats, unknown ids), the sweep of overdue
// commands, start-up, and that pending(sn) is exactly the store's count of queued and sent rows
// after every transition.
#include "service/command_queue.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/clock.hpp"
#include "storage/open_store.hpp"
#include "storage/store_testing.hpp"
#include "storage/wire_ids.hpp"
#include "support/store_access.hpp"

namespace zkpush::service {
namespace {

using storage::CommandPriority;
using storage::CommandRow;
using storage::CommandStatus;
using storage::StoreResult;
using Reason = storage::StoreError::Reason;
using storage::testing::await;

constexpr std::int64_t T0 = 1'700'000'000;

std::vector<std::int64_t> ids(const std::vector<CommandRow>& rows) {
  std::vector<std::int64_t> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
}

// ---- the state machine ---------------------------------------------------------------------------

constexpr CommandStatus kStatuses[] = {CommandStatus::queued,  CommandStatus::sent,    CommandStatus::done,
                                       CommandStatus::failed,  CommandStatus::expired, CommandStatus::cancelled};
constexpr CommandEvent kEvents[] = {CommandEvent::deliver,      CommandEvent::answer_pending, CommandEvent::answer_done,
                                    CommandEvent::answer_failed, CommandEvent::expire,         CommandEvent::cancel};

const char* event_name(CommandEvent e) {
  switch (e) {
    case CommandEvent::deliver: return "deliver";
    case CommandEvent::answer_pending: return "answer_pending";
    case CommandEvent::answer_done: return "answer_done";
    case CommandEvent::answer_failed: return "answer_failed";
    case CommandEvent::expire: return "expire";
    case CommandEvent::cancel: return "cancel";
  }
  return "?";
}

TEST(CommandStateMachine, NextStatusForEveryStatusAndEvent) {
  using S = CommandStatus;
  constexpr std::optional<S> no = std::nullopt;
  // One row per status; columns in kEvents order: deliver, -5000, done, failed, expire, cancel.
  const std::map<S, std::vector<std::optional<S>>> table = {
      {S::queued, {S::sent, S::sent, S::done, S::failed, S::expired, S::cancelled}},
      {S::sent, {S::sent, S::sent, S::done, S::failed, S::expired, no}},
      // Closed: never delivered again, no deadline, no -5000; a final answer is still recorded (the
      // device ran it), and cancelling a cancelled command is not an error.
      {S::done, {no, no, S::done, S::failed, no, no}},
      {S::failed, {no, no, S::done, S::failed, no, no}},
      {S::expired, {no, no, S::done, S::failed, no, no}},
      {S::cancelled, {no, no, S::done, S::failed, no, S::cancelled}},
  };
  ASSERT_EQ(table.size(), std::size(kStatuses));
  for (S status : kStatuses) {
    const auto& row = table.at(status);
    ASSERT_EQ(row.size(), std::size(kEvents));
    for (std::size_t e = 0; e < std::size(kEvents); ++e) {
      EXPECT_EQ(next_status(status, kEvents[e]), row[e])
          << storage::command_status_name(status) << " + " << event_name(kEvents[e]);
    }
  }
}

TEST(CommandStateMachine, OnlyQueuedAndSentAreOpen) {
  for (CommandStatus s : kStatuses)
    EXPECT_EQ(is_open(s), s == CommandStatus::queued || s == CommandStatus::sent) << storage::command_status_name(s);
}

TEST(CommandStateMachine, EffectiveStatusExpiresOpenCommandsPastTheirDeadline) {
  CommandRow row;
  row.expires_at = T0 + 10;
  for (CommandStatus s : kStatuses) {
    SCOPED_TRACE(storage::command_status_name(s));
    row.status = s;
    EXPECT_EQ(effective_status(row, T0 + 9), s);
    const CommandStatus past = is_open(s) ? CommandStatus::expired : s;  // a closed command stays as it closed
    EXPECT_EQ(effective_status(row, T0 + 10), past);  // the deadline itself is past
    EXPECT_EQ(effective_status(row, T0 + 1000), past);
  }
  row.expires_at = 0;  // no deadline
  row.status = CommandStatus::queued;
  EXPECT_EQ(effective_status(row, T0 + 1'000'000), CommandStatus::queued);
}

// ---- the queue over a store ------------------------------------------------------------------------

class CommandQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = storage::open_store(storage::testing::sqlite_url(dir_.path()));
    start();
    add_device("D1");
    add_device("D2");
  }
  void TearDown() override {
    queue_.reset();
    store_.reset();
  }

  // A new queue over the same store (start-up), with these options.
  void start(QueueOptions options = {}) {
    queue_ = std::make_unique<CommandQueue>(*store_, clock_, options);
    auto loaded = queue_->load();
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  }
  void reopen(QueueOptions options = {}) {
    queue_.reset();
    store_.reset();
    store_ = storage::open_store(storage::testing::sqlite_url(dir_.path()));
    start(options);
  }
  void add_device(const std::string& sn) {
    storage::Device d;
    d.sn = sn;
    d.first_seen = d.last_seen = T0;
    test::write(*store_, [d](storage::Transaction& tx) { tx.devices().save(d); });
  }

  StoreResult<CommandRow> try_enqueue(const EnqueueRequest& request) {
    return await<CommandRow>([&](CommandQueue::Reply<CommandRow> done) { queue_->enqueue(request, std::move(done)); });
  }
  CommandRow enqueue(const std::string& sn, const std::string& line,
                     std::optional<CommandPriority> priority = std::nullopt,
                     std::optional<std::int64_t> expires_in = std::nullopt) {
    auto r = try_enqueue(EnqueueRequest{sn, line, expires_in, priority});
    EXPECT_TRUE(r.ok()) << line << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : CommandRow{};
  }
  std::vector<CommandRow> deliver(const std::string& sn, DeliveryBudget budget = {}) {
    auto r = await<std::vector<CommandRow>>(
        [&](CommandQueue::Reply<std::vector<CommandRow>> done) { queue_->deliver(sn, budget, std::move(done)); });
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : std::vector<CommandRow>{};
  }
  // The device's answers: (wire id as sent, Return).
  std::vector<CommandRow> answer(const std::string& sn, const std::vector<std::pair<std::string, std::int64_t>>& answers,
                                 const std::string& cmd = "") {
    std::vector<protocol::CommandResult> results;
    for (const auto& [id, code] : answers) {
      protocol::CommandResult r;
      r.id = id;
      r.return_code = code;
      r.return_text = std::to_string(code);
      r.cmd = cmd;
      r.fields = protocol::Record{{"ID", id}, {"Return", std::to_string(code)}, {"CMD", cmd}};
      results.push_back(std::move(r));
    }
    auto r = await<std::vector<CommandRow>>([&](CommandQueue::Reply<std::vector<CommandRow>> done) {
      queue_->record_answers(sn, results, std::move(done));
    });
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : std::vector<CommandRow>{};
  }
  std::vector<CommandRow> answer(const CommandRow& row, std::int64_t code) {
    return answer(row.sn, {{std::to_string(row.wire_id), code}});
  }
  StoreResult<CommandRow> cancel(std::int64_t id) {
    return await<CommandRow>([&](CommandQueue::Reply<CommandRow> done) { queue_->cancel(id, std::move(done)); });
  }
  std::int64_t expire_due() {
    auto r = await<std::int64_t>([&](CommandQueue::Reply<std::int64_t> done) { queue_->expire_due(std::move(done)); });
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : -1;
  }
  CommandRow row(std::int64_t id) {
    auto r = test::read(*store_, [id](storage::Reads& rd) { return rd.commands().get(id); });
    EXPECT_TRUE(r) << "command " << id;
    return r.value_or(CommandRow{});
  }
  std::int64_t stored_pending(const std::string& sn) {
    return test::read(*store_, [sn](storage::Reads& rd) { return rd.commands().pending_count(sn); });
  }
  std::int64_t stored_pending_total() {
    return test::read(*store_, [](storage::Reads& rd) { return rd.commands().pending_total(); });
  }
  // The queue's count, the store's count of queued and sent rows, and the number expected: all equal.
  void expect_pending(const std::string& sn, std::int64_t n) {
    EXPECT_EQ(queue_->pending(sn), n) << sn << ": the queue's count";
    EXPECT_EQ(stored_pending(sn), n) << sn << ": queued and sent rows in the store";
  }
  void expect_total(std::int64_t n) {
    EXPECT_EQ(queue_->pending_total(), n) << "the queue's total";
    EXPECT_EQ(stored_pending_total(), n) << "queued and sent rows in the store";
  }

  storage::testing::TempDir dir_;
  ManualClock clock_{T0};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<CommandQueue> queue_;
};

// ---- prepare ---------------------------------------------------------------------------------------

TEST_F(CommandQueueTest, PrepareRefusesWhatIsNotOneCommandOfTheProtocol) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "empty"},
      {"DATA UPDATE user Pin=1\nC:2:CONTROL DEVICE 01010105", "one command"},
      {"CONTROL DEVICE 01010105\nCardNo=\tPin=2", "DATA UPDATE"},
      {"C:7:CONTROL DEVICE 01010105", "leave out"},
      {"DATA UPDATE nosuchtable Pin=1", "nosuchtable"},
      {"REBOOT", "unknown command verb"},
      {"OPEN THE DOOR PLEASE", "unknown command verb"},
  };
  for (const auto& [line, why] : bad) {
    SCOPED_TRACE(line);
    auto r = queue_->prepare(EnqueueRequest{"D1", line, std::nullopt, std::nullopt});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().reason, Reason::invalid);
    EXPECT_FALSE(r.error().transient);
    EXPECT_EQ(r.error().message.rfind("line: ", 0), 0u) << r.error().message;
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  }
  // Liberal in what is pasted: CRLF and a final line break are taken, and sent as LF.
  auto crlf = queue_->prepare(EnqueueRequest{"D1", "DATA UPDATE user Pin=1\tName=A\r\nPin=2\tName=B\r\n", std::nullopt, std::nullopt});
  ASSERT_TRUE(crlf.ok()) << crlf.error().message;
  EXPECT_EQ(crlf->line, "DATA UPDATE user Pin=1\tName=A\nPin=2\tName=B");
  for (std::int64_t expires_in : {0, -5}) {
    auto r = queue_->prepare(EnqueueRequest{"D1", "CONTROL DEVICE 01010105", expires_in, std::nullopt});
    ASSERT_FALSE(r.ok()) << expires_in;
    EXPECT_EQ(r.error().reason, Reason::invalid);
    EXPECT_EQ(r.error().message.rfind("expires_in: ", 0), 0u) << r.error().message;
  }
}

TEST_F(CommandQueueTest, PrepareDerivesVerbPriorityAndDeadline) {
  QueueOptions options;
  options.control_expiry = 30;
  start(options);
  clock_.set(T0 + 7);

  auto door = queue_->prepare(EnqueueRequest{"D1", "CONTROL DEVICE 01010105", std::nullopt, std::nullopt});
  ASSERT_TRUE(door.ok()) << door.error().message;
  EXPECT_EQ(door->sn, "D1");
  EXPECT_EQ(door->line, "CONTROL DEVICE 01010105");
  EXPECT_EQ(door->verb, "CONTROL DEVICE");
  EXPECT_EQ(door->priority, CommandPriority::control);  // doors go ahead of bulk work
  EXPECT_EQ(door->created_at, T0 + 7);
  EXPECT_EQ(door->expires_at, T0 + 7 + 30);  // the default deadline of CONTROL DEVICE

  auto update = queue_->prepare(EnqueueRequest{"D1", "DATA UPDATE user Pin=1", std::nullopt, std::nullopt});
  ASSERT_TRUE(update.ok()) << update.error().message;
  EXPECT_EQ(update->verb, "DATA UPDATE");
  EXPECT_EQ(update->priority, CommandPriority::normal);
  EXPECT_EQ(update->expires_at, 0);  // other verbs have no default deadline

  // What the request says wins over the defaults.
  auto explicit_door = queue_->prepare(EnqueueRequest{"D1", "CONTROL DEVICE 01010105", 5, CommandPriority::bulk});
  ASSERT_TRUE(explicit_door.ok());
  EXPECT_EQ(explicit_door->priority, CommandPriority::bulk);
  EXPECT_EQ(explicit_door->expires_at, T0 + 7 + 5);
  auto urgent = queue_->prepare(EnqueueRequest{"D1", "GET OPTIONS LockCount", 60, CommandPriority::control});
  ASSERT_TRUE(urgent.ok());
  EXPECT_EQ(urgent->verb, "GET OPTIONS");
  EXPECT_EQ(urgent->priority, CommandPriority::control);
  EXPECT_EQ(urgent->expires_at, T0 + 7 + 60);

  // Without a configured control expiry, a door command waits for the device indefinitely.
  start(QueueOptions{});
  auto forever = queue_->prepare(EnqueueRequest{"D1", "CONTROL DEVICE 01010105", std::nullopt, std::nullopt});
  ASSERT_TRUE(forever.ok());
  EXPECT_EQ(forever->expires_at, 0);
  EXPECT_EQ(forever->priority, CommandPriority::control);
}

// ---- enqueue ---------------------------------------------------------------------------------------

TEST_F(CommandQueueTest, EnqueueStoresTheRowAndCountsIt) {
  CommandRow a = enqueue("D1", "DATA UPDATE user Pin=1");
  EXPECT_GT(a.id, 0);
  EXPECT_EQ(a.wire_id, storage::first_wire_id(T0));
  EXPECT_EQ(a.status, CommandStatus::queued);
  EXPECT_EQ(a.verb, "DATA UPDATE");
  EXPECT_EQ(a.created_at, T0);
  CommandRow stored = row(a.id);
  EXPECT_EQ(stored.line, "DATA UPDATE user Pin=1");
  EXPECT_EQ(stored.status, CommandStatus::queued);
  expect_pending("D1", 1);
  clock_.advance(100);
  CommandRow b = enqueue("D1", "GET OPTIONS LockCount");
  EXPECT_EQ(b.wire_id, a.wire_id + 1);
  EXPECT_EQ(b.created_at, T0 + 100);
  expect_pending("D1", 2);
  expect_pending("D2", 0);
  expect_total(2);
}

TEST_F(CommandQueueTest, EnqueueRefusesUnknownDevicesAndBadLinesAndCountsNothing) {
  auto ghost = try_enqueue(EnqueueRequest{"ghost", "DATA UPDATE user Pin=1", std::nullopt, std::nullopt});
  ASSERT_FALSE(ghost.ok());
  EXPECT_EQ(ghost.error().reason, Reason::not_found);
  EXPECT_FALSE(ghost.error().transient);
  auto bad = try_enqueue(EnqueueRequest{"D1", "REBOOT", std::nullopt, std::nullopt});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().reason, Reason::invalid);
  expect_pending("ghost", 0);
  expect_pending("D1", 0);
  expect_total(0);
  EXPECT_FALSE(queue_->next_deadline());
}

// ---- delivery --------------------------------------------------------------------------------------

TEST_F(CommandQueueTest, DeliveryMarksCommandsSentInOrder) {
  CommandRow a = enqueue("D1", "DATA UPDATE user Pin=1");
  CommandRow b = enqueue("D1", "GET OPTIONS LockCount");
  clock_.advance(100);
  auto taken = deliver("D1");
  ASSERT_EQ(ids(taken), (std::vector<std::int64_t>{a.id, b.id}));
  for (const auto& t : taken) {
    EXPECT_EQ(t.status, CommandStatus::sent);
    EXPECT_EQ(t.sent_at, T0 + 100);
    EXPECT_EQ(t.attempts, 1);
    CommandRow stored = row(t.id);
    EXPECT_EQ(stored.status, CommandStatus::sent);
    EXPECT_EQ(stored.sent_at, T0 + 100);
    EXPECT_EQ(stored.attempts, 1);
  }
  EXPECT_EQ(taken[0].wire_id, a.wire_id);
  expect_pending("D1", 2);  // sent is still pending until answered
  // Sent and not yet due for a re-send: nothing more. A new command goes out alone.
  clock_.advance(1);
  EXPECT_TRUE(deliver("D1").empty());
  CommandRow c = enqueue("D1", "CONTROL DEVICE 03000000");
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{c.id}));
  EXPECT_TRUE(deliver("D2").empty());
  expect_pending("D1", 3);
}

TEST_F(CommandQueueTest, AControlCommandQueuedAfterBulkWorkGoesFirst) {
  CommandRow bulk1 = enqueue("D1", "DATA UPDATE user Pin=1", CommandPriority::bulk);
  CommandRow bulk2 = enqueue("D1", "DATA UPDATE user Pin=2", CommandPriority::bulk);
  CommandRow normal = enqueue("D1", "GET OPTIONS LockCount");
  CommandRow door = enqueue("D1", "CONTROL DEVICE 01010105");  // control by default
  EXPECT_EQ(door.priority, CommandPriority::control);
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{door.id, normal.id, bulk1.id, bulk2.id}));
}

TEST_F(CommandQueueTest, DeliveryTakesAtMostTheCapPerPoll) {
  QueueOptions options;
  options.max_per_poll = 2;
  start(options);
  std::vector<CommandRow> queued;
  for (int i = 1; i <= 5; ++i) queued.push_back(enqueue("D1", "DATA UPDATE user Pin=" + std::to_string(i)));
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{queued[0].id, queued[1].id}));
  EXPECT_EQ(row(queued[2].id).status, CommandStatus::queued);
  // A door command queued now overtakes the rest, within the cap.
  CommandRow door = enqueue("D1", "CONTROL DEVICE 01010105");
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{door.id, queued[2].id}));
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{queued[3].id, queued[4].id}));
  EXPECT_TRUE(deliver("D1").empty());
}

TEST_F(CommandQueueTest, DeliveryStopsAtTheFirstCommandThatDoesNotFitTheBudget) {
  CommandRow small1 = enqueue("D1", "DATA UPDATE user Pin=1");
  CommandRow big = enqueue("D1", "DATA UPDATE user Pin=2\tName=a long name that takes many bytes on the wire");
  CommandRow small2 = enqueue("D1", "DATA UPDATE user Pin=3");
  auto size = [](const CommandRow& r, int format) { return CommandQueue::wire_text(r, format).size() + 1; };
  // Room for both small ones, not the big one: the second small one must not overtake it.
  DeliveryBudget budget{size(small1, 0) + size(small2, 0) + 1, 0};
  ASSERT_LT(budget.max_bytes, size(small1, 0) + size(big, 0));
  EXPECT_EQ(ids(deliver("D1", budget)), (std::vector<std::int64_t>{small1.id}));
  // The first command always goes, even larger than the budget (or it could never be delivered).
  DeliveryBudget tiny{size(big, 0) - 1, 0};
  EXPECT_EQ(ids(deliver("D1", tiny)), (std::vector<std::int64_t>{big.id}));
  EXPECT_EQ(ids(deliver("D1", tiny)), (std::vector<std::int64_t>{small2.id}));

  // CmdFormat=1 commands are larger: the budget counts them as they go on the wire.
  CommandRow c1 = enqueue("D1", "GET OPTIONS A");
  CommandRow c2 = enqueue("D1", "GET OPTIONS B");
  DeliveryBudget enveloped{size(c1, 0) + size(c2, 0), 1};
  ASSERT_GT(size(c1, 1) + size(c2, 1), enveloped.max_bytes);
  EXPECT_EQ(ids(deliver("D1", enveloped)), (std::vector<std::int64_t>{c1.id}));
  EXPECT_EQ(ids(deliver("D1", enveloped)), (std::vector<std::int64_t>{c2.id}));
}

TEST_F(CommandQueueTest, WireTextIsTheCommandLineWithItsIdAndForCmdFormat1ItsEnvelope) {
  CommandRow r = enqueue("D1", "CONTROL DEVICE 01010105");
  const std::string id = std::to_string(r.wire_id);
  EXPECT_EQ(CommandQueue::wire_text(r, 0), "C:" + id + ":CONTROL DEVICE 01010105");
  EXPECT_EQ(CommandQueue::wire_text(r, 1),
            "DataType=1, SN=D1, Priority=0, CmdID=" + id + ", CmdDesc=C:" + id + ":CONTROL DEVICE 01010105");
}

TEST_F(CommandQueueTest, UnansweredCommandsAreResentWithTheSameWireIdAfterResendAfter) {
  QueueOptions options;
  options.resend_after = 60;
  start(options);
  CommandRow a = enqueue("D1", "DATA UPDATE user Pin=1");
  ASSERT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{a.id}));  // sent at T0
  clock_.set(T0 + 30);
  CommandRow b = enqueue("D1", "GET OPTIONS LockCount");
  ASSERT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{b.id}));  // a is not due yet
  clock_.set(T0 + 60);
  EXPECT_TRUE(deliver("D1").empty());  // exactly resend_after: not yet
  clock_.set(T0 + 61);
  auto again = deliver("D1");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, a.id);
  EXPECT_EQ(again[0].wire_id, a.wire_id);  // the same id: a device that ran it answers -7
  EXPECT_EQ(again[0].attempts, 2);
  EXPECT_EQ(again[0].sent_at, T0 + 61);
  EXPECT_EQ(row(a.id).attempts, 2);
  clock_.set(T0 + 91);
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{b.id}));
  clock_.set(T0 + 100);
  EXPECT_TRUE(deliver("D1").empty());  // both just re-sent
  expect_pending("D1", 2);
}

TEST_F(CommandQueueTest, ReSendsAndQueuedCommandsMergeByPriorityAndAge) {
  QueueOptions options;
  options.resend_after = 60;
  options.max_per_poll = 1;
  start(options);
  // Bulk work sent first, then a door command: all three go unanswered.
  CommandRow bulk1 = enqueue("D1", "DATA UPDATE user Pin=1", CommandPriority::bulk);
  CommandRow bulk2 = enqueue("D1", "DATA UPDATE user Pin=2", CommandPriority::bulk);
  ASSERT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{bulk1.id}));
  ASSERT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{bulk2.id}));
  CommandRow door = enqueue("D1", "CONTROL DEVICE 01010105");
  ASSERT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{door.id}));
  // All due again, one per poll: the door first, then the bulk work oldest first.
  clock_.advance(61);
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{door.id}));
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{bulk1.id}));
  // A queued normal command goes ahead of a bulk re-send.
  CommandRow normal = enqueue("D1", "GET OPTIONS LockCount");
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{normal.id}));
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{bulk2.id}));
  EXPECT_TRUE(deliver("D1").empty());
}

TEST_F(CommandQueueTest, UnansweredCommandsDoNotHoldUpTheRest) {
  QueueOptions options;
  options.resend_after = 60;
  options.max_per_poll = 2;
  start(options);
  CommandRow a = enqueue("D1", "DATA UPDATE user Pin=1");
  ASSERT_EQ(deliver("D1").size(), 1u);  // a sent at T0
  clock_.set(T0 + 50);
  for (int i = 0; i < 30; ++i) enqueue("D1", "GET OPTIONS LockCount");
  for (int i = 0; i < 15; ++i) ASSERT_EQ(deliver("D1").size(), 2u);  // sent at T0 + 50, unanswered
  CommandRow c = enqueue("D1", "GET OPTIONS A");
  CommandRow d = enqueue("D1", "GET OPTIONS B");
  clock_.set(T0 + 100);
  // Due again: only a (sent before T0 + 40), past the 30 still within their answer time. Then the
  // queued c; the cap stops at 2.
  auto taken = deliver("D1");
  ASSERT_EQ(ids(taken), (std::vector<std::int64_t>{a.id, c.id}));
  EXPECT_EQ(taken[0].attempts, 2);
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{d.id}));
  expect_pending("D1", 33);
}

// ---- deadlines -------------------------------------------------------------------------------------

TEST_F(CommandQueueTest, ACommandPastItsDeadlineIsExpiredNotDelivered) {
  QueueOptions options;
  options.control_expiry = 30;
  start(options);
  CommandRow door = enqueue("D1", "CONTROL DEVICE 01010105");
  CommandRow later = enqueue("D1", "GET OPTIONS A", std::nullopt, 1000);
  CommandRow never = enqueue("D1", "GET OPTIONS B");
  EXPECT_EQ(door.expires_at, T0 + 30);
  EXPECT_EQ(queue_->next_deadline(), T0 + 30);
  expect_pending("D1", 3);
  clock_.set(T0 + 30);  // expires_at <= now: expired
  auto taken = deliver("D1");
  EXPECT_EQ(ids(taken), (std::vector<std::int64_t>{later.id, never.id}));
  CommandRow expired = row(door.id);
  EXPECT_EQ(expired.status, CommandStatus::expired);
  EXPECT_EQ(expired.attempts, 0);
  EXPECT_EQ(expired.done_at, T0 + 30);
  expect_pending("D1", 2);  // deliver's own expiry counted
}

TEST_F(CommandQueueTest, ASentCommandPastItsDeadlineIsNotResentButItsAnswerIsRecorded) {
  QueueOptions options;
  options.resend_after = 20;
  start(options);
  CommandRow door = enqueue("D1", "CONTROL DEVICE 01010105", std::nullopt, 30);
  CommandRow other = enqueue("D1", "GET OPTIONS A");
  ASSERT_EQ(deliver("D1").size(), 2u);
  clock_.set(T0 + 40);
  // Both unanswered and due for a re-send, but the door's deadline passed: a late door opening is
  // worse than none.
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{other.id}));
  CommandRow r = row(door.id);
  EXPECT_EQ(r.status, CommandStatus::expired);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.done_at, T0 + 40);
  expect_pending("D1", 1);
  // The device answers after all: what it did is recorded, and nothing is counted twice.
  clock_.set(T0 + 45);
  auto updated = answer(door, 0);
  ASSERT_EQ(updated.size(), 1u);
  EXPECT_EQ(updated[0].status, CommandStatus::done);
  r = row(door.id);
  EXPECT_EQ(r.status, CommandStatus::done);
  EXPECT_EQ(r.return_code, 0);
  EXPECT_EQ(r.done_at, T0 + 45);
  expect_pending("D1", 1);
}

TEST_F(CommandQueueTest, ExpireDueSweepsEveryDeviceAndMovesTheNextDeadline) {
  QueueOptions options;
  options.overdue_batch = 2;
  start(options);
  CommandRow a = enqueue("D1", "GET OPTIONS A", std::nullopt, 10);
  CommandRow b = enqueue("D2", "GET OPTIONS A", std::nullopt, 20);
  CommandRow c = enqueue("D1", "GET OPTIONS B", std::nullopt, 20);
  CommandRow d = enqueue("D2", "GET OPTIONS B", std::nullopt, 500);
  enqueue("D1", "GET OPTIONS C");  // no deadline
  ASSERT_EQ(deliver("D2").size(), 2u);  // sent commands expire as well
  EXPECT_EQ(queue_->next_deadline(), T0 + 10);
  expect_pending("D1", 3);
  expect_pending("D2", 2);

  clock_.set(T0 + 5);
  EXPECT_EQ(expire_due(), 0);
  EXPECT_EQ(queue_->next_deadline(), T0 + 10);
  clock_.set(T0 + 20);
  EXPECT_EQ(expire_due(), 2);  // at most overdue_batch per sweep, oldest first: a and b
  EXPECT_EQ(row(a.id).status, CommandStatus::expired);
  EXPECT_EQ(row(b.id).status, CommandStatus::expired);
  EXPECT_EQ(row(b.id).done_at, T0 + 20);
  EXPECT_EQ(row(c.id).status, CommandStatus::queued);
  EXPECT_EQ(queue_->next_deadline(), T0 + 20);  // c is still due: the server sweeps again
  expect_pending("D1", 2);
  expect_pending("D2", 1);
  EXPECT_EQ(expire_due(), 1);
  EXPECT_EQ(row(c.id).status, CommandStatus::expired);
  EXPECT_EQ(queue_->next_deadline(), T0 + 500);
  expect_pending("D1", 1);
  expect_pending("D2", 1);
  expect_total(2);
  clock_.set(T0 + 500);
  EXPECT_EQ(expire_due(), 1);
  EXPECT_EQ(row(d.id).status, CommandStatus::expired);
  EXPECT_FALSE(queue_->next_deadline());
  expect_pending("D2", 0);
  expect_total(1);
}

// ---- answers ---------------------------------------------------------------------------------------

TEST_F(CommandQueueTest, AnswersCloseCommandsAndPendingKeepsThemSent) {
  CommandRow ok = enqueue("D1", "DATA UPDATE user Pin=1");
  CommandRow bad = enqueue("D1", "DATA DELETE user Pin=1");
  CommandRow slow = enqueue("D1", "ENROLL_BIO TYPE=1\tPIN=1");
  ASSERT_EQ(deliver("D1").size(), 3u);
  clock_.set(T0 + 5);
  auto updated = answer("D1", {{std::to_string(ok.wire_id), 0},
                               {std::to_string(bad.wire_id), -3},
                               {std::to_string(slow.wire_id), -5000}},
                        "DATA");
  ASSERT_EQ(ids(updated), (std::vector<std::int64_t>{ok.id, bad.id, slow.id}));
  EXPECT_EQ(updated[0].status, CommandStatus::done);
  EXPECT_EQ(updated[1].status, CommandStatus::failed);
  EXPECT_EQ(updated[2].status, CommandStatus::sent);

  CommandRow r = row(ok.id);
  EXPECT_EQ(r.status, CommandStatus::done);
  EXPECT_EQ(r.return_code, 0);
  EXPECT_EQ(r.done_at, T0 + 5);
  auto result = nlohmann::json::parse(r.result);
  EXPECT_EQ(result["return"], 0);
  EXPECT_EQ(result["cmd"], "DATA");
  EXPECT_EQ(result["kind"], "ok");
  r = row(bad.id);
  EXPECT_EQ(r.status, CommandStatus::failed);
  EXPECT_EQ(r.return_code, -3);
  EXPECT_EQ(nlohmann::json::parse(r.result)["kind"], "failed");
  r = row(slow.id);
  EXPECT_EQ(r.status, CommandStatus::sent);  // -5000: still running on a sub-controller
  EXPECT_EQ(r.return_code, -5000);
  EXPECT_EQ(nlohmann::json::parse(r.result)["kind"], "pending");
  EXPECT_EQ(r.done_at, 0);
  expect_pending("D1", 1);

  // The final answer comes later.
  clock_.set(T0 + 60);
  ASSERT_EQ(answer(slow, 0).size(), 1u);
  r = row(slow.id);
  EXPECT_EQ(r.status, CommandStatus::done);
  EXPECT_EQ(r.return_code, 0);
  EXPECT_EQ(r.done_at, T0 + 60);
  expect_pending("D1", 0);
  // Closed commands are never delivered again.
  clock_.advance(10'000);
  EXPECT_TRUE(deliver("D1").empty());
}

// A first answer "received, result to follow" (SET ADSCREEN_OPTIONS: -5000, or 5000 as the manual
// prints it) keeps the command sent and stops its re-sending until the final answer closes it.
TEST_F(CommandQueueTest, APendingAnswerIsNotResentAndTheSecondAnswerIsFinal) {
  QueueOptions options;
  options.resend_after = 60;
  start(options);
  CommandRow ad = enqueue("D1", "SET ADSCREEN_OPTIONS InOut=0,Area=1,Type=1,URL=http://h/a.jpg");
  CommandRow quiet = enqueue("D1", "GET OPTIONS LockCount");
  ASSERT_EQ(deliver("D1").size(), 2u);
  clock_.set(T0 + 5);
  answer("D1", {{std::to_string(ad.wire_id), 5000}}, "SET ADSCREEN_OPTIONS");
  CommandRow r = row(ad.id);
  EXPECT_EQ(r.status, CommandStatus::sent);
  EXPECT_EQ(r.return_code, 5000);
  EXPECT_EQ(nlohmann::json::parse(r.result)["kind"], "pending");
  EXPECT_TRUE(awaits_final_answer(r));
  EXPECT_FALSE(awaits_final_answer(row(quiet.id)));  // sent, never answered
  // Past resend_after only the unanswered one goes again.
  clock_.set(T0 + 120);
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{quiet.id}));
  expect_pending("D1", 2);
  // The second answer is the final one.
  answer("D1", {{std::to_string(ad.wire_id), -1}}, "SET ADSCREEN_OPTIONS");
  r = row(ad.id);
  EXPECT_EQ(r.status, CommandStatus::failed);
  EXPECT_EQ(r.return_code, -1);
  EXPECT_FALSE(awaits_final_answer(r));
  expect_pending("D1", 1);
}

// An UPGRADE is long: the panel downloads and installs before it answers. It is sent again only
// after half an hour without an answer (a lost delivery), not after resend_after.
TEST_F(CommandQueueTest, AnUnansweredUpgradeIsSentAgainOnlyAfterHalfAnHour) {
  QueueOptions options;
  options.resend_after = 60;
  start(options);
  CommandRow up = enqueue("D1", "UPGRADE type=1,checksum=0123456789abcdef0123456789abcdef,url=http://h/files/f.bin,size=10");
  CommandRow quiet = enqueue("D1", "GET OPTIONS LockCount");
  ASSERT_EQ(deliver("D1").size(), 2u);
  clock_.set(T0 + 120);
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{quiet.id}));
  clock_.set(T0 + 1801);
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{up.id, quiet.id}));
  // The panel, still installing the first, says it has it (-7): not how it ended, still open.
  answer("D1", {{std::to_string(up.wire_id), -7}}, "UPGRADE");
  EXPECT_EQ(row(up.id).status, CommandStatus::sent);
  answer("D1", {{std::to_string(up.wire_id), -19}}, "UPGRADE");
  EXPECT_EQ(row(up.id).status, CommandStatus::failed);
  EXPECT_EQ(row(up.id).return_code, -19);
}

// A "received, result to follow" whose final answer never comes does not keep the command (and the
// device's polls) open for ever: it expires a day later.
TEST_F(CommandQueueTest, APendingAnswerWithoutAFinalOneExpiresADayLater) {
  start();
  CommandRow ad = enqueue("D1", "SET ADSCREEN_OPTIONS InOut=0,Area=1,Type=1,URL=http://h/a.jpg");
  ASSERT_EQ(deliver("D1").size(), 1u);
  answer("D1", {{std::to_string(ad.wire_id), -5000}}, "SET ADSCREEN_OPTIONS");
  EXPECT_EQ(row(ad.id).expires_at, T0 + 86400);
  clock_.set(T0 + 86400);
  EXPECT_EQ(expire_due(), 1);
  EXPECT_EQ(row(ad.id).status, CommandStatus::expired);
  expect_pending("D1", 0);
}

TEST_F(CommandQueueTest, RepeatedAnswersAndLateOnesKeepTheFirstResult) {
  CommandRow c = enqueue("D1", "DATA UPDATE user Pin=1");
  ASSERT_EQ(deliver("D1").size(), 1u);
  clock_.set(T0 + 5);
  answer(c, 0);
  const CommandRow first = row(c.id);
  ASSERT_EQ(first.status, CommandStatus::done);
  // The device did not get our answer and posts the same result again; then -7 ("already ran"),
  // and a stray late -5000: none of them changes the recorded result.
  clock_.set(T0 + 50);
  auto again = answer("D1", {{std::to_string(c.wire_id), 0}, {std::to_string(c.wire_id), -7},
                             {std::to_string(c.wire_id), -5000}});
  ASSERT_EQ(again.size(), 2u);  // the -7 is ignored outright
  CommandRow r = row(c.id);
  EXPECT_EQ(r.status, CommandStatus::done);
  EXPECT_EQ(r.return_code, 0);
  EXPECT_EQ(r.result, first.result);
  EXPECT_EQ(r.done_at, T0 + 5);
  expect_pending("D1", 0);
}

TEST_F(CommandQueueTest, MinusSevenForAnOpenCommandClosesItAsDone) {
  // A re-sent command the device had already run: it says so, and that is success.
  CommandRow c = enqueue("D1", "DATA UPDATE user Pin=1");
  CommandRow other = enqueue("D1", "GET OPTIONS A");
  ASSERT_EQ(deliver("D1").size(), 2u);
  answer(c, -7);
  CommandRow r = row(c.id);
  EXPECT_EQ(r.status, CommandStatus::done);
  EXPECT_EQ(r.return_code, -7);
  EXPECT_EQ(nlohmann::json::parse(r.result)["kind"], "repeated");
  expect_pending("D1", 1);
  EXPECT_EQ(row(other.id).status, CommandStatus::sent);
}

TEST_F(CommandQueueTest, AnswersForUnknownWireIdsAreIgnored) {
  CommandRow mine = enqueue("D1", "DATA UPDATE user Pin=1");
  CommandRow theirs = enqueue("D2", "DATA UPDATE user Pin=1");
  CommandRow theirs2 = enqueue("D2", "DATA UPDATE user Pin=2");
  ASSERT_EQ(deliver("D1").size(), 1u);
  ASSERT_EQ(deliver("D2").size(), 2u);
  ASSERT_NE(theirs2.wire_id, mine.wire_id);  // a wire id D2 has and D1 does not
  auto updated = answer("D1", {{"12345", 0},
                               {std::to_string(mine.wire_id + 1000), 0},
                               {"not-a-number", 0},
                               {std::to_string(theirs2.wire_id), 0},  // D2's command, unknown on D1
                               {std::to_string(mine.wire_id), 0}});
  ASSERT_EQ(ids(updated), (std::vector<std::int64_t>{mine.id}));  // only the matched one comes back
  EXPECT_EQ(row(theirs.id).status, CommandStatus::sent);  // another device's command is not touched
  EXPECT_EQ(row(theirs2.id).status, CommandStatus::sent);
  expect_pending("D1", 0);
  expect_pending("D2", 2);
}

// ---- cancel ----------------------------------------------------------------------------------------

TEST_F(CommandQueueTest, OnlyQueuedCommandsCanBeCancelled) {
  CommandRow queued = enqueue("D1", "CONTROL DEVICE 03000000");
  CommandRow keep = enqueue("D1", "GET OPTIONS A", CommandPriority::bulk);
  clock_.advance(3);
  auto r = cancel(queued.id);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, CommandStatus::cancelled);
  EXPECT_EQ(r->done_at, T0 + 3);
  EXPECT_EQ(row(queued.id).status, CommandStatus::cancelled);
  expect_pending("D1", 1);
  auto twice = cancel(queued.id);  // again: still cancelled, not an error, not counted twice
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->status, CommandStatus::cancelled);
  EXPECT_EQ(twice->done_at, T0 + 3);
  expect_pending("D1", 1);
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{keep.id}));  // the cancelled one never goes

  r = cancel(keep.id);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  EXPECT_EQ(r.error().reason, Reason::conflict);
  EXPECT_NE(r.error().message.find("sent"), std::string::npos) << r.error().message;
  EXPECT_EQ(row(keep.id).status, CommandStatus::sent);
  expect_pending("D1", 1);

  answer(keep, 0);
  r = cancel(keep.id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::conflict);
  EXPECT_EQ(row(keep.id).status, CommandStatus::done);

  r = cancel(keep.id + 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  EXPECT_EQ(r.error().reason, Reason::not_found);
  expect_pending("D1", 0);
}

TEST_F(CommandQueueTest, CancellingACommandPastItsDeadlineRecordsItExpired) {
  CommandRow door = enqueue("D1", "CONTROL DEVICE 01010105", std::nullopt, 10);
  enqueue("D1", "GET OPTIONS A");
  clock_.set(T0 + 10);  // overdue, not yet swept
  auto r = cancel(door.id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::conflict);
  EXPECT_NE(r.error().message.find("expired"), std::string::npos) << r.error().message;
  CommandRow stored = row(door.id);
  EXPECT_EQ(stored.status, CommandStatus::expired);
  EXPECT_EQ(stored.done_at, T0 + 10);
  expect_pending("D1", 1);
  EXPECT_EQ(expire_due(), 0);  // already recorded: not counted again
  expect_pending("D1", 1);
}

// ---- the pending count -----------------------------------------------------------------------------

// pending(sn) is kept without the store, from the transitions each unit of work reports: after each
// one it is exactly the store's number of the device's queued and sent rows.
TEST_F(CommandQueueTest, PendingIsExactlyTheStoresOpenRowsAfterEveryTransition) {
  QueueOptions options;
  options.max_per_poll = 3;
  options.resend_after = 1000;
  start(options);
  std::vector<CommandRow> d1;
  for (int i = 1; i <= 8; ++i) d1.push_back(enqueue("D1", "DATA UPDATE user Pin=" + std::to_string(i)));
  CommandRow door = enqueue("D1", "CONTROL DEVICE 01010105", std::nullopt, 50);   // expires via deliver
  CommandRow swept = enqueue("D1", "GET OPTIONS A", CommandPriority::bulk, 80);   // expires via expire_due
  CommandRow d2a = enqueue("D2", "DATA UPDATE user Pin=1");
  CommandRow d2b = enqueue("D2", "GET OPTIONS A", std::nullopt, 80);
  expect_pending("D1", 10);
  expect_pending("D2", 2);
  expect_total(12);

  // Delivery alone changes nothing: sent is pending.
  ASSERT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{door.id, d1[0].id, d1[1].id}));
  expect_pending("D1", 10);

  // Answered: done and failed, in one post.
  answer("D1", {{std::to_string(d1[0].wire_id), 0}, {std::to_string(d1[1].wire_id), -3}});
  expect_pending("D1", 8);
  // An answer for a queued command (the device got it from another path) closes it too.
  answer(d1[5], 0);
  expect_pending("D1", 7);
  // Repeats close nothing more.
  answer("D1", {{std::to_string(d1[0].wire_id), 0}, {std::to_string(d1[1].wire_id), -3}, {std::to_string(d1[5].wire_id), -7}});
  expect_pending("D1", 7);

  // Cancelled (twice: counted once).
  ASSERT_TRUE(cancel(d1[7].id).ok());
  ASSERT_TRUE(cancel(d1[7].id).ok());
  expect_pending("D1", 6);
  expect_total(8);

  // Expired by deliver itself: the sent door command is past its deadline.
  clock_.set(T0 + 50);
  EXPECT_EQ(ids(deliver("D1")), (std::vector<std::int64_t>{d1[2].id, d1[3].id, d1[4].id}));
  EXPECT_EQ(row(door.id).status, CommandStatus::expired);
  expect_pending("D1", 5);
  expect_pending("D2", 2);

  // Expired by the sweep, on both devices.
  clock_.set(T0 + 80);
  EXPECT_EQ(expire_due(), 2);
  EXPECT_EQ(row(swept.id).status, CommandStatus::expired);
  EXPECT_EQ(row(d2b.id).status, CommandStatus::expired);
  expect_pending("D1", 4);
  expect_pending("D2", 1);
  expect_total(5);

  // A late answer for an expired command is recorded, and counted nowhere.
  answer(door, 0);
  expect_pending("D1", 4);

  // What is left: d1[2..4] sent, d1[6] queued; d2a queued. A restart reads the same counts.
  reopen(options);
  expect_pending("D1", 4);
  expect_pending("D2", 1);
  expect_total(5);
  EXPECT_EQ(row(d2a.id).status, CommandStatus::queued);
  answer("D1", {{std::to_string(d1[2].wire_id), 0}, {std::to_string(d1[3].wire_id), 0},
                {std::to_string(d1[4].wire_id), 0}, {std::to_string(d1[6].wire_id), 0}});
  expect_pending("D1", 0);
  ASSERT_TRUE(cancel(d2a.id).ok());
  expect_pending("D2", 0);
  expect_total(0);
}

TEST_F(CommandQueueTest, StartUpReadsPendingCountsAndTheNextDeadline) {
  enqueue("D1", "DATA UPDATE user Pin=1");
  enqueue("D1", "CONTROL DEVICE 01010105", std::nullopt, 300);
  enqueue("D2", "GET OPTIONS A", std::nullopt, 100);
  ASSERT_EQ(deliver("D2").size(), 1u);
  reopen();
  expect_pending("D1", 2);
  expect_pending("D2", 1);
  expect_total(3);
  EXPECT_EQ(queue_->next_deadline(), T0 + 100);
  // A deadline sooner than any known one is noted as it is queued.
  enqueue("D1", "GET OPTIONS B", std::nullopt, 50);
  EXPECT_EQ(queue_->next_deadline(), T0 + 50);
  enqueue("D1", "GET OPTIONS C", std::nullopt, 500);
  EXPECT_EQ(queue_->next_deadline(), T0 + 50);
}

}  // namespace
}  // namespace zkpush::service
