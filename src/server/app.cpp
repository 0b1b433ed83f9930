#include "server/app.hpp"

#include <spdlog/spdlog.h>
#if __has_include(<malloc.h>)
#include <malloc.h>  // malloc_trim (glibc)
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "front/access_list.hpp"
#include "protocol/describe.hpp"
#include "server/api_token.hpp"
#include "storage/open_store.hpp"

namespace zkpush::server {

namespace p = protocol;

void App::log_security_settings(const front::AccessList& access) const {
  // What protects the server, in two lines an operator can check against what they meant to set
  // (docs/security.md): devices first, then the API.
  const std::string allow_list =
      access.allows_all() ? std::string("off (every device)")
                          : "on (" + std::to_string(access.serial_count()) + " serial pattern(s), " +
                                std::to_string(access.network_count()) + " network(s))";
  spdlog::info("security (devices): registration {}, device token {}{}, allow-list {}, panel enrolment {}, "
               "encryption {}",
               config_.registration == RegistrationPolicy::automatic ? "auto" : "approve",
               config_.token == TokenPolicy::strict ? "strict" : "warn (mismatches accepted)",
               config_.allow_missing_cookie ? " (missing cookie accepted)" : " (missing cookie refused)", allow_list,
               config_.panel_enrolment, encryption_mode_name(config_.encryption));
  std::size_t open_routes = 0;
  std::string open_names;
  for (const auto& route : api_endpoints_->routes().routes()) {
    if (route.role != front::api::Role::open) continue;
    ++open_routes;
    open_names += (open_names.empty() ? "" : ", ") + std::string(route.pattern);
  }
  spdlog::info("security (API): roles checked on {} route(s), {} public ({}); bearer tokens compared as SHA-256 "
               "digests in constant time, {}; {} API token(s) in force",
               api_endpoints_->routes().routes().size(), open_routes, open_names.empty() ? "none" : open_names,
               config_.api_lockout_after > 0
                   ? "an address locked out for a minute after " + std::to_string(config_.api_lockout_after) +
                         " wrong tokens"
                   : std::string("no lockout after wrong tokens (--api-lockout-after 0)"),
               tokens_->count());
}

App::App(ServerConfig config) : config_(std::move(config)) {
  std::string host;
  std::uint16_t port = 0;
  if (!parse_listen(config_.listen, host, port)) {
    throw std::invalid_argument("--listen: expected host:port, got '" + config_.listen + "'");
  }
  host = resolve_listen_host(host);
  std::string tls_host;
  std::uint16_t tls_port = 0;
  std::shared_ptr<const http::TlsContext> tls;
  if (!config_.tls_listen.empty()) {
    if (!parse_listen(config_.tls_listen, tls_host, tls_port)) {
      throw std::invalid_argument("--tls-listen: expected host:port, got '" + config_.tls_listen + "'");
    }
    tls_host = resolve_listen_host(tls_host);
    if (config_.tls_cert.empty() || config_.tls_key.empty()) {
      throw std::invalid_argument("--tls-listen needs --tls-cert and --tls-key");
    }
    // Checked before anything is created: a bad file stops the start with its reason.
    tls = load_tls();
  } else if (!config_.tls_cert.empty() || !config_.tls_key.empty()) {
    throw std::invalid_argument("--tls-cert / --tls-key without --tls-listen: give the address to serve HTTPS on");
  }
  // Bad allow-list entries stop the start before anything is created; the front keeps its own copy.
  const front::AccessList access(config_.allow_sn, config_.allow_net);
  if (!access.allows_all()) spdlog::info("device allow-list: {}", access.describe());
  std::filesystem::create_directories(config_.data_dir);
  data_lock_ = std::make_unique<DataLock>(config_.data_dir);
  // The API is always on: the API must see the final token, so resolve it before building it.
  const auto token = resolve_api_token(config_.api_token, config_.data_dir);
  config_.api_token = token.value;
  // Never the token itself: the start-up log ends up in the service's journal, which more people
  // read than should hold an admin token. Where it is, and a fingerprint to tell tokens apart.
  const auto fingerprint = token_fingerprint(token.value);
  switch (token.source) {
    case ApiToken::Source::configured:
      spdlog::info("API token: as configured (--api-token / ZKPUSH_API_TOKEN), fingerprint {}", fingerprint);
      break;
    case ApiToken::Source::stored:
      spdlog::info("API token: stored in {} (fingerprint {}; read it with: sudo cat {})", token.path.string(),
                   fingerprint, token.path.string());
      break;
    case ApiToken::Source::generated:
      spdlog::info("API token: generated and stored in {} (fingerprint {}; read it with: sudo cat {})",
                   token.path.string(), fingerprint, token.path.string());
      break;
  }
  if (const auto weak = token_weakness(token.value); !weak.empty()) {
    spdlog::warn("API token {} is weak: {}; it is accepted, but whoever reaches the API can guess it sooner "
                 "(use at least {} varied characters, or leave --api-token unset to have one generated)",
                 fingerprint, weak, kMinTokenLength);
  }
  const std::string store_url =
      config_.store.empty() ? "sqlite:" + (std::filesystem::path(config_.data_dir) / "zkpush.db").string() : config_.store;
  store_ = storage::open_store(store_url);
  shared_store_ = storage::is_shared_store(store_url);
  spdlog::info("store: {}{}", storage::shown_store_url(store_url),
               storage::is_shared_store(store_url) ? " (shared: other nodes may serve the same devices)" : "");

  service::DevicePolicy policy;
  policy.auto_register = config_.registration == RegistrationPolicy::automatic;
  policy.strict_token = config_.token == TokenPolicy::strict;
  policy.allow_missing_cookie = config_.allow_missing_cookie;
  policy.default_tz_minutes = config_.default_tz_minutes;
  policy.server_name = config_.server_name;
  policy.push_prot_ver = config_.push_prot_ver;
  policy.error_delay = config_.error_delay;
  policy.request_delay = config_.request_delay;
  policy.timeout_sec = config_.timeout_sec;
  policy.trans_interval = config_.trans_interval;
  policy.realtime = config_.realtime;
  policy.trans_times = config_.trans_times;
  policy.trans_tables = config_.trans_tables;
  devices_ = std::make_unique<service::Devices>(*store_, clock_, policy);
  service::QueueOptions queue_options;
  queue_options.control_expiry = config_.control_device_expiry;
  queue_options.resend_after = config_.command_resend_after;
  queue_options.max_per_poll = config_.max_commands_per_poll;
  queue_ = std::make_unique<service::CommandQueue>(*store_, clock_, queue_options);
  queue_->on_wait_added([this] { wake_housekeeping(); });
  ingest_ = std::make_unique<service::Ingest>(*store_, *devices_, clock_);
  service::SyncOptions sync_options;
  sync_options.settle_seconds = config_.sync_settle;
  sync_options.verify_seconds = config_.sync_verify_seconds;
  sync_ = std::make_unique<service::Sync>(*store_, clock_, *queue_, sync_options);
  queue_->set_source(sync_.get());
  const auto enrolment = service::enrolment_from_name(config_.panel_enrolment);
  if (!enrolment) throw std::invalid_argument("--panel-enrolment: ignore, new_persons_only or all");
  access_ = std::make_unique<service::Access>(*store_, clock_, *sync_, *enrolment);
  ingest_->set_access(access_.get());
  // Multi-level control: never authorized without the operator under --registration approve.
  sub_controllers_ = std::make_unique<service::SubControllers>(*store_, clock_, *devices_, *queue_,
                                                               policy.auto_register);
  ingest_->set_sub_controllers(sub_controllers_.get());
  queue_->set_relay([subs = sub_controllers_.get()](const std::string& master) { return subs->subs_of(master); },
                    [subs = sub_controllers_.get()](const std::string& sn) { return subs->refuse_command(sn); },
                    &service::SubControllers::refuse_stored);
  ingest_->set_live(&live_);
  queue_->set_live(&live_);
  devices_->set_live(&live_);
  devices_->on_presence_change([this] { wake_housekeeping(flush_now_); });
  tokens_ = std::make_unique<service::Tokens>(*store_, clock_);
  for (const auto& loaded : {devices_->load(), queue_->load(), sync_->load(), tokens_->load(), sub_controllers_->load()}) {
    if (!loaded.ok()) throw std::runtime_error("reading the store at start: " + loaded.error().message);
  }
  // Other nodes on the same store (PostgreSQL): what they change reaches this node's memory.
  store_->watch([this](const storage::Store::Change& change) { on_store_change(change); });
  // The audit chain's head, so that rows later removed from its end (which leave an intact, shorter
  // chain) show against this line of the service log (docs/security.md "Audit log").
  auto head = store_->read_now([](storage::Reads& r) { return r.audit().list(storage::AuditFilter{0, 1, ""}); });
  if (!head.ok()) throw std::runtime_error("reading the audit log at start: " + head.error().message);
  if (head.value().empty()) spdlog::info("audit log: empty");
  else spdlog::info("audit log: last entry {}, chain head {}", head.value()[0].id, head.value()[0].hash);
  downloads_ = std::make_unique<front::FileDownloads>();
  files_ = std::make_unique<front::FileCatalog>(front::files_root(config_));
  campaigns_ = std::make_unique<service::Campaigns>(*store_, clock_, *queue_, *devices_);
  // Bytes of a file sent to a panel are its campaign's progress.
  downloads_->set_observer([campaigns = campaigns_.get()](const std::string& sn, const std::string& name,
                                                          std::uint64_t bytes) { campaigns->progress().add(sn, name, bytes); });
  front::WireTraceOptions trace_options;
  trace_options.memory_bytes = static_cast<std::size_t>(std::max(0, config_.trace_memory_mib)) << 20;
  trace_options.depth = static_cast<std::size_t>(std::max(0, config_.trace_depth));
  trace_ = std::make_unique<front::WireTrace>(trace_options);
  remote_auth_ = std::make_unique<service::RemoteAuth>(*store_, *devices_, clock_,
                                                       std::chrono::milliseconds(config_.remote_auth_deadline_ms));
  remote_auth_->set_live(&live_);
  remote_auth_->on_pending_added([this] { wake_housekeeping(); });
  device_endpoints_ = std::make_unique<front::DeviceEndpoints>(config_, *devices_, *queue_, *ingest_, *remote_auth_,
                                                               metrics_, *downloads_, *trace_);
  device_endpoints_->set_sub_controllers(sub_controllers_.get());
  service::LockoutPolicy lockout;
  lockout.device_after = config_.lockout_after;
  lockout.address_after = config_.lockout_address_after;
  lockout.window_seconds = std::int64_t{60} * std::max(1, config_.lockout_window_minutes);
  lockout.lock_seconds = std::int64_t{60} * std::max(1, config_.lockout_minutes);
  lockouts_ = std::make_unique<service::Lockouts>(*store_, clock_, lockout);
  lockouts_->set_live(&live_);
  device_endpoints_->set_lockouts(lockouts_.get());
  // Door-state messages show doors as the device's LockCount and time zone give them.
  front::api::DoorContext doors = [this](const std::string& sn) {
    auto state = devices_->get(sn);
    if (!state) return std::pair(0, config_.default_tz_minutes);
    return std::pair(p::context_from_options(state->device->options).door_count, devices_->tz_minutes(*state->device));
  };
  front::api::ApiServices api_services{config_, *store_, *devices_, *queue_, *access_, *sync_, *tokens_, live_, doors,
                                       [this] { wake_housekeeping(webhooks_changed_); }, trace_.get()};
  api_services.campaigns = campaigns_.get();
  api_services.sub_controllers = sub_controllers_.get();
  api_services.lockouts = lockouts_.get();
  api_services.files = files_.get();
  api_services.downloads = downloads_.get();
  api_services.metrics = &metrics_;
  api_endpoints_ = std::make_unique<front::api::ApiEndpoints>(api_services);
  log_security_settings(access);
  webhooks_ = std::make_unique<outbound::Webhooks>(*store_, live_, doors);
  if (!config_.mqtt_url.empty()) {
    outbound::MqttOptions mqtt;
    mqtt.url = config_.mqtt_url;
    mqtt.prefix = config_.mqtt_prefix;
    mqtt.client_id = config_.mqtt_client_id;
    mqtt.password = config_.mqtt_password;
    mqtt_ = std::make_unique<outbound::Mqtt>(*store_, live_, doors, mqtt);
  }
  file_endpoints_ = std::make_unique<front::FileEndpoints>(config_, *downloads_);
  status_endpoints_ = std::make_unique<front::StatusEndpoints>(config_, *store_, *devices_, *queue_, metrics_, *trace_);
  status_endpoints_->set_remote_auth(remote_auth_.get());
  // The web console: every path no other peer serves. Read now, so the log says what it serves.
  config_.console_dir = resolve_console_dir(config_.console_dir, default_console_dirs());
  console_endpoints_ = std::make_unique<front::ConsoleEndpoints>(config_.console_dir);
  front_ = std::make_unique<front::Front>(metrics_);
  front_->mount_tree("/", *console_endpoints_);
  front_->mount_tree("/iclock", *device_endpoints_);
  front_->mount_tree("/api", *api_endpoints_);
  front_->mount_tree("/files", *file_endpoints_);
  front_->mount_path("/metrics", *status_endpoints_);
  front_->mount_path("/healthz", *status_endpoints_);

  http::ServerConfig http_config;
  http_config.address = host;
  http_config.port = port;
  http_config.threads = config_.threads;
  if (tls) http_config.tls = http::TlsListenConfig{tls_host, tls_port, std::move(tls)};
  http_config.log = [](http::LogLevel level, std::string_view message) {
    switch (level) {
      case http::LogLevel::debug: spdlog::debug("http: {}", message); break;
      case http::LogLevel::info: spdlog::info("http: {}", message); break;
      case http::LogLevel::warn: spdlog::warn("http: {}", message); break;
      case http::LogLevel::error: spdlog::error("http: {}", message); break;
    }
  };
  http_ = std::make_unique<http::HttpServer>(http_config, *front_);
  metrics_.set_transport(&http_->counters());  // /metrics shows the connections
}

App::~App() {
  stop();
  // The store drains its queued writes on destruction and runs their callbacks, which use the
  // front's peers and the services: close it while they still exist. Nothing is audited from here
  // on (an answer given during the drain would write to a closing store).
  if (api_endpoints_) api_endpoints_->close_audit();
  store_.reset();
}

void App::flush_presence() {
  devices_->flush_presence(
      [](storage::StoreStatus s) {
        if (!s.ok()) spdlog::warn("presence not saved: {}", s.error().message);
      },
      shared_store_, store_->leads());
}

void App::wake_housekeeping() {
  {
    std::lock_guard lock(housekeeping_mutex_);
    wait_added_ = true;
  }
  housekeeping_cv_.notify_all();
}

namespace {

// Gives the memory a burst left free back to the system. A reconnect storm (thousands of devices
// registering at once) holds requests, parsed bodies and queued units while the writer catches up;
// glibc keeps what they freed in its per-thread arenas, so the resident size stayed at the burst's
// peak: 498 MB after 19,000 devices ramped at 2,000/s, of which malloc_trim returned 118 MB.
// Once a minute: it walks every arena's free lists, a few milliseconds at that size.
void return_free_memory() {
#ifdef __GLIBC__
  ::malloc_trim(0);
#endif
}

}  // namespace

void App::housekeeping() {
  using std::chrono::system_clock;
  auto next_flush = std::chrono::steady_clock::now() + std::chrono::seconds(std::max(1, config_.presence_interval));
  auto next_beat = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  auto next_prune = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  auto next_trim = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  bool sweeping = false;  // one sweep at a time
  bool led = false;       // what the log last said of the lead (several nodes on one store)
  auto swept = std::make_shared<std::atomic<bool>>(false);
  std::unique_lock lock(housekeeping_mutex_);
  while (!stopping_) {
    // Wake at the next deadline (its second has begun: expires_at <= now), a flush, or within a second.
    auto wake = std::min(next_flush, std::chrono::steady_clock::now() + std::chrono::seconds(1));
    // What must run once for all nodes on a shared store runs on the node that leads (Store::leads):
    // expiry and retention sweeps. A node that does not lead leaves deadlines to the one that does.
    const bool leads = store_->leads();
    if (leads != led && shared_store_) {
      if (leads)
        spdlog::info("store: this node leads now (expiry and retention sweeps, webhook and MQTT deliveries)");
      else
        spdlog::info("store: another node leads now");
    }
    const bool took_lead = leads && !led;
    led = leads;
    if (auto deadline = queue_->next_deadline(); leads && deadline) {
      const auto at = system_clock::time_point(std::chrono::seconds(*deadline));
      const auto in = at - system_clock::now();
      if (in < std::chrono::seconds(1)) wake = std::chrono::steady_clock::now() + std::max(in, decltype(in)::zero());
    }
    if (auto waiting = queue_->next_wait()) wake = std::min(wake, *waiting);
    if (auto deciding = remote_auth_->next_deadline()) wake = std::min(wake, *deciding);
    housekeeping_cv_.wait_until(lock, wake,
                                [this] { return stopping_ || wait_added_ || flush_now_ || webhooks_changed_; });
    if (stopping_) break;
    wait_added_ = false;
    const bool reload_sync = std::exchange(sync_changed_, false);
    const bool flush_now = std::exchange(flush_now_, false);
    bool reload_webhooks = std::exchange(webhooks_changed_, false);
    lock.unlock();
    // A node that takes the lead over delivers webhooks from now on: its subscriptions read afresh.
    if (took_lead && shared_store_) reload_webhooks = true;
    // Not on a store thread: a deliverer that stops may be waiting for the store.
    if (reload_webhooks) webhooks_->reload();
    if (reload_sync) {
      if (auto loaded = sync_->load(); !loaded.ok()) spdlog::warn("reloading the sync state: {}", loaded.error().message);
    }
    if (flush_now) next_flush = std::chrono::steady_clock::now();
    if (leads && std::chrono::steady_clock::now() >= next_prune) {
      prune_messages();
      prune_events();
      next_prune = std::chrono::steady_clock::now() + std::chrono::hours(1);
    }
    queue_->sweep_waits();  // API calls waiting for an answer that did not come in time
    remote_auth_->sweep();  // panels waiting for a decision the store did not give in time
    if (sweeping && swept->load()) sweeping = false;
    if (auto deadline = queue_->next_deadline(); leads && !sweeping && deadline && *deadline <= clock_.now()) {
      sweeping = true;
      swept->store(false);
      queue_->expire_due([swept](storage::StoreResult<std::int64_t> r) {
        if (!r.ok()) spdlog::warn("expiring commands: {}", r.error().message);
        else if (r.value() > 0) spdlog::info("{} command(s) expired", r.value());
        swept->store(true);
      });
    }
    if (std::chrono::steady_clock::now() >= next_trim) {
      return_free_memory();
      next_trim = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    }
    if (std::chrono::steady_clock::now() >= next_beat) {
      live_.ring(service::Live::Ring::beat);  // SSE heartbeats
      next_beat = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    }
    if (std::chrono::steady_clock::now() >= next_flush) {
      flush_presence();
      next_flush = std::chrono::steady_clock::now() + std::chrono::seconds(std::max(1, config_.presence_interval));
    }
    lock.lock();
  }
  lock.unlock();
  flush_presence();
}

void App::on_store_change(const storage::Store::Change& change) {
  using Kind = storage::Store::Change::Kind;
  storage::StoreStatus status = storage::Unit{};
  switch (change.kind) {
    case Kind::device:
      status = devices_->refresh_now(change.sn);
      break;
    case Kind::commands:
      status = queue_->refresh(change.sn);
      break;
    case Kind::messages:
      live_.ring(service::Live::Ring::messages);  // the stream, webhooks and MQTT read what is new
      break;
    case Kind::sync:
      wake_housekeeping(sync_changed_);
      break;
    case Kind::settings:  // change.sn names the table
      if (change.sn == "api_tokens") status = tokens_->load();
      else if (change.sn == "sub_controllers") status = sub_controllers_->load();
      else if (change.sn == "webhooks") wake_housekeeping(webhooks_changed_);
      break;
    case Kind::resync:
      spdlog::info("store: other nodes' changes may have been missed (the change feed started or reconnected); "
                   "reloading devices, commands, sync state, tokens and sub-controllers");
      for (const auto& loaded : {devices_->load(), queue_->load(), sync_->load(), tokens_->load(), sub_controllers_->load()})
        if (!loaded.ok()) status = loaded;
      wake_housekeeping(webhooks_changed_);
      live_.ring(service::Live::Ring::messages);
      break;
  }
  if (!status.ok()) spdlog::warn("store: applying another node's change of {}: {}", change.sn, status.error().message);
}

void App::wake_housekeeping(bool& flag) {
  {
    std::lock_guard lock(housekeeping_mutex_);
    flag = true;
  }
  housekeeping_cv_.notify_all();
}

void App::prune_messages() {
  if (config_.message_retention_days <= 0) return;
  const auto before = clock_.now() - static_cast<std::int64_t>(config_.message_retention_days) * 86400;
  prune_messages_from(before, 0);
}

// In batches, each its own write, so that the writer is never held long.
void App::prune_messages_from(std::int64_t before, std::int64_t removed) {
  constexpr std::int64_t kBatch = 5000;
  store_->write([before](storage::Transaction& tx) { return tx.messages().prune(before, kBatch); },
                [this, before, removed](storage::StoreResult<std::int64_t> r) {
                  if (!r.ok()) return spdlog::warn("pruning the message log: {}", r.error().message);
                  const auto total = removed + r.value();
                  bool more = r.value() == kBatch;
                  {
                    std::lock_guard lock(housekeeping_mutex_);
                    more = more && !stopping_;
                  }
                  if (more) return prune_messages_from(before, total);
                  if (total > 0) spdlog::info("message log: {} message(s) past retention removed", total);
                });
}

void App::prune_events(std::function<void(std::int64_t removed)> done) {
  if (config_.event_retention_days <= 0) {
    if (done) done(0);
    return;
  }
  const auto before = clock_.now() - static_cast<std::int64_t>(config_.event_retention_days) * 86400;
  prune_event_batch(before, 0, std::move(done));
}

// One batch, then the next once it committed, until a batch comes back short or the server stops
// (a batch submitted while the store closes would outlive its connection).
void App::prune_event_batch(std::int64_t before, std::int64_t removed, std::function<void(std::int64_t)> done) {
  store_->write([before](storage::Transaction& tx) { return tx.events().prune(before, kEventPruneBatch); },
                [this, before, removed, done = std::move(done)](storage::StoreResult<std::int64_t> r) mutable {
                  if (!r.ok()) {
                    spdlog::warn("pruning events: {} ({} removed before)", r.error().message, removed);
                    if (done) done(-1);
                    return;
                  }
                  removed += r.value();
                  if (r.value() == kEventPruneBatch && !stopped_) return prune_event_batch(before, removed, std::move(done));
                  if (removed > 0) spdlog::info("events: {} event(s) past retention removed", removed);
                  if (done) done(removed);
                });
}

std::shared_ptr<const http::TlsContext> App::load_tls() const {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  auto context = std::make_shared<const http::TlsContext>(http::load_tls_context(config_.tls_cert, config_.tls_key, now.count()));
  // The certificate's names and dates only: nothing of the key reaches the log.
  spdlog::info("TLS certificate {}: subject {}, issuer {}, expires {}", config_.tls_cert, context->certificate.subject,
               context->certificate.issuer, http::format_utc(context->certificate.not_after));
  for (const auto& warning : context->warnings) spdlog::warn("TLS: {}", warning);
  return context;
}

bool App::reload_tls() {
  if (!http_ || !http_->tls_context()) {
    spdlog::info("TLS reload: no TLS listener (--tls-listen), nothing to reload");
    return false;
  }
  try {
    auto context = load_tls();
    http_->set_tls_context(context);
    spdlog::info("TLS reload: new connections use the certificate expiring {}; open connections keep theirs",
                 http::format_utc(context->certificate.not_after));
    return true;
  } catch (const std::exception& e) {
    spdlog::error("TLS reload failed, the current certificate stays in use: {}", e.what());
    return false;
  }
}

void App::start() {
  http_->start();
  webhooks_->reload();
  if (mqtt_) mqtt_->start();
  housekeeping_thread_ = std::thread([this] { housekeeping(); });
  spdlog::info("zkpush serving on {}:{} (data {}, {} device(s) known)", http_->local_endpoint().address().to_string(),
               http_->port(), config_.data_dir, devices_->all().size());
  if (http_->tls_port() != 0) {
    spdlog::info("zkpush serving HTTPS on {}:{}{}", http_->tls_local_endpoint().address().to_string(), http_->tls_port(),
                 config_.api_plain == ApiPlain::loopback ? " (the API on plain HTTP only from loopback)" : "");
  }
}

void App::stop() {
  stopped_ = true;
  if (store_) store_->watch(nullptr);  // returns once a change being applied is done
  if (http_) http_->stop();
  {
    std::lock_guard lock(housekeeping_mutex_);
    stopping_ = true;
  }
  housekeeping_cv_.notify_all();
  if (housekeeping_thread_.joinable()) housekeeping_thread_.join();
  if (webhooks_) webhooks_->stop();
  if (mqtt_) mqtt_->stop();
  if (queue_) queue_->end_waits();  // API calls still waiting for a device are answered now
  if (remote_auth_) remote_auth_->end_pending();
}

std::uint16_t App::port() const noexcept { return http_->port(); }
std::uint16_t App::tls_port() const noexcept { return http_->tls_port(); }

}  // namespace zkpush::server
