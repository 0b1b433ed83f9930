// zkpush ctl: the JSON API from a shell, for people (tables) and scripts (--json). docs/ctl.md lists
// every subcommand; this file wires the command line and holds devices and doors, the other areas
// are in ctl_persons.cpp, ctl_events.cpp and ctl_admin.cpp, the HTTP plumbing in ctl_client.cpp.
//
//   zkpush ctl [--server URL] [--token T] [--config FILE] [--json] <area> <action> ...
//
// Exit codes: 0 done; 1 the server refused (its {"error"} on stderr), or a door command went
// unanswered or failed; 2 a command line (or config file, or input file) that cannot be read;
// 3 no answer (not running, refused connection, timeout); 4 not found (404).
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/ctl.hpp"

namespace zkpush::cli {

namespace ctl {

namespace {

std::string device_path(const Ctl& c) { return "/api/v1/devices/" + seg(c.flags->sn); }

int devices_list(const Ctl& c) {
  return show(c, get("/api/v1/devices"), [](const Json& list) {
    print_rows(list,
               {col("SN", "sn"),
                {"STATE", [](const Json& d) { return std::string(d.value("online", false) ? "online" : "offline"); }},
                col("APPROVED", "approved"), col("LAST SEEN", "last_seen"), col("PENDING", "pending"),
                col("FIRMWARE", "firmware")},
               "(no devices yet)");
  });
}

int door_state(const Ctl& c) {
  return show(c, get(device_path(c) + "/state"), [&c](const Json& state) {
    if (state.value("doors", Json::array()).empty()) {
      std::cout << c.flags->sn << ": no door state reported yet\n";
      return;
    }
    std::cout << c.flags->sn << " at " << text_of(state.value("time", Json())) << "\n";
    print_rows(state["doors"], {col("DOOR", "door"), col("SENSOR", "sensor"), col("RELAY", "relay"), col("ALARMS", "alarms")},
               "");
  });
}

// approve, reject, delete: one line saying what happened.
std::function<int(const Ctl&)> device_change(const std::string& method, const std::string& suffix, const std::string& done) {
  return [=](const Ctl& c) {
    return show(c, request(method, device_path(c) + suffix),
                [&c, done](const Json&) { std::cout << "device " << c.flags->sn << " " << done << "\n"; });
  };
}

// A door action (CONTROL DEVICE, built by the server) and, with --wait, the panel's answer.
int door_action(const Ctl& c, const std::string& action, const Json& body, const std::string& what) {
  const auto& f = *c.flags;
  const std::string target = "/api/v1/doors/" + seg(f.sn) + "/" + seg(f.door) + "/" + action + query({{"wait", f.wait}});
  // 504: the wait ran out; the answer is still the command as it stands.
  auto reply = call(c, post(target, body), 504);
  if (!reply) return reply.code;
  const auto& command = reply.json;
  const std::string door = "door " + std::to_string(f.door) + " of " + f.sn + ": ";
  const std::string id = text_of(command.value("id", Json()));
  if (c.json) {
    std::cout << command.dump(2) << "\n";
  } else if (reply.status == 504) {
    std::cout << door << "no answer within " << f.wait << " (command " << id << " is "
              << text_of(command.value("status", Json())) << ")\n";
  } else if (command.value("status", std::string()) == "queued") {
    std::cout << door << what << " queued (command " << id << ")\n";
  } else {
    std::cout << door << text_of(command.value("status", Json())) << ", Return " << text_of(command.value("return", Json()))
              << " (" << text_of(command.value("return_name", Json())) << ")\n";
  }
  if (reply.status == 504) return kRefused;
  const auto& ret = command.value("return", Json());
  return ret.is_null() || ret == Json(0) ? kOk : kRefused;
}

void door_arguments(CLI::App* sub, CtlFlags& f) {
  sub->add_option("sn", f.sn, "the panel's serial number")->required();
  sub->add_option("door", f.door, "the door, 1 to 16")->required()->check(CLI::Range(1, 16));
  sub->add_option("--wait", f.wait, "wait for the panel's answer this long (8s, 1500ms; at most 60s)");
}

}  // namespace

void add_device_commands(CLI::App& root, const std::shared_ptr<CtlFlags>& f) {
  auto* devices = area(root, "devices", "Devices: list (the default), show, state, approve, reject, delete", f, devices_list);
  action(*devices, "list", "List the devices: state, approval, last seen, pending commands, firmware", f, devices_list);
  auto sn = [&f](CLI::App* sub) { sub->add_option("sn", f->sn, "the device's serial number")->required(); };
  sn(action(*devices, "show", "One device: every field", f, [](const Ctl& c) { return show(c, get(device_path(c)), print_object); }));
  sn(action(*devices, "state", "A panel's door states: sensor, relay, alarms", f, door_state));
  sn(action(*devices, "approve", "Approve a device waiting under --registration approve", f,
            device_change("POST", "/approve", "approved")));
  sn(action(*devices, "reject", "Refuse a device waiting for approval (it is forgotten)", f,
            device_change("POST", "/reject", "rejected (forgotten until it calls again)")));
  sn(action(*devices, "delete", "Forget a device: parameters, commands, state, records (its events stay); asks nothing", f,
            device_change("DELETE", "", "deleted (its events are kept)")));
}

void add_door_commands(CLI::App& root, const std::shared_ptr<CtlFlags>& f) {
  auto* doors = root.add_subcommand("doors", "Act on doors: open, close, lock, unlock, normal-open, cancel-alarm");
  doors->require_subcommand(1);
  doors->fallthrough();
  auto* open = action(*doors, "open", "Open a door for some seconds (CONTROL DEVICE 01)", f, [](const Ctl& c) {
    return door_action(c, "open", Json{{"seconds", c.flags->seconds}}, "open for " + std::to_string(c.flags->seconds) + " s");
  });
  door_arguments(open, *f);
  open->add_option("--seconds", f->seconds, "how long, 1 to 254")->check(CLI::Range(1, 254))->capture_default_str();
  struct Bare {
    const char *name, *help, *what;
  };
  static constexpr Bare kBare[] = {
      {"close", "Close a door at once (CONTROL DEVICE 01 door 01 00)", "close"},
      {"lock", "Lock a door until unlocked (CONTROL DEVICE 06 door 01)", "lock"},
      {"unlock", "Unlock a locked door (CONTROL DEVICE 06 door 00)", "unlock"},
      {"cancel-alarm", "Cancel the panel's alarm (CONTROL DEVICE 02)", "cancel alarm"},
  };
  for (const auto& b : kBare) {
    door_arguments(action(*doors, b.name, b.help, f, [b](const Ctl& c) { return door_action(c, b.name, Json::object(), b.what); }), *f);
  }
  auto* normal = action(*doors, "normal-open", "Normal open on, or off with --off (CONTROL DEVICE 04)", f, [](const Ctl& c) {
    const bool on = !c.flags->off;
    return door_action(c, "normal-open", Json{{"enable", on}}, on ? "normal open on" : "normal open off");
  });
  door_arguments(normal, *f);
  normal->add_flag("--off", f->off, "turn normal open off");
}

}  // namespace ctl

void register_ctl(CLI::App& app) {
  auto f = std::make_shared<ctl::CtlFlags>();
  auto* root = app.add_subcommand("ctl", "Use a running server's JSON API from the shell (tables, or --json for scripts)");
  root->add_option("--server", f->server, "the server's URL (default $ZKPUSH_SERVER, the config file, else http://127.0.0.1:8088)");
  root->add_option("--token", f->token, "an API token (default $ZKPUSH_API_TOKEN, the config file, else ./data/api-token)");
  root->add_option("--ca", f->ca, "https://: a PEM file of CAs to trust besides the system's (a private CA, docs/tls.md)");
  root->add_flag("--insecure", f->insecure, "https://: do not check the server's certificate");
  root->add_option("--config", f->config, "a config file (default $ZKPUSH_CTL_CONFIG, else ~/.config/zkpush/ctl.toml if present)");
  root->add_flag("--json", f->json, "print the API's JSON instead of a table");
  root->add_flag("--color", f->color, "colour events even when stdout is not a terminal");
  root->add_flag("--no-color", f->no_color, "never colour (as NO_COLOR=1)");
  root->require_subcommand(1);
  root->fallthrough();
  ctl::add_device_commands(*root, f);
  ctl::add_door_commands(*root, f);
  ctl::add_person_commands(*root, f);
  ctl::add_event_commands(*root, f);
  ctl::add_admin_commands(*root, f);
}

}  // namespace zkpush::cli
