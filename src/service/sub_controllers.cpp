#include "service/sub_controllers.hpp"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "protocol/command_builders.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/text.hpp"
#include "service/command_queue.hpp"
#include "service/devices.hpp"

namespace zkpush::service {

namespace p = protocol;
using storage::SubController;
using Reason = storage::StoreError::Reason;

namespace sub_controllers_impl {

int int_field(const p::Record& r, std::string_view key, int fallback) {
  auto v = r.get(key);
  if (!v) return fallback;
  auto n = p::text::parse_int(p::text::trim(*v));
  return n ? static_cast<int>(*n) : fallback;
}

std::string text_field(const p::Record& r, std::string_view key) {
  auto v = r.get(key);
  return v ? std::string(*v) : std::string();
}

// Commands are taken for it: the master reports it authorized after the server asked for step two
// (a master cannot authorize a sub on its own; the operator's withdrawal is requested -1).
bool authorized(const SubController& s) { return s.is_authorize == 2 && s.requested == 2; }

// The sub-controller's devices row exists (its commands' foreign key and counter, its API object),
// approved exactly while the master reports it authorized. The row as stored.
// `registration` (the sub's RegisterInfo as a key list, when it is new) joins its parameters.
storage::Device ensure_device(storage::Transaction& tx, const SubController& sub, std::int64_t now,
                              const p::Record* registration = nullptr) {
  auto& devices = tx.devices();
  const bool is_authorized = authorized(sub);
  if (!devices.get_row(sub.sn)) {
    storage::Device d;
    d.sn = sub.sn;
    d.approved = is_authorized;
    d.first_seen = now;
    d.last_seen = now;
    devices.save(d);
  } else {
    storage::DevicePresence seen;
    seen.sn = sub.sn;
    seen.last_seen = now;
    devices.touch({seen});
  }
  if (registration && !registration->empty()) devices.merge_options(sub.sn, *registration, "registry", now);
  auto row = devices.get(sub.sn);
  if (row && row->approved != is_authorized) {
    storage::DeviceSettings settings;
    settings.approved = is_authorized;
    devices.update_settings(sub.sn, settings);
    row = devices.get(sub.sn);
  }
  return std::move(*row);
}

// Queues one DeviceAuthorize command for the master in the caller's unit of work; its API id.
std::int64_t queue_step(storage::Transaction& tx, const CommandQueue& queue, const std::string& master,
                        const p::Result<p::Command>& command, std::int64_t now) {
  if (!command) throw storage::Refused(Reason::invalid, "DeviceAuthorize command: " + command.error().to_string());
  return tx.commands().insert(queue.prepare_generated(master, *command, storage::CommandPriority::control), now).id;
}

struct Outcome {
  std::vector<SubController> subs;   // as stored afterwards
  std::vector<storage::Device> rows;  // their devices rows
  std::int64_t queued = 0;            // commands queued for the master
  std::int64_t command_id = 0;        // the last one
};

}  // namespace sub_controllers_impl

using namespace sub_controllers_impl;

SubControllers::SubControllers(storage::Store& store, const Clock& clock, Devices& devices, CommandQueue& queue,
                               bool auto_authorize)
    : store_(store), clock_(clock), devices_(devices), queue_(queue), auto_authorize_(auto_authorize) {}

storage::StoreStatus SubControllers::load() {
  auto loaded = store_.read_now([](storage::Reads& r) { return r.devices().sub_controllers(""); });
  if (!loaded.ok()) return loaded.error();
  std::lock_guard lock(mutex_);
  subs_.clear();
  for (auto& s : *loaded) subs_[s.sn] = std::move(s);
  index();
  return storage::Unit{};
}

void SubControllers::keep(const std::vector<SubController>& subs) {
  std::lock_guard lock(mutex_);
  for (const auto& s : subs) subs_[s.sn] = s;
  index();
}

void SubControllers::index() {
  by_master_.clear();
  for (const auto& [sn, s] : subs_) by_master_[s.master_sn].push_back(sn);
  for (auto& [master, subs] : by_master_) std::sort(subs.begin(), subs.end());  // by serial number
}

void SubControllers::upload(const std::string& master, const std::vector<p::Record>& records,
                            storage::Store::Done done) {
  const std::int64_t now = clock_.now();
  std::vector<storage::DeviceLogEntry> entries;
  std::vector<SubController> reported;
  for (const auto& r : records) {
    storage::DeviceLogEntry e;
    e.sn = master;
    e.kind = "device_authorize";
    e.data = p::format_tab_record(r);
    e.received_at = now;
    entries.push_back(std::move(e));
    SubController s;
    s.sn = std::string(p::text::trim(text_field(r, "SN")));
    if (!p::is_valid_serial_number(s.sn) || s.sn == master) {
      spdlog::warn("{}: DeviceAuthorize record without a valid sub-controller SN ({}): logged only", master,
                   p::text::quoted(s.sn));
      continue;
    }
    s.master_sn = master;
    s.online = int_field(r, "Online", 0) == 1;
    s.is_authorize = int_field(r, "IsAuthorize", 0);
    if (s.is_authorize < 0 || s.is_authorize > 2) s.is_authorize = 0;
    s.authorize_info = text_field(r, "AuthorizeInfo");
    s.register_info = text_field(r, "RegisterInfo");
    s.first_seen = now;
    s.last_seen = now;
    reported.push_back(std::move(s));
  }
  if (entries.empty()) return done(storage::Unit{});
  // Automatic registration authorizes only for a device that registered as a master controller
  // (Appendix 15: MasterControlOn=1); any other's table is kept for the operator.
  bool declared_master = false;
  if (auto state = devices_.get(master)) {
    auto on = state->device->options.get("MasterControlOn");
    declared_master = on && p::text::trim(*on) == "1";
  }
  store_.write(
      [this, master, entries = std::move(entries), reported = std::move(reported), now,
       automatic = auto_authorize_ && declared_master](storage::Transaction& tx) {
        tx.device_data().append_log(entries);
        Outcome out;
        for (auto s : reported) {
          auto stored = tx.devices().sub_controller(s.sn);
          // A master names only its own sub-controllers: not a device that talks to the server
          // itself, nor another master's sub (moving one is the operator's: delete it there first).
          // Else any panel could take over another's serial number and receive its commands.
          if (!stored && tx.devices().get_row(s.sn)) {
            spdlog::warn("{}: DeviceAuthorize names {}, a device of its own, as a sub-controller: ignored", master, s.sn);
            continue;
          }
          if (stored && stored->master_sn != master) {
            spdlog::warn("{}: DeviceAuthorize names {}, a sub-controller of {}: ignored (delete it there first)", master,
                         s.sn, stored->master_sn);
            continue;
          }
          s.requested = stored ? stored->requested : 0;
          // Keep what the master said before when a later record leaves the infos out.
          if (stored && s.authorize_info.empty()) s.authorize_info = stored->authorize_info;
          if (stored && s.register_info.empty() && s.is_authorize != 0) s.register_info = stored->register_info;
          // The sub's registration as it reached the master: its parameters (LockCount, FirmVer...).
          std::optional<p::Record> registration;
          if (!s.register_info.empty() && (!stored || stored->register_info != s.register_info))
            registration = p::parse_comma_list(s.register_info);
          out.rows.push_back(ensure_device(tx, s, now, registration ? &*registration : nullptr));
          // Step one: asked by the operator (authorize) or, under automatic registration, for a sub
          // seen unauthorized for the first time or again after it was authorized (the master lost
          // it). Never after the operator de-authorized it (-1).
          // Automatic registration takes a sub the master already holds authorized as it is.
          if (s.is_authorize == 2 && s.requested == 0 && automatic) s.requested = 2;
          if (s.is_authorize == 0 && (s.requested == 0 || s.requested == 2) && automatic) {
            out.command_id = queue_step(tx, queue_, master, p::device_authorize(1, s.sn, 1), now);
            s.requested = 1;
            ++out.queued;
          }
          // Step two, once the sub's registration info has come through the master after step one.
          if (s.requested == 1 && s.is_authorize >= 1 && !s.register_info.empty()) {
            if (s.is_authorize != 2) {
              out.command_id = queue_step(tx, queue_, master, p::device_authorize(1, s.sn, 2), now);
              ++out.queued;
            }
            s.requested = 2;
          }
          tx.devices().save_sub_controller(s);
          out.subs.push_back(*tx.devices().sub_controller(s.sn));
        }
        return out;
      },
      [this, master, done = std::move(done)](storage::StoreResult<Outcome> r) {
        if (!r.ok()) return done(r.error());
        for (auto& row : r->rows) devices_.cache(std::move(row));
        keep(r->subs);
        if (r->queued > 0) queue_.note_queued(master, r->queued);
        for (const auto& s : r->subs)
          spdlog::info("{}: sub-controller {} reported IsAuthorize={} online={} (server asked step {})", master, s.sn,
                       s.is_authorize, s.online ? 1 : 0, s.requested);
        done(storage::Unit{});
      });
}

void SubControllers::authorize(const std::string& master, const std::string& sub, Reply<Step> done) {
  const std::int64_t now = clock_.now();
  store_.write(
      [this, master, sub, now](storage::Transaction& tx) {
        auto stored = tx.devices().sub_controller(sub);
        if (!stored || stored->master_sn != master)
          throw storage::Refused(Reason::not_found, "'" + sub + "' is not a sub-controller of '" + master + "'");
        Step step;
        step.sub = *stored;
        // Already authorized: nothing to send. Otherwise step one (again: the master may have lost
        // an earlier one, or the sub was reset; a repeated IsAuthorize=1 changes nothing at the master).
        if (authorized(*stored)) return step;
        step.command_id = queue_step(tx, queue_, master, p::device_authorize(1, sub, 1), now);
        step.sub.requested = 1;
        tx.devices().save_sub_controller(step.sub);
        return step;
      },
      [this, master, done = std::move(done)](storage::StoreResult<Step> r) {
        if (r.ok()) {
          keep({r->sub});
          if (r->command_id != 0) queue_.note_queued(master, 1);
        }
        done(std::move(r));
      });
}

void SubControllers::deauthorize(const std::string& master, const std::string& sub, Reply<Step> done) {
  const std::int64_t now = clock_.now();
  struct Done {
    Step step;
    storage::Device row;
  };
  store_.write(
      [this, master, sub, now](storage::Transaction& tx) {
        auto stored = tx.devices().sub_controller(sub);
        if (!stored || stored->master_sn != master)
          throw storage::Refused(Reason::not_found, "'" + sub + "' is not a sub-controller of '" + master + "'");
        Done out;
        out.step.sub = *stored;
        out.step.command_id = queue_step(tx, queue_, master, p::device_authorize_delete(1, sub), now);
        // The server's side at once: commands for it are refused from now on; the master's next
        // table upload says what it did.
        out.step.sub.requested = -1;
        out.step.sub.is_authorize = 0;
        tx.devices().save_sub_controller(out.step.sub);
        out.row = ensure_device(tx, out.step.sub, now);
        return out;
      },
      [this, master, done = std::move(done)](storage::StoreResult<Done> r) {
        if (!r.ok()) return done(r.error());
        devices_.cache(std::move(r->row));
        keep({r->step.sub});
        queue_.note_queued(master, 1);
        done(std::move(r->step));
      });
}

void SubControllers::forget(const std::string& sn) {
  std::lock_guard lock(mutex_);
  std::erase_if(subs_, [&](const auto& entry) { return entry.first == sn || entry.second.master_sn == sn; });
  index();
}

std::vector<std::string> SubControllers::subs_of(const std::string& master) const {
  std::lock_guard lock(mutex_);
  auto it = by_master_.find(master);
  return it == by_master_.end() ? std::vector<std::string>{} : it->second;
}

std::optional<std::string> SubControllers::master_of(const std::string& sub) const {
  std::lock_guard lock(mutex_);
  auto it = subs_.find(sub);
  if (it == subs_.end()) return std::nullopt;
  return it->second.master_sn;
}

std::optional<std::string> SubControllers::refuse_command(const std::string& sn) const {
  std::lock_guard lock(mutex_);
  auto it = subs_.find(sn);
  if (it == subs_.end()) return std::nullopt;
  return refusal(it->second);
}

std::optional<std::string> SubControllers::refuse_stored(storage::DeviceReads& devices, const std::string& sn) {
  auto sub = devices.sub_controller(sn);
  return sub ? refusal(*sub) : std::nullopt;
}

std::optional<std::string> SubControllers::refusal(const SubController& sub) {
  if (authorized(sub)) return std::nullopt;
  if (sub.requested == -1)
    return "'" + sub.sn + "' is a sub-controller of '" + sub.master_sn +
           "' that was de-authorized: POST /api/v1/devices/" + sub.master_sn + "/sub-controllers/" + sub.sn +
           "/authorize first";
  return "'" + sub.sn + "' is a sub-controller of '" + sub.master_sn +
         "' not authorized yet (IsAuthorize=" + std::to_string(sub.is_authorize) +
         "): POST /api/v1/devices/" + sub.master_sn + "/sub-controllers/" + sub.sn + "/authorize";
}

}  // namespace zkpush::service
