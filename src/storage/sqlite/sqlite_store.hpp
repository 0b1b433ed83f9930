// The SQLite implementation of the store (see storage/store.hpp for the contract).
//
// Writes are jobs on the group-commit Writer (writer.hpp), which owns the only read-write
// connection; reads use read-only connections from a pool (read_pool.hpp). The SQL of each area
// lives in its own file (devices, events, door_state, device_data, commands); this class only routes
// calls to the writer or a reader and turns failures into StoreResult values.
#pragma once

#include <memory>
#include <string>

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/read_pool.hpp"
#include "storage/sqlite/writer.hpp"
#include "storage/store.hpp"

namespace zkpush::storage::sqlite {

class SqliteStore final : public Store {
 public:
  // Opens or creates the database, switches it to WAL and applies the migrations. Throws
  // std::runtime_error when that fails.
  explicit SqliteStore(const SqliteOptions& options);
  // Completes every write already submitted (their callbacks run), then closes the database.
  ~SqliteStore() override;

  std::vector<Device> load_devices() override;
  std::optional<Device> get_device(const std::string& sn) override;
  void save_device(Device device, Done done) override;
  void update_device_settings(std::string sn, DeviceSettings settings, Done done) override;
  void merge_options(std::string sn, protocol::Record options, std::string source, std::int64_t now,
                     Done done) override;
  void touch_devices(std::vector<DevicePresence> presence, Done done) override;

  void insert_events(std::vector<NewEvent> events, Reply<InsertCounts> done) override;
  std::vector<EventRow> list_events(const EventFilter& filter) override;
  std::int64_t count_events(const std::string& sn) override;

  void put_door_state(DoorStateUpdate update, Done done) override;
  std::optional<DoorStateUpdate> get_door_state(const std::string& sn) override;
  std::vector<DoorStateUpdate> list_door_history(const std::string& sn, std::int64_t limit) override;

  void put_device_records(std::vector<DeviceRecord> records, Reply<InsertCounts> done) override;
  std::vector<DeviceRecord> list_device_records(const std::string& sn, const std::string& table,
                                                std::int64_t limit) override;
  void append_device_log(std::vector<DeviceLogEntry> entries, Done done) override;
  std::vector<DeviceLogEntry> list_device_log(const std::string& sn, const std::string& kind,
                                              std::int64_t limit) override;

  void enqueue_command(NewCommand command, Reply<CommandRow> done) override;
  void take_for_delivery(DeliveryRequest request, Reply<std::vector<CommandRow>> done) override;
  void record_results(std::string sn, std::vector<ResultUpdate> results,
                      Reply<std::vector<CommandRow>> done) override;
  void add_command_data(CommandData data, Done done) override;
  void cancel_command(std::int64_t id, Reply<CommandRow> done) override;
  std::optional<CommandRow> get_command(std::int64_t id) override;
  std::optional<CommandRow> find_command(const std::string& sn, std::int64_t wire_id) override;
  std::vector<CommandData> get_command_data(std::int64_t id) override;
  std::vector<std::pair<std::string, std::int64_t>> pending_counts() override;

  std::string integrity_check() override;
  StoreStats stats() override;

 private:
  template <class T, class Job>
  void write(Job job, Reply<T> done);
  template <class Job>
  void write_status(Job job, Done done);
  template <class F>
  auto read(F&& f);
  Connection& write_connection(Database& db);

  std::string path_;
  // The writer's statement cache; created and used on the writer thread only.
  std::unique_ptr<Connection> write_connection_;
  std::unique_ptr<ReadPool> readers_;
  std::unique_ptr<Writer> writer_;
};

}  // namespace zkpush::storage::sqlite
