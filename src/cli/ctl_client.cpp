// zkpush ctl's plumbing: where the server and the token come from, one HTTP exchange (Beast, any
// method, the body read piece by piece so that the event stream can be followed), the checks every
// call shares, and the human output.
#include <unistd.h>

#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include "cli/commands.hpp"
#include "cli/ctl.hpp"
#include "emulator/http_client.hpp"
#include "protocol/text.hpp"

namespace zkpush::cli::ctl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
namespace text = protocol::text;
using asio::ip::tcp;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string first_line_of(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return std::string(text::trim(line));
}

// What the config file sets; empty strings when it does not.
struct FileSettings {
  std::string server, token;
};

// The config file: --config, else ZKPUSH_CTL_CONFIG (both must exist), else
// $XDG_CONFIG_HOME/zkpush/ctl.toml or ~/.config/zkpush/ctl.toml when there is one.
std::optional<fs::path> config_path(const CtlFlags& f) {
  std::string given = f.config.empty() ? env("ZKPUSH_CTL_CONFIG") : f.config;
  if (!given.empty()) {
    if (!fs::is_regular_file(given)) throw UsageError("config file " + given + ": not found");
    return fs::path(given);
  }
  const std::string xdg = env("XDG_CONFIG_HOME"), home = env("HOME");
  const fs::path base = !xdg.empty() ? fs::path(xdg) : !home.empty() ? fs::path(home) / ".config" : fs::path();
  if (base.empty()) return std::nullopt;
  auto path = base / "zkpush" / "ctl.toml";
  std::error_code ec;
  return fs::is_regular_file(path, ec) ? std::optional(path) : std::nullopt;
}

// server, token and token_file (a path relative to the file's folder), at the top or under [ctl],
// read with CLI11's TOML reader as `serve --config` does; anything else is refused by name, so a
// typo is not silently ignored.
FileSettings read_config(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("config file " + path.string() + ": cannot read");
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_config(in);
  } catch (const CLI::Error& e) {
    throw UsageError("config file " + path.string() + ": " + e.what());
  }
  FileSettings s;
  std::string token_file;
  for (const auto& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    const std::string where = "config file " + path.string() + ": " + item.fullname();
    if (!item.parents.empty() && !(item.parents.size() == 1 && item.parents.front() == "ctl"))
      throw UsageError(where + ": unknown section (settings go at the top or under [ctl])");
    if (item.inputs.size() != 1) throw UsageError(where + ": one string expected");
    std::string* target = item.name == "server" ? &s.server : item.name == "token" ? &s.token
                        : item.name == "token_file" ? &token_file : nullptr;
    if (target == nullptr) throw UsageError(where + ": unknown setting (server, token, token_file)");
    *target = std::string(text::trim(item.inputs.front()));
  }
  if (!token_file.empty()) {
    if (!s.token.empty()) throw UsageError("config file " + path.string() + ": token and token_file both set");
    const fs::path file = fs::path(token_file).is_absolute() ? fs::path(token_file) : path.parent_path() / token_file;
    if (!fs::is_regular_file(file)) throw UsageError("config file " + path.string() + ": token_file " + file.string() + ": not found");
    s.token = first_line_of(file);
  }
  return s;
}

bool colour_wanted(const CtlFlags& f) {
  if (f.no_color) return false;
  if (f.color) return true;
  if (!env("NO_COLOR").empty()) return false;  // https://no-color.org: set and not empty
  return ::isatty(STDOUT_FILENO) == 1;
}

// Why an exchange got no answer: "connect to host:port: Connection refused".
Answer no_answer(const std::string& step, const beast::error_code& ec) {
  Answer a;
  a.error = step + ": " + (ec == beast::error::timeout ? std::string("timed out") : ec.message());
  return a;
}

http::request<http::string_body> http_request(const Ctl& c, const Request& r) {
  http::request<http::string_body> req{http::string_to_verb(r.method), r.target, 11};
  req.set(http::field::host, c.host + ":" + std::to_string(c.port));
  req.set(http::field::user_agent, "zkpush-ctl");
  req.set(http::field::authorization, "Bearer " + c.token);
  for (const auto& [name, value] : r.headers) req.set(name, value);
  if (!r.body.empty()) req.set(http::field::content_type, r.content_type);
  req.body() = r.body;
  req.prepare_payload();
  return req;
}

// g++ 12 at -O2 takes the coroutine frame's release by Asio's recycling allocator for a mismatched
// delete (a false positive: the frame's operator new and delete are the same class's pair); clang
// builds the same code silently.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
// The request and its answer on `io` (the TCP stream itself, or TLS over it); `tcp` carries the
// deadlines.
template <class Stream>
asio::awaitable<Answer> talk(Stream& io, beast::tcp_stream& tcp, const Ctl& c, const Request& r, std::chrono::seconds timeout,
                             const std::function<bool(std::string_view)>& on_body, std::chrono::seconds idle) {
  beast::error_code ec;
  auto req = http_request(c, r);
  tcp.expires_after(timeout);
  co_await http::async_write(io, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return no_answer("send", ec);

  // buffer_body: each read_some hands over what arrived, so a stream's events come one by one.
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  co_await http::async_read_header(io, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return no_answer("read", ec);
  Answer answer;
  answer.status = static_cast<int>(parser.get().result_int());
  const bool streaming = on_body && answer.status == 200;
  std::vector<char> piece(16384);
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    tcp.expires_after(streaming && idle.count() > 0 ? idle : timeout);
    co_await http::async_read_some(io, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return no_answer(streaming ? "stream" : "read", ec);
    const std::string_view got(piece.data(), piece.size() - parser.get().body().size);
    if (!streaming) answer.body.append(got);
    else if (!got.empty() && !on_body(got)) break;
  }
  co_return answer;
}

// A coroutine keeps its parameters by value: references could dangle across its suspensions.
// cppcheck-suppress passedByValue
asio::awaitable<Answer> run_exchange(Ctl c, Request r, std::chrono::seconds timeout,
                                     std::function<bool(std::string_view)> on_body, std::chrono::seconds idle) {
  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  beast::error_code ec;
  tcp::resolver resolver(executor);
  auto addresses = co_await resolver.async_resolve(c.host, std::to_string(c.port), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return no_answer("resolve " + c.host, ec);
  stream.expires_after(timeout);
  co_await stream.async_connect(addresses, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return no_answer("connect to " + c.host + ":" + std::to_string(c.port), ec);
  if (!c.tls) co_return co_await talk(stream, stream, c, r, timeout, on_body, idle);
  // TLS over the same tcp_stream, whose deadlines then bound the handshake, reads and writes.
  asio::ssl::stream<beast::tcp_stream&> tls(stream, *c.tls_context);
  emulator::expect_tls_peer(tls.native_handle(), c.host);
  stream.expires_after(timeout);
  co_await tls.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return no_answer("TLS handshake with " + c.host + ":" + std::to_string(c.port), ec);
  co_return co_await talk(tls, stream, c, r, timeout, on_body, idle);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace

Ctl resolve(const CtlFlags& f) {
  Ctl c;
  c.flags = &f;
  c.json = f.json;
  c.color = colour_wanted(f);
  FileSettings file;
  if (auto path = config_path(f)) file = read_config(*path);
  std::string server = !f.server.empty() ? f.server : !env("ZKPUSH_SERVER").empty() ? env("ZKPUSH_SERVER") : file.server;
  if (server.empty()) server = "http://127.0.0.1:8088";
  auto address = emulator::parse_server_url(server);
  if (!address) throw UsageError("server: not an http://host:port or https://host:port URL: " + server);
  c.host = address->host;
  c.port = address->port;
  c.tls = address->tls;
  if (c.tls) {
    try {
      c.tls_context = emulator::make_client_tls_context(f.ca, f.insecure);
    } catch (const std::runtime_error& e) {
      throw UsageError(std::string("--ca: ") + e.what());
    }
  } else if (!f.ca.empty() || f.insecure) {
    throw UsageError("--ca and --insecure are for an https:// server; the server is " + server);
  }
  c.token = !f.token.empty() ? f.token : !env("ZKPUSH_API_TOKEN").empty() ? env("ZKPUSH_API_TOKEN") : file.token;
  if (c.token.empty()) c.token = first_line_of("data/api-token");
  if (c.token.empty())
    throw UsageError("no API token: give --token, ZKPUSH_API_TOKEN or a config file (docs/ctl.md), "
                     "or run it where `zkpush serve` keeps data/api-token");
  return c;
}

void run(const CtlFlags& flags, const std::function<int(const Ctl&)>& body) {
  try {
    set_exit_code(body(resolve(flags)));
  } catch (const UsageError& e) {
    std::cerr << "zkpush ctl: " << e.what() << "\n";
    set_exit_code(kUsage);
  }
}

Answer exchange(const Ctl& c, const Request& r, std::chrono::seconds timeout,
                const std::function<bool(std::string_view)>& on_body, std::chrono::seconds idle) {
  asio::io_context io;
  auto future = asio::co_spawn(io, run_exchange(c, r, timeout, on_body, idle), asio::use_future);
  io.run();
  return future.get();
}

int refusal(int status, const std::string& body) {
  const auto j = Json::parse(body, nullptr, false);
  const bool has_error = j.is_object() && j.contains("error") && j["error"].is_string();
  std::string why = has_error ? j["error"].get<std::string>() : std::string(text::trim(body));
  if (has_error && j.contains("field") && j["field"].is_string() && !j["field"].get<std::string>().empty())
    why += " (field " + j["field"].get<std::string>() + ")";
  std::cerr << "zkpush ctl: " << status << " " << why << "\n";
  return status == 404 ? kNotFound : kRefused;
}

Reply call(const Ctl& c, const Request& r, int also) {
  // The longest call waits 60 s for a door (?wait=); a little more so the server answers first.
  const auto a = exchange(c, r, std::chrono::seconds(75));
  Reply reply;
  reply.status = a.status;
  if (a.status == 0) {
    std::cerr << "zkpush ctl: no answer from " << c.host << ":" << c.port << ": " << a.error << "\n";
    reply.code = kNoAnswer;
    return reply;
  }
  reply.json = Json::parse(a.body, nullptr, false);
  if ((a.status < 200 || a.status >= 300) && a.status != also) {
    reply.code = refusal(a.status, a.body);
    return reply;
  }
  if (reply.json.is_discarded()) {
    std::cerr << "zkpush ctl: " << a.status << " but the answer is not JSON\n";
    reply.code = kRefused;
  }
  return reply;
}

int show(const Ctl& c, const Request& r, const std::function<void(const Json&)>& human) {
  auto reply = call(c, r);
  if (!reply) return reply.code;
  if (c.json) std::cout << reply.json.dump(2) << "\n";
  else human(reply.json);
  return kOk;
}

Request request(std::string method, std::string target, std::string body, std::string content_type) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}
Request get(std::string target) { return request("GET", std::move(target)); }
Request post(std::string target, const Json& body) { return request("POST", std::move(target), body.dump()); }
Request del(std::string target) { return request("DELETE", std::move(target)); }

std::string seg(std::string_view s) { return text::percent_encode(s); }
std::string seg(std::int64_t n) { return std::to_string(n); }

std::string query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string q;
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    q += (q.empty() ? "?" : "&") + name + "=" + text::percent_encode(value);
  }
  return q;
}

std::string text_of(const Json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v) out += (out.empty() ? "" : ", ") + text_of(item);
    return out.empty() ? "-" : out;
  }
  return v.dump();
}

std::string time_of(const Json& v) {
  if (!v.is_number_integer()) return text_of(v);
  const std::time_t t = v.get<std::int64_t>();
  std::tm local{};
  ::localtime_r(&t, &local);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S", &local);
  return out;
}

Column col(std::string head, std::string key) {
  return {std::move(head), [key = std::move(key)](const Json& row) { return text_of(row.value(key, Json())); }};
}
Column time_col(std::string head, std::string key) {
  return {std::move(head), [key = std::move(key)](const Json& row) { return time_of(row.value(key, Json())); }};
}

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

void print_rows(const Json& list, const std::vector<Column>& columns, std::string_view empty) {
  if (!list.is_array() || list.empty()) {
    std::cout << empty << "\n";
    return;
  }
  std::vector<std::string> head;
  head.reserve(columns.size());
  for (const auto& c : columns) head.push_back(c.head);
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : list) {
    auto& row = rows.emplace_back();
    for (const auto& c : columns) row.push_back(c.cell(item));
  }
  print_table(head, rows);
}

void print_object(const Json& object) {
  if (!object.is_object()) {
    std::cout << text_of(object) << "\n";
    return;
  }
  std::size_t width = 0;
  for (const auto& item : object.items()) width = std::max(width, item.key().size());
  for (const auto& item : object.items()) {
    const auto& v = item.value();
    std::string value;
    const bool flat = v.is_array() && std::none_of(v.begin(), v.end(), [](const Json& e) { return e.is_structured(); });
    if (v.is_structured() && !v.empty() && !flat) {
      value = std::to_string(v.size()) + (v.size() == 1 ? " entry" : " entries") + " (--json shows them)";
    } else {
      value = item.key().size() > 3 && item.key().ends_with("_at") ? time_of(v) : text_of(v);
    }
    std::cout << item.key() << ":" << std::string(width - item.key().size() + 1, ' ') << value << "\n";
  }
}

std::string paint(const Ctl& c, Colour colour, const std::string& text) {
  if (!c.color || colour == Colour::none) return text;
  const char* code = colour == Colour::green ? "32" : colour == Colour::yellow ? "33" : colour == Colour::red ? "31" : "1;31";
  return std::string("\033[") + code + "m" + text + "\033[0m";
}

CLI::App* action(CLI::App& parent, const std::string& name, const std::string& help,
                 const std::shared_ptr<CtlFlags>& f, std::function<int(const Ctl&)> body) {
  auto* sub = parent.add_subcommand(name, help);
  sub->fallthrough();  // `ctl devices list --json` as well as `ctl --json devices list`
  sub->callback([f, body = std::move(body)] { run(*f, body); });
  return sub;
}

CLI::App* area(CLI::App& ctl, const std::string& name, const std::string& help, const std::shared_ptr<CtlFlags>& f,
               std::function<int(const Ctl&)> fallback) {
  auto* sub = ctl.add_subcommand(name, help);
  sub->fallthrough();
  // A parent's callback runs after its subcommand's: only the area alone runs its list.
  sub->callback([sub, f, fallback = std::move(fallback)] {
    if (sub->get_subcommands().empty()) run(*f, fallback);
  });
  return sub;
}

}  // namespace zkpush::cli::ctl
