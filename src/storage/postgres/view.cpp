#include "storage/postgres/view.hpp"

#include "storage/postgres/access.hpp"
#include "storage/postgres/commands.hpp"
#include "storage/postgres/device_data.hpp"
#include "storage/postgres/devices.hpp"
#include "storage/postgres/door_state.hpp"
#include "storage/postgres/events.hpp"
#include "storage/postgres/sync.hpp"
#include "storage/postgres/audit.hpp"
#include "storage/postgres/messages.hpp"
#include "storage/postgres/tokens.hpp"
#include "storage/postgres/webhooks.hpp"
#include "storage/postgres/campaigns.hpp"

namespace zkpush::storage::postgres {

namespace {

class Devices final : public DeviceWrites {
 public:
  explicit Devices(Connection& c) : c_(c) {}
  std::vector<Device> all() override { return devices::load_all(c_); }
  std::optional<Device> get(const std::string& sn) override { return devices::get(c_, sn); }
  std::optional<Device> get_row(const std::string& sn) override { return devices::get_row(c_, sn); }
  std::int64_t count() override { return devices::count(c_); }
  std::vector<DevicePresence> presence() override { return devices::presence(c_); }
  std::vector<DeviceOption> options(const std::string& sn) override { return devices::options(c_, sn); }
  void save(const Device& device) override { devices::save(c_, device); }
  void update_settings(const std::string& sn, const DeviceSettings& settings) override {
    devices::update_settings(c_, sn, settings);
  }
  void merge_options(const std::string& sn, const protocol::Record& options, const std::string& source,
                     std::int64_t now) override {
    devices::merge_options(c_, sn, options, source, now);
  }
  void touch(const std::vector<DevicePresence>& presence) override { devices::touch(c_, presence); }
  void remove(const std::string& sn) override { devices::remove(c_, sn); }
  std::optional<SubController> sub_controller(const std::string& sn) override { return devices::sub_controller(c_, sn); }
  std::vector<SubController> sub_controllers(const std::string& master_sn) override {
    return devices::sub_controllers(c_, master_sn);
  }
  void save_sub_controller(const SubController& sub) override { devices::save_sub_controller(c_, sub); }

 private:
  Connection& c_;
};

class Events final : public EventWrites {
 public:
  explicit Events(Connection& c) : c_(c) {}
  std::vector<EventRow> list(const EventFilter& filter) override { return events::list(c_, filter); }
  std::int64_t count(const std::string& sn) override { return events::count(c_, sn); }
  std::int64_t last_id() override { return events::last_id(c_); }
  std::vector<EventHourCount> hourly_counts(const std::string& sn, std::int64_t from, std::int64_t to) override {
    return events::hourly_counts(c_, sn, from, to);
  }
  InsertCounts insert(const std::vector<NewEvent>& events) override { return events::insert(c_, events); }
  std::int64_t prune(std::int64_t received_before, std::int64_t max_rows) override {
    return events::prune(c_, received_before, max_rows);
  }

 private:
  Connection& c_;
};

class DoorStates final : public DoorStateWrites {
 public:
  explicit DoorStates(Connection& c) : c_(c) {}
  std::optional<DoorStateUpdate> get(const std::string& sn) override { return door_state::get(c_, sn); }
  std::vector<DoorStateUpdate> all() override { return door_state::all(c_); }
  std::vector<DoorStateUpdate> history(const std::string& sn, std::int64_t before_id, std::int64_t limit) override {
    return door_state::history(c_, sn, before_id, limit);
  }
  void put(const DoorStateUpdate& update) override { door_state::put(c_, update); }

 private:
  Connection& c_;
};

class DeviceData final : public DeviceDataWrites {
 public:
  explicit DeviceData(Connection& c) : c_(c) {}
  std::vector<DeviceRecord> records(const std::string& sn, const std::string& table, std::int64_t limit) override {
    return device_data::list_records(c_, sn, table, limit);
  }
  std::vector<DeviceLogEntry> log(const std::string& sn, const std::string& kind, std::int64_t limit) override {
    return device_data::list_log(c_, sn, kind, limit);
  }
  std::vector<DeviceRecord> record_page(const DeviceRecordFilter& filter) override {
    return device_data::record_page(c_, filter);
  }
  std::optional<DeviceRecord> record(std::int64_t id) override { return device_data::record(c_, id); }
  std::vector<DeviceLogEntry> log_page(const DeviceLogFilter& filter) override {
    return device_data::log_page(c_, filter);
  }
  InsertCounts put_records(const std::vector<DeviceRecord>& records) override {
    return device_data::put_records(c_, records);
  }
  void append_log(const std::vector<DeviceLogEntry>& entries) override { device_data::append_log(c_, entries); }

 private:
  Connection& c_;
};

class Commands final : public CommandWrites {
 public:
  Commands(Connection& c, bool writing) : c_(c), lock_(writing) {}
  std::optional<CommandRow> get(std::int64_t id) override { return commands::get(c_, id, lock_); }
  std::optional<CommandRow> find(const std::string& sn, std::int64_t wire_id) override {
    return commands::find(c_, sn, wire_id, lock_);
  }
  std::optional<CommandRow> find_relayed(const std::string& master_sn, std::int64_t wire_id) override {
    return commands::find_relayed(c_, master_sn, wire_id, lock_);
  }
  std::vector<CommandData> data(std::int64_t id) override { return commands::data(c_, id); }
  std::vector<CommandRow> queued(const std::string& sn, std::int64_t limit) override {
    return commands::queued(c_, sn, limit, lock_);
  }
  std::vector<CommandRow> list(const CommandFilter& filter) override { return commands::list(c_, filter); }
  std::vector<CommandRow> unanswered(const std::string& sn, std::int64_t sent_before, std::int64_t limit) override {
    return commands::unanswered(c_, sn, sent_before, limit, lock_);
  }
  std::vector<CommandRow> overdue(const std::string& sn, std::int64_t now, std::int64_t limit) override {
    return commands::overdue(c_, sn, now, limit, lock_);
  }
  std::optional<std::int64_t> next_deadline() override { return commands::next_deadline(c_); }
  std::vector<std::pair<std::string, std::int64_t>> pending_counts() override { return commands::pending_counts(c_); }
  std::int64_t pending_count(const std::string& sn) override { return commands::pending_count(c_, sn); }
  std::int64_t pending_total() override { return commands::pending_total(c_); }
  CommandRow insert(const NewCommand& command, std::int64_t clock_now) override {
    return commands::insert(c_, command, clock_now);
  }
  void update(const CommandRow& row) override { commands::update(c_, row); }
  void add_data(const CommandData& data) override { commands::add_data(c_, data); }

 private:
  Connection& c_;
  bool lock_;
};

}  // namespace

struct View::Areas {
  Areas(Connection& c, bool writing)
      : devices(c), events(c), door_states(c), device_data(c), commands(c, writing), access(c), sync(c), tokens(c), messages(c), webhooks(c), audit(c), campaigns(c) {}
  Devices devices;
  Events events;
  DoorStates door_states;
  DeviceData device_data;
  Commands commands;
  Access access;
  Sync sync;
  Tokens tokens;
  Messages messages;
  Webhooks webhooks;
  Audit audit;
  Campaigns campaigns;
};

View::View(Connection& c, bool writing) : areas_(std::make_unique<Areas>(c, writing)) {}
View::~View() = default;

DeviceWrites& View::devices() { return areas_->devices; }
EventWrites& View::events() { return areas_->events; }
DoorStateWrites& View::door_states() { return areas_->door_states; }
DeviceDataWrites& View::device_data() { return areas_->device_data; }
CommandWrites& View::commands() { return areas_->commands; }
AccessWrites& View::access() { return areas_->access; }
SyncWrites& View::sync() { return areas_->sync; }
TokenWrites& View::tokens() { return areas_->tokens; }
MessageWrites& View::messages() { return areas_->messages; }
WebhookWrites& View::webhooks() { return areas_->webhooks; }
AuditWrites& View::audit() { return areas_->audit; }
CampaignWrites& View::campaigns() { return areas_->campaigns; }

}  // namespace zkpush::storage::postgres
