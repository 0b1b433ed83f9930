// zkpush ctl, shared by its files: the settings (server, token, output), one API call with its checks,
// and the human output (tables, objects, times, colours). ctl_client.cpp implements them;
// ctl_command.cpp wires the command line and holds devices and doors, ctl_persons.cpp persons and
// imports, ctl_events.cpp events, ctl_admin.cpp commands, tokens and webhooks.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace zkpush::cli::ctl {

using Json = nlohmann::ordered_json;

// Exit statuses (docs/ctl.md). 2, a command line that cannot be read, is main.cpp's for CLI11's
// errors and kUsage here for what only the run finds out (an unreadable file, a bad config file).
constexpr int kOk = 0;
constexpr int kRefused = 1;   // the server said no (4xx but 404, 5xx, a door command unanswered)
constexpr int kUsage = 2;
constexpr int kNoAnswer = 3;  // no server, connection refused or dropped, timeout
constexpr int kNotFound = 4;  // 404: no such device, person, command...

// Thrown by what the run finds wrong in the user's input (exit kUsage).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Everything the command line can give; one subcommand runs, so they share one object.
struct CtlFlags {
  std::string server, token, config, ca;
  bool insecure = false;  // https:// without checking the certificate (--insecure)
  bool json = false, color = false, no_color = false;
  std::string sn, pin, name, file, status, role, url, secret, events, wait, ids, after;
  std::vector<std::string> cards;
  std::vector<std::int64_t> levels;
  std::int64_t id = 0, limit = 0, max_attempts = 0, after_id = 0;
  int door = 0, seconds = 5, lines = 10;
  bool follow = false, off = false;
};

// The call's context, once flags, environment and config file are read (resolve()).
struct Ctl {
  std::string host;
  std::uint16_t port = 8088;
  bool tls = false;  // an https:// server: the certificate checked against the system's CAs and --ca
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  std::string token;
  bool json = false;
  bool color = false;  // stdout is a terminal and colours are not turned off
  const CtlFlags* flags = nullptr;
};

// Server and token: flags > ZKPUSH_SERVER / ZKPUSH_API_TOKEN > config file > defaults
// (http://127.0.0.1:8088, ./data/api-token); an https:// server is checked against the system's CAs
// and --ca (a private CA), or not at all with --insecure. Throws UsageError.
Ctl resolve(const CtlFlags& flags);

// Runs one subcommand: resolves the settings, runs `body`, turns UsageError into status 2.
void run(const CtlFlags& flags, const std::function<int(const Ctl&)>& body);

// ---- the API ------------------------------------------------------------------------------------------

struct Request {
  std::string method = "GET";
  std::string target;  // "/api/v1/devices?limit=5"
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};
struct Answer {
  int status = 0;  // 0: no answer, `error` says why
  std::string body;
  std::string error;
};

// One exchange on a fresh connection, `timeout` for each step. With `on_body`, a 200 answer's body
// is handed over as it arrives (a stream) until on_body returns false or the connection ends, and
// `idle` bounds the wait for each piece; other answers are read whole.
Answer exchange(const Ctl& c, const Request& r, std::chrono::seconds timeout,
                const std::function<bool(std::string_view)>& on_body = {},
                std::chrono::seconds idle = std::chrono::seconds(0));

// A call checked: the JSON of a 2xx answer (or of `also`, e.g. a door's 504), else nullopt with
// the reason said on stderr and `code` the exit status.
struct Reply {
  int status = 0;
  Json json;
  int code = kOk;
  explicit operator bool() const { return code == kOk; }
};
Reply call(const Ctl& c, const Request& r, int also = 0);
// A refusal said on stderr ("zkpush ctl: 403 <the server's error> (field f)"); its exit status.
int refusal(int status, const std::string& body);

// Calls, checks, prints: --json prints the answer as it came, else `human` prints it. The exit code.
int show(const Ctl& c, const Request& r, const std::function<void(const Json&)>& human);

Request request(std::string method, std::string target, std::string body = {},
                std::string content_type = "application/json");
Request get(std::string target);
Request post(std::string target, const Json& body = Json::object());
Request del(std::string target);

// A path segment or query value, percent-encoded; "?a=1&b=2" from the pairs with a value.
std::string seg(std::string_view s);
std::string seg(std::int64_t n);
std::string query(const std::vector<std::pair<std::string, std::string>>& params);

// ---- human output -------------------------------------------------------------------------------------

// A value as a cell: "-" for null or empty, strings as they are, lists joined by ", ".
std::string text_of(const Json& v);
// Unix seconds as local "YYYY-MM-DD HH:MM:SS", "-" for null.
std::string time_of(const Json& v);

struct Column {
  std::string head;
  std::function<std::string(const Json&)> cell;
};
Column col(std::string head, std::string key);          // the key's value, text_of
Column time_col(std::string head, std::string key);     // the key's unix seconds, time_of
// Rows of `list` under `columns`, padded to the widest cell; `empty` when there are none.
void print_rows(const Json& list, const std::vector<Column>& columns, std::string_view empty);
void print_table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows);
// One object as "key: value" lines; nested objects and lists of objects summarised.
void print_object(const Json& object);

// ANSI colours (docs/ctl.md): used only when c.color.
enum class Colour { none, green, yellow, red, bold_red };
std::string paint(const Ctl& c, Colour colour, const std::string& text);

// ---- the areas (each adds its subcommands under `ctl`) -----------------------------------------------

void add_device_commands(CLI::App& ctl, const std::shared_ptr<CtlFlags>& f);   // ctl_command.cpp
void add_door_commands(CLI::App& ctl, const std::shared_ptr<CtlFlags>& f);     // ctl_command.cpp
void add_person_commands(CLI::App& ctl, const std::shared_ptr<CtlFlags>& f);   // ctl_persons.cpp
void add_event_commands(CLI::App& ctl, const std::shared_ptr<CtlFlags>& f);    // ctl_events.cpp
void add_admin_commands(CLI::App& ctl, const std::shared_ptr<CtlFlags>& f);    // ctl_admin.cpp

// A subcommand of `parent` that runs `body` (with --json etc. falling through to ctl's options).
CLI::App* action(CLI::App& parent, const std::string& name, const std::string& help,
                 const std::shared_ptr<CtlFlags>& f, std::function<int(const Ctl&)> body);
// An area (`devices`, `persons`...) that runs `fallback` (its list) when no subcommand is given.
CLI::App* area(CLI::App& ctl, const std::string& name, const std::string& help, const std::shared_ptr<CtlFlags>& f,
               std::function<int(const Ctl&)> fallback);

}  // namespace zkpush::cli::ctl
