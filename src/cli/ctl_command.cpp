// zkpush ctl: the JSON API from a shell, for people (tables) and scripts (--json).
//
//   zkpush ctl [--server URL] [--token T] [--json] devices
//   zkpush ctl ... doors open <sn> <door> [--seconds 5] [--wait 8s]
//
// Server: --server, else ZKPUSH_SERVER, else http://127.0.0.1:8088. Token: --token, else
// ZKPUSH_API_TOKEN, else the file ./data/api-token that `zkpush serve` writes at first start.
// Exit codes: 0 done; 1 the server refused (its {"error"} on stderr); 3 no answer (not running,
// refused connection, timeout). Usage errors are CLI11's (105 and up).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "emulator/http_client.hpp"
#include "protocol/text.hpp"

namespace zkpush::cli {

namespace {

using Json = nlohmann::ordered_json;
namespace asio = boost::asio;
namespace p = protocol;

struct CtlOptions {
  std::string server;
  std::string token;
  bool json = false;
  // doors open
  std::string sn;
  int door = 0;
  int seconds = 5;
  std::string wait;
};

constexpr int kRefused = 1;
constexpr int kNoAnswer = 3;

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string resolve_token(const CtlOptions& o) {
  if (!o.token.empty()) return o.token;
  if (auto t = env_or("ZKPUSH_API_TOKEN", ""); !t.empty()) return t;
  std::ifstream in("data/api-token");
  std::string line;
  std::getline(in, line);
  return std::string(p::text::trim(line));
}

// A coroutine owns its parameters: the request outlives the exchange.
asio::awaitable<emulator::HttpAnswer> exchange(std::shared_ptr<emulator::HttpClient> client, p::OutgoingRequest request) {
  co_return co_await client->send(request, "", std::chrono::seconds(75));
}

// One API call; status 0 when there was no answer (error says why).
emulator::HttpAnswer call(const CtlOptions& o, const std::string& method, const std::string& target,
                          const std::string& body = {}) {
  const auto server = o.server.empty() ? env_or("ZKPUSH_SERVER", "http://127.0.0.1:8088") : o.server;
  auto address = emulator::parse_server_url(server);
  if (!address) {
    emulator::HttpAnswer a;
    a.error = "--server: not an http://host:port URL: " + server;
    return a;
  }
  p::OutgoingRequest request{method, target, {{"Authorization", "Bearer " + resolve_token(o)}}, body};
  if (!body.empty()) request.headers.push_back({"Content-Type", "application/json"});
  asio::io_context io;
  auto client = std::make_shared<emulator::HttpClient>(io.get_executor(), *address);
  auto future = asio::co_spawn(io, exchange(client, std::move(request)), asio::use_future);
  io.run();
  return future.get();
}

// The answer as JSON, or the exit code when it is not a success.
std::optional<Json> answered(const emulator::HttpAnswer& a, int& code) {
  if (a.status == 0) {
    std::cerr << "zkpush ctl: no answer from the server: " << a.error << "\n";
    code = kNoAnswer;
    return std::nullopt;
  }
  auto j = Json::parse(a.body, nullptr, false);
  if (a.status >= 300 && a.status != 504) {
    const std::string why = j.is_object() && j.contains("error") && j["error"].is_string()
                                ? j["error"].get<std::string>() : a.body;
    std::cerr << "zkpush ctl: " << a.status << " " << why << "\n";
    code = kRefused;
    return std::nullopt;
  }
  if (j.is_discarded()) {
    std::cerr << "zkpush ctl: the answer is not JSON\n";
    code = kRefused;
    return std::nullopt;
  }
  return j;
}

std::string text_of(const Json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// Columns padded to their widest cell.
void print_table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) width[c] = head[c].size();
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      out += cells[c];
      if (c + 1 < cells.size()) out += std::string(width[c] - cells[c].size() + 2, ' ');
    }
    std::cout << out << "\n";
  };
  line(head);
  for (const auto& r : rows) line(r);
}

int run_devices(const CtlOptions& o) {
  int code = 0;
  auto list = answered(call(o, "GET", "/api/v1/devices"), code);
  if (!list) return code;
  if (o.json) {
    std::cout << list->dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : *list) {
    rows.push_back({text_of(d.value("sn", Json())), d.value("online", false) ? "online" : "offline",
                    d.value("approved", false) ? "yes" : "no", text_of(d.value("last_seen", Json())),
                    text_of(d.value("pending", Json())), text_of(d.value("firmware", Json()))});
  }
  print_table({"SN", "STATE", "APPROVED", "LAST SEEN", "PENDING", "FIRMWARE"}, rows);
  if (rows.empty()) std::cout << "(no devices yet)\n";
  return 0;
}

int run_door_open(const CtlOptions& o) {
  int code = 0;
  std::string target = "/api/v1/doors/" + p::text::percent_encode(o.sn) + "/" + std::to_string(o.door) + "/open";
  if (!o.wait.empty()) target += "?wait=" + p::text::percent_encode(o.wait);
  const auto reply = call(o, "POST", target, Json{{"seconds", o.seconds}}.dump());
  auto command = answered(reply, code);
  if (!command) return code;
  if (o.json) {
    std::cout << command->dump(2) << "\n";
  } else if (reply.status == 504) {
    std::cout << "door " << o.door << " of " << o.sn << ": no answer within " << o.wait << " (command "
              << text_of(command->value("id", Json())) << " is " << text_of(command->value("status", Json())) << ")\n";
  } else if (command->value("status", std::string()) == "queued") {
    std::cout << "door " << o.door << " of " << o.sn << ": open for " << o.seconds << " s queued (command "
              << text_of(command->value("id", Json())) << ")\n";
  } else {
    std::cout << "door " << o.door << " of " << o.sn << ": " << text_of(command->value("status", Json())) << ", Return "
              << text_of(command->value("return", Json())) << " (" << text_of(command->value("return_name", Json())) << ")\n";
  }
  if (reply.status == 504) return kRefused;
  return command->value("return", Json(0)) == Json(0) || command->value("return", Json()).is_null() ? 0 : kRefused;
}

}  // namespace

void register_ctl(CLI::App& app) {
  auto o = std::make_shared<CtlOptions>();
  auto* ctl = app.add_subcommand("ctl", "Use a running server's JSON API from the shell (tables, or --json for scripts)");
  ctl->add_option("--server", o->server, "the server's URL (default $ZKPUSH_SERVER, else http://127.0.0.1:8088)");
  ctl->add_option("--token", o->token, "an API token (default $ZKPUSH_API_TOKEN, else ./data/api-token)");
  ctl->add_flag("--json", o->json, "print the API's JSON instead of a table");
  ctl->require_subcommand(1);
  ctl->fallthrough();  // `ctl devices --json` as well as `ctl --json devices`
  auto* devices = ctl->add_subcommand("devices", "List the devices: state, approval, last seen, pending commands");
  devices->callback([o] { set_exit_code(run_devices(*o)); });
  devices->fallthrough();
  auto* doors = ctl->add_subcommand("doors", "Act on doors");
  doors->require_subcommand(1);
  doors->fallthrough();
  auto* open = doors->add_subcommand("open", "Open a door for some seconds (CONTROL DEVICE 01)");
  open->add_option("sn", o->sn, "the panel's serial number")->required();
  open->add_option("door", o->door, "the door, 1 to 16")->required()->check(CLI::Range(1, 16));
  open->add_option("--seconds", o->seconds, "how long, 1 to 254")->check(CLI::Range(1, 254))->capture_default_str();
  open->add_option("--wait", o->wait, "wait for the panel's answer this long (8s, 1500ms)");
  open->fallthrough();
  open->callback([o] { set_exit_code(run_door_open(*o)); });
}

}  // namespace zkpush::cli
