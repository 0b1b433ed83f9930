// `zkpush serve` assembled, the composition root: the store (<data>/zkpush.db), the services over it
// (devices, command queue, ingest), the front and its peers (device endpoints, API, files, status,
// the web console) and the HTTP server. Used by the CLI and by the tests (port 0).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "front/access_list.hpp"
#include "front/api/api_endpoints.hpp"
#include "front/console.hpp"
#include "front/device_endpoints.hpp"
#include "front/file_catalog.hpp"
#include "front/file_download.hpp"
#include "front/files.hpp"
#include "front/front.hpp"
#include "front/metrics.hpp"
#include "front/status_endpoints.hpp"
#include "front/wire_trace.hpp"
#include "outbound/mqtt.hpp"
#include "outbound/webhooks.hpp"
#include "server/config.hpp"
#include "server/data_lock.hpp"
#include "server/http/http_server.hpp"
#include "service/access.hpp"
#include "service/campaigns.hpp"
#include "service/clock.hpp"
#include "service/command_queue.hpp"
#include "service/devices.hpp"
#include "service/ingest.hpp"
#include "service/lockouts.hpp"
#include "service/remote_auth.hpp"
#include "service/sub_controllers.hpp"
#include "service/sync.hpp"
#include "service/tokens.hpp"
#include "storage/store.hpp"

namespace zkpush::server {

class App {
 public:
  // Checks the allow-list, creates the data folder if needed and takes its lock (DataLock: refused
  // while another server runs on it), settles the API token (the given one,
  // else <data>/api-token, generated at the first start; config().api_token is never empty
  // afterwards), opens the store and loads the devices. Throws std::runtime_error /
  // std::invalid_argument with the reason.
  explicit App(ServerConfig config);
  ~App();  // stop()
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  void start();  // binds and serves; throws boost::system::system_error when it cannot listen
  void stop();   // graceful; idempotent
  std::uint16_t port() const noexcept;
  std::uint16_t tls_port() const noexcept;  // 0 without --tls-listen
  // SIGHUP: reads --tls-cert and --tls-key again into a new context for new connections; open
  // connections keep theirs. A file that fails keeps the current context; logged either way.
  // False when nothing was reloaded. Any thread.
  bool reload_tls();

  const ServerConfig& config() const noexcept { return config_; }
  storage::Store& store() noexcept { return *store_; }
  service::Devices& devices() noexcept { return *devices_; }
  service::CommandQueue& queue() noexcept { return *queue_; }
  service::Access& access() noexcept { return *access_; }
  service::Sync& sync() noexcept { return *sync_; }
  service::Campaigns& campaigns() noexcept { return *campaigns_; }
  service::Tokens& tokens() noexcept { return *tokens_; }
  service::Lockouts& lockouts() noexcept { return *lockouts_; }
  service::Live& live() noexcept { return live_; }
  front::Metrics& metrics() noexcept { return metrics_; }
  front::WireTrace& trace() noexcept { return *trace_; }
  // The JSON API's route table as it serves it (the route × role walk of tests/server).
  const front::api::RouteTable& api_routes() const noexcept { return api_endpoints_->routes(); }

  // Removes the events received more than --event-retention-days ago (nothing when 0), in batches
  // of kEventPruneBatch, each its own unit of work so that the writer serves other writes between
  // them. The housekeeping thread calls it hourly; `done` gets the number removed, or -1 when a
  // batch failed (logged).
  static constexpr std::int64_t kEventPruneBatch = 2000;
  void prune_events(std::function<void(std::int64_t removed)> done = {});

 private:
  // The start-up lines that say which defences are in force (registration, token policies,
  // allow-list, enrolment, encryption; the API's roles and tokens).
  void log_security_settings(const front::AccessList& access) const;

  ServerConfig config_;
  std::shared_ptr<const http::TlsContext> load_tls() const;  // reads and logs the files; throws
  service::SystemClock clock_;
  // One server per data folder (data_lock.hpp); declared before the store, so released after it.
  std::unique_ptr<DataLock> data_lock_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<service::Devices> devices_;
  std::unique_ptr<service::CommandQueue> queue_;
  std::unique_ptr<service::Ingest> ingest_;
  std::unique_ptr<service::RemoteAuth> remote_auth_;
  std::unique_ptr<service::Sync> sync_;
  std::unique_ptr<service::Access> access_;
  std::unique_ptr<service::SubControllers> sub_controllers_;
  std::unique_ptr<service::Tokens> tokens_;
  std::unique_ptr<service::Lockouts> lockouts_;  // refused device tokens (--lockout-*)
  service::Live live_;
  front::Metrics metrics_;
  // Before the peers and the transport, whose responders record into it until they are gone.
  std::unique_ptr<front::WireTrace> trace_;
  // Before the download pool, whose jobs use them until it is joined.
  std::unique_ptr<front::FileCatalog> files_;
  std::unique_ptr<service::Campaigns> campaigns_;
  std::unique_ptr<front::FileDownloads> downloads_;
  std::unique_ptr<front::DeviceEndpoints> device_endpoints_;
  std::unique_ptr<front::api::ApiEndpoints> api_endpoints_;
  std::unique_ptr<front::FileEndpoints> file_endpoints_;
  std::unique_ptr<front::StatusEndpoints> status_endpoints_;
  std::unique_ptr<front::ConsoleEndpoints> console_endpoints_;
  std::unique_ptr<front::Front> front_;
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<outbound::Webhooks> webhooks_;
  std::unique_ptr<outbound::Mqtt> mqtt_;  // with --mqtt

  // Housekeeping on a thread of its own: writes last_seen to the store every presence_interval (and
  // once at stop), and expires commands as their deadlines pass (at most a second late; the API
  // shows them expired from the deadline on).
  void housekeeping();
  // What another node changed (storage::Store::watch), on the store's feed thread.
  void on_store_change(const storage::Store::Change& change);
  void wake_housekeeping();  // a deadline was added: the housekeeping thread recomputes when it wakes
  void flush_presence();
  void prune_messages();  // the message log past --message-retention-days
  void prune_messages_from(std::int64_t before, std::int64_t removed);
  void prune_event_batch(std::int64_t before, std::int64_t removed, std::function<void(std::int64_t)> done);
  std::atomic<bool> stopped_{false};  // no new retention batch once set
  void wake_housekeeping(bool& flag);
  std::thread housekeeping_thread_;
  std::mutex housekeeping_mutex_;
  std::condition_variable housekeeping_cv_;
  bool stopping_ = false;
  bool wait_added_ = false;  // an API call waits for a command: recompute the wake-up
  bool flush_now_ = false;   // a device came online: tell it now, not at the next flush
  bool shared_store_ = false;  // other nodes may use the same store (PostgreSQL)
  bool sync_changed_ = false;  // another node changed the sync engine's state: reload it (once a second at most)
  bool webhooks_changed_ = false;
};

}  // namespace zkpush::server
