// The routes of /api/v1 and their handlers: parse the request, call a service or read the store
// (off the I/O threads), answer. The shapes are in views.hpp, the contract in docs/serve.md
// ("JSON API"); dispatch, authentication, 404 and 405 are the route table's (api_endpoints.cpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <utility>

#include "front/api/answers.hpp"
#include "front/api/requests.hpp"
#include "front/api/api_endpoints.hpp"
#include "protocol/command_builders.hpp"
#include "protocol/commands.hpp"
#include "protocol/control_device.hpp"
#include "protocol/describe.hpp"
#include "protocol/responses.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace p = protocol;

namespace {

// Copied into store callbacks: references to objects that outlive every request.
struct Handlers {
  const ServerConfig& config;
  storage::Store& store;
  service::Devices& devices;
  service::CommandQueue& queue;
  service::SubControllers* subs = nullptr;  // null: no multi-level control (route-table tests)

  void list_devices(const std::string& who, const SharedResponder& respond) const;
  void device(const std::string& sn, const std::string& who, const SharedResponder& respond) const;
  void door_state(const std::string& sn, const std::string& who, const SharedResponder& respond) const;
  // `status` -1: 200 when the device answered the command (done, failed), else 504.
  void command(std::int64_t id, const std::string& who, const SharedResponder& respond, int status = 200) const;
  // Queues a CONTROL DEVICE the protocol core built, and answers 201 at once, or with ?wait= the
  // command once the device answered (200) or when the wait ran out (504).
  void control(const Call& call, const std::string& sn, const p::Result<p::ControlDevice>& action,
               const char* what) const;
  // Queues a command built by the protocol core (CONTROL DEVICE: control priority and expiry, as
  // the queue derives them from the verb) and answers 201, or with ?wait= the device's answer.
  void issue(const Call& call, const std::string& sn, const p::Result<p::Command>& built, const char* what) const;
  // The device as stored, with the presence known here and the given pending count.
  Json device_view(const storage::Device& device, std::int64_t pending) const;
  // 200 with the device just written, its pending count read from the store as GET computes it (so
  // the two never disagree, whatever the queue's expiry sweep has recorded yet).
  void answer_device(std::shared_ptr<const storage::Device> device, const std::string& who,
                     const SharedResponder& respond) const;

  void approve(const std::string& sn, const std::string& who, const SharedResponder& respond) const;
  void set_time(const Call& call) const;
  // DELETE a device, or reject one waiting for approval (`pending_only`).
  void remove(const Call& call, bool pending_only) const;
  void update(const std::string& sn, const std::string& body, const std::string& who,
              const SharedResponder& respond) const;
  void enqueue(const std::string& sn, const std::string& body, const std::string& who,
               const SharedResponder& respond) const;
  void cancel(std::int64_t id, const std::string& who, const SharedResponder& respond) const;
  // Commands newest first: ?status=queued,sent (or open), ?before_id= (paging), ?limit=.
  void list_commands(const Call& call, const std::string& sn) const;
};


// ?wait=8s (or 8, or 1500ms): how long a control call waits for the device's answer, at most 60 s.
// nullopt and an error answered when the value is not one.
std::optional<std::optional<std::chrono::milliseconds>> wait_param(const Call& call) {
  const auto target = p::parse_target(call.request.target());
  const auto given = target.query.get("wait");
  if (!given || given->empty()) return std::optional<std::chrono::milliseconds>{};
  const std::string original(*given);
  std::string text = original;
  std::int64_t scale = 1000;
  if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
    scale = 1;
    text.resize(text.size() - 2);
  } else if (text.size() > 1 && text.back() == 's') {
    text.pop_back();
  }
  auto n = p::text::parse_int(text);
  if (!n || *n <= 0 || text.find_first_not_of("0123456789") != std::string::npos || *n > 60000 / scale) {
    answer_error(call.respond, call.who, 400, "wait: a duration up to 60 s (\"8s\", \"1500ms\"), not " + p::text::quoted(original));
    return std::nullopt;
  }
  return std::optional<std::chrono::milliseconds>{std::chrono::milliseconds(*n * scale)};
}

// The body of a control call: a JSON object (or nothing) whose fields are all in `known`.
std::optional<Json> control_body(const Call& call, std::initializer_list<std::string_view> known) {
  const std::string& text = call.request.body();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return Json::object();
  auto body = Json::parse(text, nullptr, false);
  if (!body.is_object()) {
    answer_error(call.respond, call.who, 400, "expected a JSON object");
    return std::nullopt;
  }
  for (const auto& [key, value] : body.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string names;
    for (auto k : known) names += (names.empty() ? "" : ", ") + std::string(k);
    answer_error(call.respond, call.who, 400,
                 "unknown field " + p::text::quoted(key) + (names.empty() ? " (this call takes none)" : " (" + names + ")"));
    return std::nullopt;
  }
  return body;
}

// {door} of a door route: 1 to 16 (the CONTROL DEVICE byte; a panel's own count may be lower).
std::optional<unsigned> door_param(const Call& call) {
  const auto& text = call.params.at(1);
  auto n = p::text::parse_int(text);
  if (!n || *n < 1 || *n > static_cast<std::int64_t>(p::ControlDevice::max_door) ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    answer_error(call.respond, call.who, 400, "a door is 1 to " + std::to_string(p::ControlDevice::max_door) + ", not " + p::text::quoted(text));
    return std::nullopt;
  }
  return static_cast<unsigned>(*n);
}


}  // namespace

void add_v1_routes(RouteTable& table, const ApiServices& services) {
  const Handlers h{services.config, services.store, services.devices, services.queue, services.sub_controllers};
  using V = http::Verb;
  table.add({V::get, "/api/v1/devices", Role::viewer, "listDevices", "Every device the server knows", "",
             "200 Device[]", {}, [h](Call& c) { h.list_devices(c.who, c.respond); }});
  table.add({V::get, "/api/v1/devices/{sn}", Role::viewer, "getDevice", "One device (404 unknown)", "", "200 Device",
             {}, [h](Call& c) { h.device(c.params[0], c.who, c.respond); }});
  table.add({V::patch, "/api/v1/devices/{sn}", Role::operator_, "updateDevice",
             "Sets the device's time zone and configuration overrides (null removes one)", "DevicePatch",
             "200 Device", {}, [h](Call& c) { h.update(c.params[0], c.request.body(), c.who, c.respond); }});
  table.add({V::post, "/api/v1/devices/{sn}/approve", Role::operator_, "approveDevice",
             "Approves a device waiting under --registration approve", "", "200 Device", {},
             [h](Call& c) { h.approve(c.params[0], c.who, c.respond); }});
  table.add({V::delete_, "/api/v1/devices/{sn}", Role::admin, "deleteDevice",
             "Forgets a device: its parameters, commands, door state, records and sync state (its events stay); "
             "409 while access levels name its doors",
             "", "200 Deleted", {}, [h](Call& c) { h.remove(c, false); }});
  table.add({V::post, "/api/v1/devices/{sn}/reject", Role::operator_, "rejectDevice",
             "Refuses a device waiting for approval: it is forgotten, and waits again if it calls again "
             "(keep it out for good with --allow-sn); 409 for an approved device",
             "", "200 Deleted", {}, [h](Call& c) { h.remove(c, true); }});
  table.add({V::get, "/api/v1/devices/{sn}/state", Role::viewer, "getDoorState",
             "The device's current door states, decoded", "", "200 DoorState", {},
             [h](Call& c) { h.door_state(c.params[0], c.who, c.respond); }});
  table.add({V::get, "/api/v1/doors/state", Role::viewer, "listDoorStates",
             "Every device's current door states, decoded, by serial number (a site's door board in one call; "
             "a device that never sent its state is not listed)",
             "", "200 DeviceDoorState[]", {}, [s = services](Call& c) {
               s.store.read([](storage::Reads& r) { return r.door_states().all(); },
                            [doors = s.doors, who = c.who, respond = c.respond](
                                storage::StoreResult<std::vector<storage::DoorStateUpdate>> r) {
                              if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                              Json out = Json::array();
                              for (const auto& state : r.value())
                                out.push_back(api::device_door_state_json(state.sn, state, doors));
                              answer_json(respond, 200, out);
                            });
             }});
  table.add({V::post, "/api/v1/devices/{sn}/commands", Role::admin, "queueCommand",
             "Queues a raw command line for the device (admin: it can clear or reconfigure the panel)", "NewCommand",
             "201 Command", {},
             [h](Call& c) { h.enqueue(c.params[0], c.request.body(), c.who, c.respond); }});
  const std::vector<QueryParam> listing{
      {"status", "string", "only these statuses, comma-separated: queued, sent, done, failed, expired, cancelled, or open (queued and sent)"},
      {"before_id", "integer", "only commands with a smaller id (paging: the last id seen)"},
      {"limit", "integer", "at most this many (default 100; values above 1000 give 1000)"}};
  auto with_sn = listing;
  with_sn.insert(with_sn.begin(), QueryParam{"sn", "string", "only this device's commands"});
  table.add({V::get, "/api/v1/commands", Role::viewer, "listCommands", "Commands of every device, newest first", "",
             "200 Command[]", with_sn, [h](Call& c) {
               const auto target = p::parse_target(c.request.target());
               h.list_commands(c, std::string(target.query.get_or("sn", "")));
             }});
  table.add({V::get, "/api/v1/devices/{sn}/commands", Role::viewer, "listDeviceCommands",
             "The device's commands, newest first", "", "200 Command[]", listing, [h](Call& c) {
               if (!h.devices.get(c.params[0]))
                 return answer_error(c.respond, c.who, 404, "unknown device " + p::text::quoted(c.params[0]));
               h.list_commands(c, c.params[0]);
             }});
  table.add({V::get, "/api/v1/commands/{id}", Role::viewer, "getCommand",
             "A command, its Return and what the device uploaded for it", "", "200 Command", {}, [h](Call& c) {
               if (auto id = path_id(c, "a command")) h.command(*id, c.who, c.respond);
             }});
  table.add({V::delete_, "/api/v1/commands/{id}", Role::operator_, "cancelCommand",
             "Cancels a queued command (409 once delivered)", "", "200 Command", {}, [h](Call& c) {
               if (auto id = path_id(c, "a command")) h.cancel(*id, c.who, c.respond);
             }});
  const std::vector<QueryParam> waits{{"wait", "string", "wait for the device's answer, up to 60 s (8s, 1500ms): 200 once it answered, 504 if it did not"}};
  table.add({V::post, "/api/v1/doors/{sn}/{door}/open", Role::operator_, "openDoor",
             "Opens a door for 1-254 seconds (CONTROL DEVICE 01 door 01 seconds); expires unless delivered in time",
             "DoorOpen", "201 Command", waits, [h](Call& c) {
               auto body = control_body(c, {"seconds"});
               if (!body) return;
               auto door = door_param(c);
               if (!door) return;
               std::int64_t seconds = 5;
               if (body->contains("seconds")) {
                 const auto& v = (*body)["seconds"];
                 if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 254)
                   return answer_error(c.respond, c.who, 400, "seconds: 1 to 254");
                 seconds = v.get<std::int64_t>();
               }
               h.control(c, c.params[0], p::ControlDevice::open_door(*door, static_cast<unsigned>(seconds)), "door open");
             }});
  // The door actions that take no body: one route each.
  struct BareAction {
    std::string_view pattern, operation, summary;
    p::Result<p::ControlDevice> (*make)(unsigned door);
    const char* what;
  };
  static constexpr BareAction kBareActions[] = {
      {"/api/v1/doors/{sn}/{door}/close", "closeDoor", "Closes a door at once (CONTROL DEVICE 01 door 01 00)",
       &p::ControlDevice::close_door, "door close"},
      {"/api/v1/doors/{sn}/{door}/lock", "lockDoor",
       "Locks a door: it stays shut for every verification until unlocked (CONTROL DEVICE 06 door 01)",
       &p::ControlDevice::lock_door, "door lock"},
      {"/api/v1/doors/{sn}/{door}/unlock", "unlockDoor", "Unlocks a locked door (CONTROL DEVICE 06 door 00)",
       &p::ControlDevice::unlock_door, "door unlock"},
  };
  for (const auto& action : kBareActions) {
    table.add({V::post, action.pattern, Role::operator_, action.operation, action.summary, "", "201 Command", waits,
               [h, &action](Call& c) {
                 if (!control_body(c, {})) return;
                 if (auto door = door_param(c)) h.control(c, c.params[0], action.make(*door), action.what);
               }});
  }
  table.add({V::post, "/api/v1/doors/{sn}/{door}/normal-open", Role::operator_, "normalOpenDoor",
             "Normal open on ({\"enable\": true}, the default) or off (CONTROL DEVICE 04)", "DoorNormalOpen",
             "201 Command", waits, [h](Call& c) {
               auto body = control_body(c, {"enable"});
               if (!body) return;
               bool enable = true;
               if (body->contains("enable")) {
                 if (!(*body)["enable"].is_boolean()) return answer_error(c.respond, c.who, 400, "enable: true or false");
                 enable = (*body)["enable"].get<bool>();
               }
               if (auto door = door_param(c))
                 h.control(c, c.params[0], p::ControlDevice::normal_open(*door, enable), enable ? "normal open on" : "normal open off");
             }});
  table.add({V::post, "/api/v1/doors/{sn}/{door}/cancel-alarm", Role::operator_, "cancelDoorAlarm",
             "Cancels the alarm of the panel (CONTROL DEVICE 02)", "", "201 Command", waits, [h](Call& c) {
               if (!control_body(c, {})) return;
               if (door_param(c)) h.control(c, c.params[0], p::ControlDevice::cancel_alarm(0), "cancel alarm");
             }});
  // Aux outputs, the device itself, its clock and parameters: commands built by the protocol core.
  table.add({V::post, "/api/v1/devices/{sn}/aux/{output}/on", Role::operator_, "auxOutputOn",
             "Switches an auxiliary output on for 1-254 seconds, or until switched off without seconds "
             "(CONTROL DEVICE 01 output 02 seconds|FF)",
             "DoorOpen", "201 Command", waits, [h](Call& c) {
               auto body = control_body(c, {"seconds"});
               if (!body) return;
               auto output = door_param(c);
               if (!output) return;
               unsigned duration = p::ControlDevice::hold_open;
               if (body->contains("seconds")) {
                 const auto& v = (*body)["seconds"];
                 if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 254)
                   return answer_error(c.respond, c.who, 400, "seconds: 1 to 254 (leave it out to hold the output on)");
                 duration = static_cast<unsigned>(v.get<std::int64_t>());
               }
               h.control(c, c.params[0], p::ControlDevice::aux_output(*output, duration), "aux output on");
             }});
  table.add({V::post, "/api/v1/devices/{sn}/aux/{output}/off", Role::operator_, "auxOutputOff",
             "Switches an auxiliary output off (CONTROL DEVICE 01 output 02 00)", "", "201 Command", waits,
             [h](Call& c) {
               if (!control_body(c, {})) return;
               if (auto output = door_param(c))
                 h.control(c, c.params[0], p::ControlDevice::aux_output(*output, p::ControlDevice::close), "aux output off");
             }});
  table.add({V::post, "/api/v1/devices/{sn}/reboot", Role::admin, "rebootDevice",
             "Restarts the device (CONTROL DEVICE 03)", "", "201 Command", waits, [h](Call& c) {
               if (!control_body(c, {})) return;
               h.control(c, c.params[0], p::ControlDevice::restart(0), "reboot");
             }});
  table.add({V::post, "/api/v1/devices/{sn}/control", Role::admin, "controlDevice",
             "Any CONTROL DEVICE action by its groups ({\"action\": 11, \"bb\": 1} switches to 4G; 17/18 take "
             "\"floors\"), checked against the manual's table (9.4) before it is queued",
             "ControlAction", "201 Command", waits, [h](Call& c) {
               auto body = control_body(c, {"action", "bb", "cc", "dd", "floors"});
               if (!body) return;
               auto byte = [&](const char* key, std::uint8_t& out) {
                 if (!body->contains(key)) return true;
                 const auto& v = (*body)[key];
                 if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 255) return false;
                 out = static_cast<std::uint8_t>(v.get<std::int64_t>());
                 return true;
               };
               p::ControlDevice action;
               if (!body->contains("action") || !byte("action", action.aa))
                 return answer_error(c.respond, c.who, 400, "action: the CONTROL DEVICE code, 1 to 18");
               for (const char* key : {"bb", "cc", "dd"}) {
                 std::uint8_t& group = key[0] == 'b' ? action.bb : key[0] == 'c' ? action.cc : action.dd;
                 if (!byte(key, group)) return answer_error(c.respond, c.who, 400, std::string(key) + ": 0 to 255");
               }
               if (body->contains("floors")) {
                 std::vector<unsigned> floors;
                 const auto& list = (*body)["floors"];
                 if (!list.is_array()) return answer_error(c.respond, c.who, 400, "floors: an array of floor numbers");
                 for (const auto& f : list) {
                   if (!f.is_number_integer() || f.get<std::int64_t>() < 1 || f.get<std::int64_t>() > 256)
                     return answer_error(c.respond, c.who, 400, "floors: numbers 1 to 256");
                   floors.push_back(static_cast<unsigned>(f.get<std::int64_t>()));
                 }
                 auto bitmap = p::make_floor_bitmap(floors);
                 if (!bitmap) return answer_error(c.respond, c.who, 400, bitmap.error().to_string());
                 action.floors = *bitmap;
               }
               p::Result<p::ControlDevice> checked = action;
               if (auto st = p::validate_control_device(action); !st) checked = st.error();
               h.control(c, c.params[0], checked, "control device");
             }});
  table.add({V::post, "/api/v1/devices/{sn}/time", Role::operator_, "setDeviceTime",
             "Sets the device's clock (SET OPTIONS DateTime=, Appendix 5): to the server's time in the device's "
             "zone, or to {\"time\": \"YYYY-MM-DD HH:MM:SS\"} (the device's wall-clock time)",
             "DeviceTime", "201 Command", waits, [h](Call& c) { h.set_time(c); }});
  table.add({V::post, "/api/v1/devices/{sn}/options/get", Role::operator_, "askDeviceOptions",
             "Asks the device for parameters ({\"keys\": [\"~DeviceName\", ...]}, GET OPTIONS); the answer "
             "updates its options", "OptionKeys", "201 Command", waits, [h](Call& c) {
               auto body = control_body(c, {"keys"});
               if (!body) return;
               std::vector<std::string> keys;
               if (body->contains("keys") && (*body)["keys"].is_array()) {
                 for (const auto& k : (*body)["keys"]) {
                   if (!k.is_string()) return answer_error(c.respond, c.who, 400, "keys: parameter names (strings)");
                   keys.push_back(k.get<std::string>());
                 }
               }
               if (keys.empty()) return answer_error(c.respond, c.who, 400, "keys: a non-empty array of parameter names");
               h.issue(c, c.params[0], p::get_options(0, std::move(keys)), "get options");
             }});
  table.add({V::post, "/api/v1/devices/{sn}/options", Role::admin, "setDeviceOptions",
             "Sets device parameters ({\"options\": {\"Door1Drivertime\": \"5\", ...}}, SET OPTIONS)", "OptionValues",
             "201 Command", waits, [h](Call& c) {
               auto body = control_body(c, {"options"});
               if (!body) return;
               p::Record options;
               if (body->contains("options") && (*body)["options"].is_object()) {
                 for (const auto& item : (*body)["options"].items()) {
                   const auto& v = item.value();
                   if (!v.is_string() && !v.is_number_integer())
                     return answer_error(c.respond, c.who, 400, "options: values are strings or integers (" + item.key() + ")");
                   options.fields.push_back({item.key(), v.is_string() ? v.get<std::string>() : std::to_string(v.get<std::int64_t>())});
                 }
               }
               if (options.fields.empty()) return answer_error(c.respond, c.who, 400, "options: a non-empty object of parameters");
               h.issue(c, c.params[0], p::set_options(0, std::move(options)), "set options");
             }});
}

Json Handlers::device_view(const storage::Device& device, std::int64_t pending) const {
  auto state = devices.get(device.sn);
  return api::device_json(device, state ? state->last_seen : 0, pending, devices.clock().now(),
                          api::online_window(config.request_delay));
}

namespace {

// Open commands of the device that are not past their deadline at `now`: what it may still be sent.
std::int64_t pending_at(storage::Reads& r, const std::string& sn, std::int64_t now) {
  return r.commands().pending_count(sn) - static_cast<std::int64_t>(r.commands().overdue(sn, now, 0).size());
}

}  // namespace

void Handlers::answer_device(std::shared_ptr<const storage::Device> device, const std::string& who,
                             const SharedResponder& respond) const {
  const auto now = devices.clock().now();
  store.read([sn = device->sn, now](storage::Reads& r) { return pending_at(r, sn, now); },
             [self = *this, device, who, respond](storage::StoreResult<std::int64_t> r) {
               if (!r.ok()) return answer_store_refusal(respond, who, r.error());
               answer_json(respond, 200, self.device_view(*device, r.value()));
             });
}

void Handlers::list_devices(const std::string& who, const SharedResponder& respond) const {
  struct Listed {
    std::vector<storage::Device> devices;
    std::map<std::string, std::int64_t> pending;
  };
  const auto now = devices.clock().now();
  store.read(
      [now](storage::Reads& r) {
        Listed out;
        out.devices = r.devices().all();
        for (const auto& [sn, n] : r.commands().pending_counts()) out.pending[sn] = n;
        for (const auto& row : r.commands().overdue("", now, 0)) out.pending[row.sn] -= 1;
        return out;
      },
      [self = *this, who, respond](storage::StoreResult<Listed> r) {
        if (!r.ok()) return answer_store_refusal(respond, who, r.error());
        Json out = Json::array();
        for (const auto& d : r->devices) {
          auto it = r->pending.find(d.sn);
          out.push_back(self.device_view(d, it == r->pending.end() ? 0 : it->second));
        }
        answer_json(respond, 200, out);
      });
}

void Handlers::device(const std::string& sn, const std::string& who, const SharedResponder& respond) const {
  struct Found {
    std::optional<storage::Device> device;
    std::int64_t pending = 0;
    std::optional<storage::SubController> as_sub;
    std::vector<storage::SubController> subs;
  };
  const auto now = devices.clock().now();
  store.read([sn, now](storage::Reads& r) {
               return Found{r.devices().get(sn), pending_at(r, sn, now), r.devices().sub_controller(sn),
                            r.devices().sub_controllers(sn)};
             },
             [self = *this, sn, who, respond](storage::StoreResult<Found> r) {
               if (!r.ok()) return answer_store_refusal(respond, who, r.error());
               if (!r->device) return answer_error(respond, who, 404, "unknown device " + p::text::quoted(sn));
               Json j = self.device_view(*r->device, r->pending);
               // Multi-level control: whose sub-controller it is, and its own sub-controllers.
               j["master"] = r->as_sub ? Json(r->as_sub->master_sn) : Json(nullptr);
               if (r->as_sub) j["sub_controller"] = api::sub_controller_json(*r->as_sub);
               Json subs = Json::array();
               for (const auto& s : r->subs) subs.push_back(api::sub_controller_json(s));
               j["sub_controllers"] = std::move(subs);
               answer_json(respond, 200, j);
             });
}

void Handlers::door_state(const std::string& sn, const std::string& who, const SharedResponder& respond) const {
  auto state = devices.get(sn);
  if (!state) return answer_error(respond, who, 404, "unknown device " + p::text::quoted(sn));
  const int doors = p::context_from_options(state->device->options).door_count;
  const int tz = devices.tz_minutes(*state->device);
  store.read([sn](storage::Reads& r) { return r.door_states().get(sn); },
             [doors, tz, who, respond](storage::StoreResult<std::optional<storage::DoorStateUpdate>> r) {
               if (!r.ok()) return answer_store_refusal(respond, who, r.error());
               answer_json(respond, 200, api::door_state_json(r.value(), doors, tz));
             });
}

void Handlers::command(std::int64_t id, const std::string& who, const SharedResponder& respond, int status) const {
  struct Found {
    std::optional<storage::CommandRow> row;
    std::vector<storage::CommandData> data;
  };
  const auto now = devices.clock().now();
  store.read([id](storage::Reads& r) { return Found{r.commands().get(id), r.commands().data(id)}; },
             [id, now, who, respond, status](storage::StoreResult<Found> r) {
               if (!r.ok()) return answer_store_refusal(respond, who, r.error());
               if (!r->row) return answer_error(respond, who, 404, "no command " + std::to_string(id));
               // Past its deadline it reads expired at once, whether or not the sweep recorded it yet.
               auto row = *r->row;
               if (service::effective_status(row, now) != row.status) {
                 row.status = storage::CommandStatus::expired;
                 row.done_at = row.expires_at;
               }
               // -1: 200 if the device answered it (done or failed), else 504 (expired, cancelled, open).
               int code = status;
               if (code < 0)
                 code = row.status == storage::CommandStatus::done || row.status == storage::CommandStatus::failed ? 200 : 504;
               answer_json(respond, code, api::command_json(row, r->data));
             });
}

void Handlers::control(const Call& call, const std::string& sn, const p::Result<p::ControlDevice>& action,
                       const char* what) const {
  if (!action) return answer_error(call.respond, call.who, 400, action.error().to_string());
  issue(call, sn, p::control_device(0, action), what);
}

void Handlers::issue(const Call& call, const std::string& sn, const p::Result<p::Command>& built,
                     const char* what) const {
  if (!devices.get(sn)) return answer_error(call.respond, call.who, 404, "unknown device " + p::text::quoted(sn));
  auto wait = wait_param(call);
  if (!wait) return;
  if (!built) return answer_error(call.respond, call.who, 400, built.error().to_string());
  service::EnqueueRequest request;
  request.sn = sn;
  const auto text = p::format_command(*built);
  request.line = text.substr(text.find(':', 2) + 1);  // without "C:0:"
  // CONTROL DEVICE: control priority and the --control-device-expiry deadline (a late door open is
  // never delivered).
  const auto deadline = wait->has_value() ? std::optional(service::CommandQueue::WaitClock::now() + **wait) : std::nullopt;
  queue.enqueue(request, [self = *this, respond = call.respond, who = call.who, what, deadline](
                             storage::StoreResult<storage::CommandRow> r) {
    if (!r.ok()) return answer_store_refusal(respond, who, r.error());
    spdlog::info("{}: {} through the API: command {} queued as C:{}: {}", r->sn, what, r->id, r->wire_id, r->line);
    if (!deadline) return answer_json(respond, 201, api::command_json(r.value(), {}));
    // Answered once: by the closure, by the timeout, or at once if it closed before the wait began.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    auto finish = [self, respond, who, answered, id = r->id](int status) {
      if (!answered->exchange(true)) self.command(id, who, respond, status);
    };
    // Closed (answered, or expired or cancelled first) or out of time: the command as it stands, 200
    // only if the device answered it.
    self.queue.wait(r->id, *deadline, [finish](bool) { finish(-1); });
    self.store.read([id = r->id](storage::Reads& reads) { return reads.commands().get(id); },
                    [finish](storage::StoreResult<std::optional<storage::CommandRow>> row) {
                      if (row.ok() && row.value() && !service::is_open(row.value()->status)) finish(-1);
                    });
  });
}

void Handlers::set_time(const Call& call) const {
  auto body = control_body(call, {"time"});
  if (!body) return;
  const auto sn = call.params.at(0);
  auto state = devices.get(sn);
  if (!state) return answer_error(call.respond, call.who, 404, "unknown device " + p::text::quoted(sn));
  p::Result<std::uint32_t> zktime = p::zktime_from_unix(devices.clock().now(), devices.tz_minutes(*state->device));
  if (body->contains("time")) {
    const auto& v = (*body)["time"];
    auto civil = p::parse_datetime(v.is_string() ? v.get<std::string>() : std::string());
    if (!civil) return answer_error(call.respond, call.who, 400, "time: \"YYYY-MM-DD HH:MM:SS\", the device's wall-clock time");
    zktime = p::encode_zktime(*civil);
  }
  if (!zktime) return answer_error(call.respond, call.who, 400, "time: " + zktime.error().to_string());
  issue(call, sn, p::set_options(0, p::Record{{"DateTime", std::to_string(*zktime)}}), "set time");
}

void Handlers::remove(const Call& call, bool pending_only) const {
  const auto sn = call.params.at(0);
  auto state = devices.get(sn);
  if (!state) return answer_error(call.respond, call.who, 404, "unknown device " + p::text::quoted(sn));
  if (pending_only && state->device->approved)
    return answer_error(call.respond, call.who, 409, "device " + p::text::quoted(sn) + " is approved: DELETE it instead");
  devices.remove(sn, [self = *this, sn, pending_only, respond = call.respond, who = call.who](storage::StoreStatus r) {
    if (!r.ok()) return answer_store_refusal(respond, who, r.error());
    self.queue.forget(sn);
    if (self.subs) self.subs->forget(sn);
    spdlog::info("{}: {} through the API", sn, pending_only ? "rejected" : "deleted");
    answer_json(respond, 200, Json{{"deleted", true}, {"sn", sn}});
  });
}

void Handlers::approve(const std::string& sn, const std::string& who, const SharedResponder& respond) const {
  // Only the operator's column is written: a device request in flight saves its own columns and
  // cannot put approved back to false, whichever commits first.
  storage::DeviceSettings settings;
  settings.approved = true;
  devices.update_settings(sn, settings,
                          [self = *this, sn, who, respond](storage::StoreResult<std::shared_ptr<const storage::Device>> r) {
                            if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                            spdlog::info("{}: approved through the API", sn);
                            self.answer_device(r.value(), who, respond);
                          });
}

// PATCH {"time_zone": "+0800" | null, "config": {"RequestDelay": 10, "TransTimes": null, ...}}:
// null removes the device's own value (back to the server's).
void Handlers::update(const std::string& sn, const std::string& body, const std::string& who,
                 const SharedResponder& respond) const {
  const std::string& call = who;
  if (!devices.get(sn)) return answer_error(respond, call, 404, "unknown device " + p::text::quoted(sn));
  auto json = Json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return answer_error(respond, call, 400, "expected a JSON object");
  // Edits, not a row: applied by the store to the row as it is when the write runs, so device
  // requests in flight and other PATCHes (other keys) keep what they wrote.
  storage::DeviceSettings settings;
  for (const auto& [key, value] : json.items()) {
    if (key == "time_zone") {
      if (value.is_null()) {
        settings.time_zone = std::string();
        continue;
      }
      auto tz = value.is_string() ? p::parse_tz_offset(value.get<std::string>()) : std::nullopt;
      if (!tz) return answer_error(respond, call, 400, "time_zone: an offset like \"+0800\" or null");
      settings.time_zone = p::format_tz_offset(*tz);
    } else if (key == "config") {
      if (!value.is_object()) return answer_error(respond, call, 400, "config: an object of configuration keys");
      for (const auto& item : value.items()) {
        const std::string& name = item.key();  // not a structured binding: clang 14 cannot capture one
        const auto& v = item.value();
        const auto* known = std::find_if(std::begin(api::kDeviceConfigKeys), std::end(api::kDeviceConfigKeys),
                                         [&](const auto& k) { return p::text::iequals(k.name, name); });
        if (known == std::end(api::kDeviceConfigKeys)) {
          return answer_error(respond, call, 400,
                              "config: " + p::text::quoted(name) + " is not a per-device configuration key");
        }
        const std::string canonical(known->name);
        if (v.is_null()) {
          settings.config.push_back(storage::ConfigEdit{canonical, std::nullopt});
          continue;
        }
        std::string text;
        if (known->numeric) {
          if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 86400) {
            return answer_error(respond, call, 400, "config: " + canonical + " must be an integer 0-86400");
          }
          text = std::to_string(v.get<std::int64_t>());
        } else {
          if (!v.is_string() || v.get<std::string>().find_first_of("\r\n") != std::string::npos) {
            return answer_error(respond, call, 400, "config: " + canonical + " must be a one-line string");
          }
          text = v.get<std::string>();
        }
        settings.config.push_back(storage::ConfigEdit{canonical, text});
      }
    } else {
      return answer_error(respond, call, 400, "unknown field " + p::text::quoted(key) + " (time_zone, config)");
    }
  }
  devices.update_settings(sn, settings,
                          [self = *this, sn, who, respond](storage::StoreResult<std::shared_ptr<const storage::Device>> r) {
                            if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                            const auto& d = *r.value();
                            spdlog::info("{}: device settings changed through the API (time_zone '{}', {} config "
                                         "override(s))", sn, d.time_zone, d.config.size());
                            self.answer_device(r.value(), who, respond);
                          });
}

void Handlers::enqueue(const std::string& sn, const std::string& body, const std::string& who,
                  const SharedResponder& respond) const {
  const std::string& call = who;
  if (!devices.get(sn)) return answer_error(respond, call, 404, "unknown device " + p::text::quoted(sn));
  auto json = Json::parse(body, nullptr, false);
  if (json.is_discarded()) return answer_error(respond, call, 400, "malformed JSON body");
  if (!json.is_object() || !json.contains("line") || !json["line"].is_string()) {
    return answer_error(respond, call, 400, "expected {\"line\": \"<command>\"}");
  }
  for (const auto& item : json.items()) {
    if (item.key() != "line" && item.key() != "expires_in" && item.key() != "priority")
      return answer_error(respond, call, 400, "unknown field " + p::text::quoted(item.key()) + " (line, expires_in, priority)");
  }
  service::EnqueueRequest request;
  request.sn = sn;
  request.line = json["line"].get<std::string>();
  if (json.contains("expires_in") && !json["expires_in"].is_null()) {
    if (!json["expires_in"].is_number_integer() || json["expires_in"].get<std::int64_t>() <= 0) {
      return answer_error(respond, call, 400, "expires_in: a positive number of seconds");
    }
    request.expires_in = json["expires_in"].get<std::int64_t>();
  }
  if (json.contains("priority") && !json["priority"].is_null()) {
    auto priority = json["priority"].is_string()
                        ? storage::command_priority_from_name(json["priority"].get<std::string>())
                        : std::nullopt;
    if (!priority) return answer_error(respond, call, 400, "priority: \"control\", \"normal\" or \"bulk\"");
    request.priority = *priority;
  }
  queue.enqueue(request, [respond, who](storage::StoreResult<storage::CommandRow> r) {
    if (!r.ok()) return answer_store_refusal(respond, who, r.error());
    spdlog::info("{}: command {} queued as C:{}: {}", r->sn, r->id, r->wire_id, r->line);
    answer_json(respond, 201, api::command_json(r.value(), {}));
  });
}

void Handlers::list_commands(const Call& call, const std::string& sn) const {
  const auto target = p::parse_target(call.request.target());
  storage::CommandFilter filter;
  filter.sn = sn;
  if (auto v = target.query.get("status"); v && !v->empty()) {
    static const std::set<std::string> known{"queued", "sent", "done", "failed", "expired", "cancelled"};
    for (const auto& part : p::text::split(*v, ',')) {
      const std::string name(p::text::trim(part));
      if (name == "open") {
        filter.statuses.insert(filter.statuses.end(), {"queued", "sent"});
      } else if (known.count(name)) {
        filter.statuses.push_back(name);
      } else {
        return answer_error(call.respond, call.who, 400,
                            "status: queued, sent, done, failed, expired, cancelled or open, not " + p::text::quoted(name));
      }
    }
  }
  const auto before = id_param(call, "before_id", "a command id");
  const auto limit = before ? limit_param(call) : std::nullopt;
  if (!limit) return;
  filter.before_id = *before;
  filter.limit = *limit;
  const auto now = devices.clock().now();
  store.read([filter](storage::Reads& r) { return r.commands().list(filter); },
             [now, who = call.who, respond = call.respond](storage::StoreResult<std::vector<storage::CommandRow>> r) {
               if (!r.ok()) return answer_store_refusal(respond, who, r.error());
               Json out = Json::array();
               for (auto row : r.value()) {
                 // Past its deadline it reads expired, as GET /commands/{id} shows it.
                 if (service::effective_status(row, now) != row.status) {
                   row.status = storage::CommandStatus::expired;
                   row.done_at = row.expires_at;
                 }
                 out.push_back(api::command_json(row, {}));
               }
               answer_json(respond, 200, out);
             });
}

void Handlers::cancel(std::int64_t id, const std::string& who, const SharedResponder& respond) const {
  queue.cancel(id, [self = *this, respond, who](storage::StoreResult<storage::CommandRow> r) {
    if (!r.ok()) return answer_store_refusal(respond, who, r.error());
    spdlog::info("{}: command {} (C:{}) cancelled through the API", r->sn, r->id, r->wire_id);
    // Its data, if any, read off this (storage) thread too.
    self.store.read([id = r->id](storage::Reads& reads) { return reads.commands().data(id); },
                    [row = r.value(), respond](storage::StoreResult<std::vector<storage::CommandData>> data) {
                      answer_json(respond, 200, api::command_json(row, data.ok() ? data.value() : std::vector<storage::CommandData>{}));
                    });
  });
}

}  // namespace zkpush::front::api
