// Multi-level control in the services (service/sub_controllers.hpp and the command queue's relay)
// over a real SQLite store and a manual clock: a master's DeviceAuthorize uploads kept as
// sub-controllers (rows, devices rows, cache), the two steps of the authorization (automatic under
// automatic registration, never under approval), the refusal of commands for a sub that is not
// authorized, delivery on the master's poll in the envelope naming the sub, and the master's answers
// (-5000 without SN=, the final one with it) attributed to the sub's command.
#include "service/sub_controllers.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "protocol/command_results.hpp"
#include "service/clock.hpp"
#include "service/command_queue.hpp"
#include "service/devices.hpp"
#include "storage/open_store.hpp"
#include "storage/store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::service {
namespace {

using storage::CommandRow;
using storage::CommandStatus;
using storage::StoreResult;
using storage::testing::await;

constexpr std::int64_t kSubT0 = 1'700'000'000;
const std::string kMaster = "M1";

protocol::Record authorize_record(const std::string& sn, int is_authorize, const std::string& register_info = {}) {
  protocol::Record r;
  r.add("SN", sn);
  r.add("Online", "1");
  r.add("IsAuthorize", std::to_string(is_authorize));
  r.add("AuthorizeInfo", "~DeviceName=sub");
  r.add("RegisterInfo", register_info);
  return r;
}

class SubControllersTest : public ::testing::Test {
 protected:
  // declared_master: the device registered with MasterControlOn=1 (Appendix 15).
  void start(bool automatic, bool declared_master = true) {
    store_ = storage::open_store(storage::testing::sqlite_url(dir_.path()));
    DevicePolicy policy;
    policy.auto_register = automatic;
    devices_ = std::make_unique<Devices>(*store_, clock_, policy);
    queue_ = std::make_unique<CommandQueue>(*store_, clock_, QueueOptions{});
    subs_ = std::make_unique<SubControllers>(*store_, clock_, *devices_, *queue_, automatic);
    queue_->set_relay([this](const std::string& m) { return subs_->subs_of(m); },
                      [this](const std::string& sn) { return subs_->refuse_command(sn); },
                      &SubControllers::refuse_stored);
    storage::Device d;
    d.sn = kMaster;
    d.approved = true;
    d.first_seen = d.last_seen = kSubT0;
    test::write(*store_, [d, declared_master](storage::Transaction& tx) {
      tx.devices().save(d);
      protocol::Record options;
      options.add("CmdFormat", "1");
      options.add("MasterControlOn", declared_master ? "1" : "0");
      tx.devices().merge_options(d.sn, options, "registry", kSubT0);
    });
    for (auto loaded : {devices_->load(), queue_->load(), subs_->load()}) ASSERT_TRUE(loaded.ok());
  }
  void TearDown() override {
    subs_.reset();
    queue_.reset();
    devices_.reset();
    store_.reset();
  }

  void upload(std::vector<protocol::Record> records) {
    auto r = await<storage::Unit>([&](storage::Store::Reply<storage::Unit> done) {
      subs_->upload(kMaster, records, [done](storage::StoreStatus s) {
        if (!s.ok()) return done(s.error());
        done(storage::Unit{});
      });
    });
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  std::vector<CommandRow> commands_of(const std::string& sn) {
    storage::CommandFilter filter;
    filter.sn = sn;
    filter.limit = 100;
    return test::read(*store_, [filter](storage::Reads& r) { return r.commands().list(filter); });
  }
  std::optional<storage::SubController> stored(const std::string& sn) {
    return test::read(*store_, [sn](storage::Reads& r) { return r.devices().sub_controller(sn); });
  }
  StoreResult<CommandRow> enqueue(const std::string& sn, const std::string& line) {
    return await<CommandRow>(
        [&](CommandQueue::Reply<CommandRow> done) { queue_->enqueue(EnqueueRequest{sn, line, {}, {}}, std::move(done)); });
  }
  std::vector<CommandRow> deliver(int cmd_format) {
    auto r = await<std::vector<CommandRow>>([&](CommandQueue::Reply<std::vector<CommandRow>> done) {
      queue_->deliver(kMaster, DeliveryBudget{0, cmd_format}, std::move(done));
    });
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : std::vector<CommandRow>{};
  }
  std::vector<CommandRow> answer(const std::string& body) {
    auto parsed = protocol::parse_command_results(body);
    EXPECT_TRUE(static_cast<bool>(parsed)) << body;
    auto r = await<std::vector<CommandRow>>([&](CommandQueue::Reply<std::vector<CommandRow>> done) {
      queue_->record_answers(kMaster, *parsed, std::move(done));
    });
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : std::vector<CommandRow>{};
  }
  // Runs the two steps by the master's uploads (automatic registration).
  void authorize_by_uploads(const std::string& sub) {
    upload({authorize_record(sub, 0)});
    upload({authorize_record(sub, 1, "LockCount=1,SubControlOn=1")});
    upload({authorize_record(sub, 2, "LockCount=1,SubControlOn=1")});
  }

  storage::testing::TempDir dir_;
  ManualClock clock_{kSubT0};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Devices> devices_;
  std::unique_ptr<CommandQueue> queue_;
  std::unique_ptr<SubControllers> subs_;
};

TEST_F(SubControllersTest, AnUploadUnderApprovalKeepsTheSubsAndAuthorizesNone) {
  start(false);
  upload({authorize_record("S1", 0), authorize_record("S2", 0), authorize_record("bad sn", 0)});
  EXPECT_EQ(subs_->subs_of(kMaster), (std::vector<std::string>{"S1", "S2"}));
  EXPECT_EQ(subs_->master_of("S2"), kMaster);
  auto s1 = stored("S1");
  ASSERT_TRUE(s1);
  EXPECT_EQ(s1->is_authorize, 0);
  EXPECT_EQ(s1->requested, 0);
  EXPECT_TRUE(s1->online);
  EXPECT_EQ(s1->authorize_info, "~DeviceName=sub");
  // A devices row for each, in the cache too, not approved while unauthorized.
  auto cached = devices_->get("S1");
  ASSERT_TRUE(cached);
  EXPECT_FALSE(cached->device->approved);
  EXPECT_EQ(queue_->pending(kMaster), 0);
  EXPECT_TRUE(commands_of(kMaster).empty());
  // Every record is in the device log, the one without a valid SN included.
  auto log = test::read(*store_, [](storage::Reads& r) { return r.device_data().log(kMaster, "device_authorize", 10); });
  EXPECT_EQ(log.size(), 3u);
  auto refused = enqueue("S1", "CONTROL DEVICE 01010105");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().reason, storage::StoreError::Reason::conflict);
  EXPECT_NE(refused.error().message.find("not authorized"), std::string::npos);
}

// A master names only its own sub-controllers: a device of its own (a panel that talks to the
// server) or another master's sub is ignored — else any panel could take over another's serial
// number and receive its commands — and a sub is authorized only after the server asked step two.
TEST_F(SubControllersTest, AMasterCannotClaimAnotherDeviceOrAuthorizeASubItself) {
  start(false);
  storage::Device panel;
  panel.sn = "P9";
  panel.approved = true;
  panel.first_seen = panel.last_seen = kSubT0;
  test::write(*store_, [panel](storage::Transaction& tx) { tx.devices().save(panel); });
  ASSERT_TRUE(devices_->load().ok());
  upload({authorize_record("P9", 2, "LockCount=1"), authorize_record("S1", 2, "LockCount=1")});
  EXPECT_FALSE(stored("P9"));
  EXPECT_EQ(subs_->master_of("P9"), std::nullopt);
  EXPECT_TRUE(devices_->get("P9")->device->approved);  // untouched
  // S1 is kept, but the master's IsAuthorize=2 alone does not authorize it.
  ASSERT_TRUE(stored("S1"));
  EXPECT_FALSE(devices_->get("S1")->device->approved);
  EXPECT_FALSE(enqueue("S1", "CONTROL DEVICE 01010105").ok());
}

TEST_F(SubControllersTest, AutomaticRegistrationAuthorizesOnlyForADeclaredMaster) {
  start(true, false);
  upload({authorize_record("S1", 0)});
  EXPECT_EQ(subs_->subs_of(kMaster), std::vector<std::string>{"S1"});
  EXPECT_TRUE(commands_of(kMaster).empty());
  EXPECT_EQ(stored("S1")->requested, 0);
}

TEST_F(SubControllersTest, AutomaticRegistrationAsksStepOneForADeclaredMastersNewSub) {
  start(true, true);
  upload({authorize_record("S1", 0)});
  auto commands = commands_of(kMaster);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].line, "DATA UPDATE DeviceAuthorize SN=S1\tIsAuthorize=1");
  EXPECT_EQ(stored("S1")->requested, 1);
}

TEST_F(SubControllersTest, TheOperatorsStepOneThenStepTwoOnceTheRegistrationInfoCame) {
  start(false);
  upload({authorize_record("S1", 0)});
  auto step = await<SubControllers::Step>(
      [&](SubControllers::Reply<SubControllers::Step> done) { subs_->authorize(kMaster, "S1", std::move(done)); });
  ASSERT_TRUE(step.ok());
  EXPECT_NE(step->command_id, 0);
  EXPECT_EQ(step->sub.requested, 1);
  EXPECT_EQ(queue_->pending(kMaster), 1);
  // Not a sub of that master.
  auto stranger = await<SubControllers::Step>(
      [&](SubControllers::Reply<SubControllers::Step> done) { subs_->authorize("S1", "M1", std::move(done)); });
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.error().reason, storage::StoreError::Reason::not_found);
  // In progress without the registration info: no second step yet.
  upload({authorize_record("S1", 1)});
  EXPECT_EQ(commands_of(kMaster).size(), 1u);
  upload({authorize_record("S1", 1, "LockCount=1")});
  auto commands = commands_of(kMaster);
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[1].line, "DATA UPDATE DeviceAuthorize SN=S1\tIsAuthorize=1");
  EXPECT_EQ(commands[0].line, "DATA UPDATE DeviceAuthorize SN=S1\tIsAuthorize=2");
  EXPECT_TRUE(subs_->refuse_command("S1"));  // not before the master reports 2
  upload({authorize_record("S1", 2)});
  EXPECT_FALSE(subs_->refuse_command("S1"));
  EXPECT_EQ(stored("S1")->register_info, "LockCount=1");  // kept when a later record leaves it out
  EXPECT_TRUE(devices_->get("S1")->device->approved);
  EXPECT_EQ(devices_->get("S1")->device->options.get_or("LockCount", ""), "1");  // its registration
  EXPECT_EQ(commands_of(kMaster).size(), 2u);
  // Authorized: asking again sends nothing.
  auto again = await<SubControllers::Step>(
      [&](SubControllers::Reply<SubControllers::Step> done) { subs_->authorize(kMaster, "S1", std::move(done)); });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->command_id, 0);
  EXPECT_EQ(commands_of(kMaster).size(), 2u);
}

TEST_F(SubControllersTest, ADeauthorizedSubIsNeverAuthorizedAgainAutomatically) {
  start(true);
  authorize_by_uploads("S1");
  ASSERT_FALSE(subs_->refuse_command("S1"));
  auto step = await<SubControllers::Step>(
      [&](SubControllers::Reply<SubControllers::Step> done) { subs_->deauthorize(kMaster, "S1", std::move(done)); });
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(commands_of(kMaster).front().line, "DATA DELETE DeviceAuthorize SN=S1");
  EXPECT_TRUE(subs_->refuse_command("S1"));  // at once, before the master applied it
  EXPECT_FALSE(devices_->get("S1")->device->approved);
  const auto before = commands_of(kMaster).size();
  upload({authorize_record("S1", 0)});
  EXPECT_EQ(commands_of(kMaster).size(), before);
  EXPECT_EQ(stored("S1")->requested, -1);
  // The master removed (its sub-controller rows with it): forgotten here too.
  test::write(*store_, [](storage::Transaction& tx) { tx.devices().remove(kMaster); });
  subs_->forget(kMaster);
  EXPECT_TRUE(subs_->subs_of(kMaster).empty());
  EXPECT_FALSE(subs_->master_of("S1"));
  EXPECT_FALSE(subs_->refuse_command("S1"));
}

// Another server node on the same store authorizes or withdraws a sub-controller: this node's
// memory hears of it a notification later, but a command queued here in between is judged by the
// store, as it would be on the node that made the change.
TEST_F(SubControllersTest, ACommandIsJudgedByTheStoredAuthorizationNotThisNodesMemory) {
  start(false);
  upload({authorize_record("S1", 0)});
  ASSERT_TRUE(subs_->refuse_command("S1"));
  // Authorized elsewhere: the row written behind this node's back.
  auto row = *stored("S1");
  row.is_authorize = 2;
  row.requested = 2;
  test::write(*store_, [row](storage::Transaction& tx) { tx.devices().save_sub_controller(row); });
  EXPECT_TRUE(subs_->refuse_command("S1"));  // memory still says no
  auto taken = enqueue("S1", "CONTROL DEVICE 01010105");
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  EXPECT_EQ(taken->sn, "S1");
  // Withdrawn elsewhere: memory still says yes after a reload, the store refuses.
  ASSERT_TRUE(subs_->load().ok());
  ASSERT_FALSE(subs_->refuse_command("S1"));
  row.requested = -1;
  test::write(*store_, [row](storage::Transaction& tx) { tx.devices().save_sub_controller(row); });
  auto refused = enqueue("S1", "CONTROL DEVICE 01010105");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().reason, storage::StoreError::Reason::conflict);
  EXPECT_NE(refused.error().message.find("de-authorized"), std::string::npos) << refused.error().message;
  EXPECT_EQ(commands_of("S1").size(), 1u);
}

TEST_F(SubControllersTest, ASubsCommandGoesOutOnTheMastersPollAndTheMastersAnswersAreTheSubs) {
  start(true);
  authorize_by_uploads("S1");
  authorize_by_uploads("S2");
  // The authorization commands out of the way.
  for (const auto& row : deliver(1)) answer("ID=" + std::to_string(row.wire_id) + "&Return=0&CMD=DATA");
  ASSERT_EQ(queue_->pending(kMaster), 0);
  auto own = enqueue(kMaster, "CONTROL DEVICE 01010105");
  auto for_sub = enqueue("S1", "CONTROL DEVICE 01010105");
  ASSERT_TRUE(own.ok() && for_sub.ok());
  EXPECT_EQ(for_sub->sn, "S1");
  EXPECT_EQ(for_sub->wire_id, own->wire_id + 1);
  EXPECT_TRUE(queue_->has_work(kMaster));
  EXPECT_EQ(queue_->pending("S1"), 1);
  // A master without CmdFormat=1 cannot be told whom a command is for: only its own goes out.
  auto plain = deliver(0);
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].id, own->id);
  answer("ID=" + std::to_string(own->wire_id) + "&Return=0&CMD=CONTROL DEVICE");
  // Nothing for that master then: its idle polls need not reach the store.
  EXPECT_FALSE(queue_->has_work(kMaster, 0));
  EXPECT_TRUE(queue_->has_work(kMaster, 1));
  auto taken = deliver(1);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].id, for_sub->id);
  EXPECT_EQ(CommandQueue::wire_text(taken[0], 1),
            "DataType=1, SN=S1, Priority=0, CmdID=" + std::to_string(for_sub->wire_id) +
                ", CmdDesc=C:" + std::to_string(for_sub->wire_id) + ":CONTROL DEVICE 01010105");
  const std::string id = std::to_string(for_sub->wire_id);
  // -5000 from the master, without SN=: found through the master, kept sent.
  auto pending = answer("ID=" + id + "&Return=-5000&CMD=CONTROL DEVICE");
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].sn, "S1");
  EXPECT_EQ(pending[0].status, CommandStatus::sent);
  EXPECT_EQ(pending[0].return_code, -5000);
  EXPECT_EQ(queue_->pending("S1"), 1);
  // The master has it: not sent again however long the sub takes (a -7 would read as done).
  clock_.advance(QueueOptions{}.resend_after + 1);
  EXPECT_TRUE(deliver(1).empty());
  // SN= naming a device that is not the master's sub: ignored, the command stays as it was.
  EXPECT_TRUE(answer("ID=" + id + "&Return=0&CMD=CONTROL DEVICE&SN=D9").empty());
  EXPECT_EQ(queue_->pending("S1"), 1);
  // The sub's own answer closes it.
  auto final_answer = answer("ID=" + id + "&Return=0&CMD=CONTROL DEVICE&SN=S1");
  ASSERT_EQ(final_answer.size(), 1u);
  EXPECT_EQ(final_answer[0].id, for_sub->id);
  EXPECT_EQ(final_answer[0].status, CommandStatus::done);
  EXPECT_EQ(queue_->pending("S1"), 0);
  EXPECT_FALSE(queue_->has_work(kMaster));
  // An answer with SN= of the other sub for this id finds nothing of that sub.
  EXPECT_TRUE(answer("ID=" + id + "&Return=0&CMD=CONTROL DEVICE&SN=S2").empty());
}

}  // namespace
}  // namespace zkpush::service
