// The emulator against a minimal PUSH server written here from the manual's examples, not against
// our server (src/server): so the emulator is checked against the manual itself, not only tuned to
// the server it was written with. The stand-in answers with the literal bodies of the manual's
// example responses (shared/spec/examples), serves the manual's example commands verbatim, and
// records what the device sent, which is then compared with the manual's example requests.
#include <regex>
#include <set>

#include "emulator/session_harness.hpp"
#include "protocol/codecs_session.hpp"
#include "protocol/command_results.hpp"
#include "protocol/fields.hpp"
#include "protocol/responses.hpp"
#include "server/http/test_server.hpp"
#include "support/spec_fixtures.hpp"

namespace zkpush::emulator {
namespace {

namespace p = protocol;
namespace http = server::http;
using zkpush::testing::Fixture;
using zkpush::testing::load_fixture;

// ---- the manual's examples --------------------------------------------------------------------------

struct ExampleMessage {
  std::string start_line;  // "GET /iclock/cdata?SN=... HTTP/1.1" or "HTTP/1.1 200 OK"
  std::map<std::string, std::string> headers;
  std::string body;
};

// A REQUEST / RESPONSE block: start line, headers, blank line, body (as in the catalogue's README).
ExampleMessage split_message(const std::string& block) {
  ExampleMessage m;
  const auto blank = block.find("\n\n");
  const std::string head = block.substr(0, blank);
  m.body = blank == std::string::npos ? "" : block.substr(blank + 2);
  std::size_t at = 0;
  bool first = true;
  while (at <= head.size()) {
    auto end = head.find('\n', at);
    if (end == std::string::npos) end = head.size();
    const std::string line = head.substr(at, end - at);
    if (first) {
      m.start_line = line;
      first = false;
    } else if (auto colon = line.find(':'); colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      m.headers[line.substr(0, colon)] = value;
    }
    at = end + 1;
  }
  return m;
}

const zkpush::testing::FixtureBlock& block(const Fixture& f, const std::string& kind, std::size_t i = 0) {
  auto blocks = f.blocks_of(kind);
  if (i >= blocks.size()) throw std::runtime_error(f.file + " has no " + kind + " block " + std::to_string(i));
  return *blocks[i];
}
ExampleMessage example(const std::string& file, const std::string& kind, std::size_t i = 0) {
  return split_message(block(load_fixture(file), kind, i).content);
}
std::string example_command(const std::string& file, std::size_t i = 0) {
  return block(load_fixture(file), "COMMAND", i).content;
}
std::string example_result(const std::string& file, std::size_t i = 0) {
  return block(load_fixture(file), "RESULT", i).content;
}
// The target of an example request line ("GET <target> HTTP/1.1").
p::Target example_target(const ExampleMessage& m) {
  const auto first = m.start_line.find(' ');
  const auto last = m.start_line.rfind(' ');
  return p::parse_target(m.start_line.substr(first + 1, last - first - 1));
}
std::vector<std::string> keys_of(const p::Record& r) {
  std::vector<std::string> out;
  for (const auto& f : r.fields) out.push_back(f.key);
  return out;
}
// Keys of the first record of a tab-separated body, after its table word when it has one.
std::vector<std::string> record_keys(std::string body, bool table_word) {
  body = body.substr(0, body.find('\n'));
  if (table_word) body = body.substr(body.find(' ') + 1);
  std::vector<std::string> keys;
  std::size_t at = 0;
  while (at < body.size()) {
    auto end = body.find('\t', at);
    if (end == std::string::npos) end = body.size();
    const std::string field = body.substr(at, end - at);
    keys.push_back(field.substr(0, field.find('=')));
    at = end + 1;
  }
  return keys;
}
// The upload fields of a catalogue table, in wire order (tables.yaml).
std::vector<std::string> upload_fields(const std::string& table) {
  std::vector<std::string> out;
  for (const auto& t : zkpush::testing::load_spec("tables.yaml")["tables"]) {
    if (t["name"].as<std::string>() != table) continue;
    for (const auto& f : t["upload_fields"]) out.push_back(f["name"].as<std::string>());
  }
  return out;
}
// Whether `part` appears in `whole` in the same order (not necessarily adjacent).
bool in_order(const std::vector<std::string>& part, const std::vector<std::string>& whole) {
  std::size_t at = 0;
  for (const auto& w : whole) {
    if (at < part.size() && part[at] == w) ++at;
  }
  return at == part.size();
}
std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}
std::string crlf(const std::string& lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// ---- the stand-in ------------------------------------------------------------------------------------

struct Received {
  std::string method, target, path;
  p::Record query;
  std::string cookie, content_type, range, body;
};

struct Answer {
  int status = 200;
  std::string body;
  std::optional<std::string> content_type;  // nullopt: no Content-Type at all
  std::vector<std::pair<std::string, std::string>> headers;
};

// An HttpServer (our transport, not our router) with a handler that records every request and
// answers it from a script written by the test.
class StandIn {
 public:
  using Script = std::function<Answer(const Received&)>;
  explicit StandIn(Script script)
      : harness_({}, [this, script = std::move(script)](http::test::Harness& h) {
          h.handler.on_handle = [this, script](http::Request request, http::Responder respond) {
            Received r;
            r.method = std::string(request.method_string());
            r.target = std::string(request.target());
            std::string target = r.target;
            // The manual's method-3 download uses an absolute URL as the request target.
            if (target.rfind("http://", 0) == 0) {
              const auto slash = target.find('/', 7);
              target = slash == std::string::npos ? "/" : target.substr(slash);
            }
            auto t = p::parse_target(target);
            r.path = t.path;
            r.query = t.query;
            r.cookie = std::string(request.header("Cookie"));
            r.content_type = std::string(request.header("Content-Type"));
            r.range = std::string(request.header("Range"));
            r.body = request.body();
            Answer a = script(r);
            {
              std::lock_guard lock(mutex_);
              log_.push_back(std::move(r));
            }
            auto response = http::make_response(static_cast<http::Status>(a.status), a.body);
            if (a.content_type) {
              response.set(boost::beast::http::field::content_type, *a.content_type);
            } else {
              response.erase(boost::beast::http::field::content_type);
            }
            for (const auto& [k, v] : a.headers) response.set(k, v);
            respond(std::move(response));
          };
        }) {}

  std::uint16_t port() const { return harness_.port(); }
  std::vector<Received> log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }
  // Requests to `path` (and, when given, with query key=value).
  std::vector<Received> to(const std::string& path, const std::string& key = {}, const std::string& value = {}) const {
    std::vector<Received> out;
    for (auto& r : log()) {
      if (r.path != path) continue;
      if (!key.empty() && r.query.get_or(key, "") != value) continue;
      out.push_back(r);
    }
    return out;
  }
  // Result lines the device posted to devicecmd, by ID.
  std::map<std::string, std::string> results() const {
    std::map<std::string, std::string> out;
    for (const auto& r : to("/iclock/devicecmd")) {
      std::size_t at = 0;
      while (at < r.body.size()) {
        auto end = r.body.find('\n', at);
        if (end == std::string::npos) end = r.body.size();
        std::string line = r.body.substr(at, end - at);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (auto parsed = p::parse_command_result(line)) out[parsed->id] = line;
        at = end + 1;
      }
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Received> log_;
  http::test::Harness harness_;  // last: stopped first, before the log it writes to
};

// Commands served one getrequest answer at a time.
class CommandQueue {
 public:
  void push(std::string text) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(text));
  }
  std::optional<std::string> pop() {
    std::lock_guard lock(mutex_);
    if (queue_.empty()) return std::nullopt;
    auto s = std::move(queue_.front());
    queue_.pop_front();
    return s;
  }

 private:
  std::mutex mutex_;
  std::deque<std::string> queue_;
};

Answer from_example(const ExampleMessage& m) {
  Answer a;
  a.body = m.body;
  if (auto ct = m.headers.find("Content-Type"); ct != m.headers.end()) {
    a.content_type = ct->second;
  } else {
    a.content_type = std::nullopt;
  }
  return a;
}

// A firmware package and the range answers of a server that supports them.
Answer serve_file(const std::string& file, const std::string& range) {
  Answer a;
  a.content_type = "application/octet-stream";
  auto r = range.empty() ? std::nullopt : p::parse_range_header(range);
  if (!r) {
    a.body = file;
    return a;
  }
  const std::uint64_t from = r->from;
  const std::uint64_t to = std::min<std::uint64_t>(r->to.value_or(file.size() - 1), file.size() - 1);
  a.status = 206;
  a.body = file.substr(from, to - from + 1);
  a.headers.emplace_back("Content-Range", p::format_content_range(from, to, file.size()));
  return a;
}

std::string firmware(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + 7) & 0xff);
  return bytes;
}

class StandInServer : public ::testing::Test, protected e2e::SessionHarness {
 protected:
  void TearDown() override { stop_device(); }
  void start_device(std::uint16_t port, const std::string& sn) {
    start_session(ServerAddress{"127.0.0.1", port}, sn, find_profile("inbio460"));
  }
};

// Both result lines name the same command and Return; CMD compared by the verb it names, as the
// manual spells it several ways (decision 13: CMD=DATA, SET_OPTIONS, ...).
void expect_same_result(const std::string& got, const std::string& expected) {
  SCOPED_TRACE("got " + got + ", manual " + expected);
  auto g = p::parse_command_result(got);
  auto e = p::parse_command_result(expected);
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(g->id, e->id);
  EXPECT_EQ(g->return_code, e->return_code);
  auto gv = p::verb_of_result_cmd(g->cmd);
  auto ev = p::verb_of_result_cmd(e->cmd);
  if (gv && ev && e->cmd != "DATA") {
    EXPECT_EQ(*gv, *ev);
  }
  // 7.4 / 9: "ID=..&Return=..&CMD=.." in this order, Return spelt as in the template.
  EXPECT_TRUE(std::regex_match(got, std::regex(R"(ID=\d+&Return=-?\d+&CMD=[A-Za-z_ ]+(&.*)?)")));
}

TEST_F(StandInServer, EmulatorFollowsTheManualsExamples) {
  const std::string sn = "3383154200002";  // the manual's serial number
  const auto init = example("4.1-init.txt", "RESPONSE");
  const auto registry = example("4.4-registration.txt", "RESPONSE");
  const auto push = example("4.5-push-config.txt", "RESPONSE");
  const auto devicecmd = example("7.4-devicecmd.txt", "RESPONSE");
  const auto rtlog = example("7.2-rtlog.txt", "RESPONSE");
  const auto rtstate = example("7.3-rtstate.txt", "RESPONSE");
  const auto count_ok = example("9.1.3-count-user.txt", "RESPONSE");
  const std::string registry_code = p::parse_registry_answer(200, registry.body).registry_code;
  const std::string session_id(p::parse_config_answer(push.body).get_or("SessionID", ""));
  ASSERT_EQ(registry_code, "Uy47fxftP3");
  ASSERT_EQ(session_id, "30BFB04B2C8AECC72C01C03BFD549D15");

  // 9.4.1 method 2, verbatim but for the checksum: the manual's is not an MD5 (ambiguity 21).
  const std::string package = firmware(6558);
  const std::string upgrade = replace(example_command("9.4.1-upgrade-method2.txt"), "oqoier9883kjankdefi894eu",
                                      p::md5_hex(package));

  CommandQueue queue;
  for (const auto& text : {example_command("9.1.1-update-user.txt"), example_command("9.1.3-count-user.txt"),
                           example_command("9.1.4-query-user.txt"), example_command("9.1.2-delete-user.txt"),
                           example_command("9.5.2-get-options.txt", 2), example_command("9.5.1-set-options-door.txt"),
                           split_message(block(load_fixture("8.1-getrequest.txt"), "RESPONSE").content).body,
                           example_command("9.4-control-device-open-door.txt"),
                           example_command("9.4-control-device-cancel-alarm.txt"),
                           example_command("9.2.1-account-pullsdk.txt"), upgrade}) {
    queue.push(text);
  }
  const std::vector<std::string> ids{"295", "288", "415", "335", "336", "337", "410",
                                     "405", "223", "221", "222", "291", "123"};

  StandIn standin([&](const Received& r) -> Answer {
    if (r.path == "/iclock/cdata" && r.method == "GET") return from_example(init);
    if (r.path == "/iclock/registry") return from_example(registry);
    if (r.path == "/iclock/push") return from_example(push);
    if (r.path == "/iclock/getrequest") {
      Answer a = from_example(example("8.1-getrequest.txt", "RESPONSE"));
      a.body = queue.pop().value_or("OK");
      return a;
    }
    if (r.path == "/iclock/devicecmd") return from_example(devicecmd);
    if (r.path == "/iclock/cdata" && r.query.get_or("table", "") == "rtlog") return from_example(rtlog);
    if (r.path == "/iclock/cdata") return from_example(rtstate);
    if (r.path == "/iclock/querydata") {
      const std::string type(r.query.get_or("type", ""));
      if (type == "count" || type == "options") return from_example(count_ok);
      // 9.1.4 / 9.2.1: "<tablename>=<count>".
      Answer a = from_example(count_ok);
      a.body = p::format_table_ack(r.query.get_or("tablename", ""), r.query.get_int("count").value_or(0));
      return a;
    }
    if (r.path == "/iclock/file") return serve_file(package, "");
    return Answer{404, "not found", "text/plain", {}};
  });

  start_device(standin.port(), sn);
  // Two more users so that the manual's query example (three users) has its three records.
  on_device([&] {
    session_->model().put("user", p::Record{{"CardNo", ""}, {"Pin", "2"}, {"Password", "1"}, {"Group", "1"}});
    session_->model().put("user", p::Record{{"CardNo", ""}, {"Pin", "3"}, {"Password", ""}, {"Group", "1"}});
  });
  ASSERT_TRUE(eventually([&] { return standin.results().size() >= ids.size(); }))
      << standin.results().size() << " results; " << device_error();
  // The door events of CONTROL DEVICE reach the stand-in too.
  on_device([&] { session_->wake(); });
  ASSERT_TRUE(eventually([&] { return standin.to("/iclock/cdata", "table", "rtlog").size() >= 1; }));
  const auto results = standin.results();

  // ---- the handshake: request lines and query parameters as in 4.1, 4.4, 4.5 ----
  const auto log = standin.log();
  ASSERT_GE(log.size(), 3u);
  const auto init_example = example_target(example("4.1-init.txt", "REQUEST"));
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].path, init_example.path);
  EXPECT_EQ(keys_of(log[0].query), keys_of(init_example.query)) << log[0].target;
  EXPECT_EQ(log[0].query.get_or("SN", ""), sn);
  EXPECT_EQ(log[0].query.get_or("options", ""), "all");
  EXPECT_EQ(log[1].method, "POST");
  EXPECT_EQ(log[1].path, "/iclock/registry");
  EXPECT_EQ(keys_of(log[1].query), keys_of(example_target(example("4.4-registration.txt", "REQUEST")).query));
  // 4.4 body: one comma list of key=value, keys first to last as the example has them.
  const auto reg_body = p::parse_comma_list(log[1].body);
  const auto example_reg = p::parse_comma_list(example("4.4-registration.txt", "REQUEST").body);
  EXPECT_EQ(log[1].body.find_first_of("\t\n"), std::string::npos);
  EXPECT_EQ(reg_body.fields.front().key, example_reg.fields.front().key);
  for (const auto& key : {"DeviceType", "~DeviceName", "FirmVer", "PushVersion", "MaxPackageSize", "LockCount"}) {
    EXPECT_TRUE(reg_body.has(key)) << key;
  }
  EXPECT_EQ(log[2].path, "/iclock/push");
  EXPECT_EQ(log[2].method, example("4.5-push-config.txt", "REQUEST").start_line.substr(0, 4));

  // ---- the token: MD5 of RegistryCode + SN + SessionID the stand-in chose (4.5, ambiguity 5) ----
  const std::string token = "token=" + p::md5_hex(registry_code + sn + session_id);
  for (std::size_t i = 3; i < log.size(); ++i) {
    EXPECT_EQ(log[i].cookie, token) << log[i].method << " " << log[i].target;
  }

  // ---- getrequest and devicecmd as in 8.1 and 7.4 ----
  auto polls = standin.to("/iclock/getrequest");
  ASSERT_FALSE(polls.empty());
  EXPECT_EQ(polls[0].method, "GET");
  EXPECT_EQ(keys_of(polls[0].query), keys_of(example_target(example("8.1-getrequest.txt", "REQUEST")).query));
  auto posted = standin.to("/iclock/devicecmd");
  ASSERT_FALSE(posted.empty());
  EXPECT_EQ(posted[0].method, "POST");
  EXPECT_EQ(keys_of(posted[0].query), keys_of(example_target(example("7.4-devicecmd.txt", "REQUEST")).query));

  // ---- every command ran with the manual's documented result ----
  for (const auto& id : ids) EXPECT_EQ(results.count(id), 1u) << "no result for " << id;
  if (results.size() < ids.size()) return;
  expect_same_result(results.at("295"), example_result("9.1.1-update-user.txt"));
  expect_same_result(results.at("288"), example_result("9.1.3-count-user.txt"));
  expect_same_result(results.at("415"), example_result("9.1.4-query-user.txt"));
  {
    const std::string three = example_result("9.1.2-delete-user.txt");
    expect_same_result(results.at("335"), three.substr(0, three.find('\n')));
    expect_same_result(results.at("336"), three.substr(three.find('\n') + 1, three.rfind('\n') - three.find('\n') - 1));
    expect_same_result(results.at("337"), three.substr(three.rfind('\n') + 1));
  }
  expect_same_result(results.at("405"), example_result("9.5.1-set-options-door.txt"));
  expect_same_result(results.at("221"), example_result("9.4-control-device-open-door.txt"));
  expect_same_result(results.at("222"), example_result("9.4-control-device-cancel-alarm.txt"));
  expect_same_result(results.at("410"), "ID=410&Return=0&CMD=GET OPTIONS");  // 9.5.2 template
  expect_same_result(results.at("223"), "ID=223&Return=0&CMD=SET OPTIONS");
  // 9.4.1: the manual prints ID=384 for the method 2 result (a copy slip); the ID is the command's.
  expect_same_result(results.at("123"), replace(example_result("9.4.1-upgrade-method2.txt"), "384", "123"));

  // What the commands did to the device.
  on_device([&] {
    const auto& m = session_->model();
    EXPECT_EQ(m.find("user", "Pin", "1"), nullptr);  // updated by 295, deleted by 337
    EXPECT_EQ(m.rows("user").size(), 2u);
    EXPECT_EQ(m.option("Door1Drivertime").value_or(""), "5");
    EXPECT_EQ(m.option("IPAddress").value_or(""), "192.168.213.222");
    EXPECT_EQ(m.option("NetMask").value_or(""), "255.255.255");
  });

  // ---- querydata uploads as in 9.1.3, 9.1.4, 9.5.2, 9.2.1 ----
  auto count = standin.to("/iclock/querydata", "cmdid", "288");
  ASSERT_EQ(count.size(), 1u);
  const auto count_example = example("9.1.3-count-user.txt", "REQUEST");
  EXPECT_EQ(keys_of(count[0].query), keys_of(example_target(count_example).query)) << count[0].target;
  EXPECT_EQ(count[0].query.get_or("type", ""), "count");
  EXPECT_EQ(count[0].query.get_or("tablename", ""), "user");
  EXPECT_EQ(count[0].body, "user=3");  // the example's "user=5" with this device's three users

  auto query = standin.to("/iclock/querydata", "cmdid", "415");
  ASSERT_EQ(query.size(), 1u);
  const auto query_example = example("9.1.4-query-user.txt", "REQUEST");
  EXPECT_EQ(keys_of(query[0].query), keys_of(example_target(query_example).query)) << query[0].target;
  EXPECT_EQ(query[0].query.get_or("count", ""), "3");
  EXPECT_EQ(record_keys(query[0].body, true), record_keys(query_example.body, true)) << query[0].body;
  EXPECT_EQ(query[0].body.substr(0, 5), "user ");
  EXPECT_EQ(std::count(query[0].body.begin(), query[0].body.end(), '\n') >= 2, true) << query[0].body;

  auto options = standin.to("/iclock/querydata", "cmdid", "410");
  ASSERT_EQ(options.size(), 1u);
  EXPECT_EQ(keys_of(options[0].query), keys_of(example_target(example("9.5.2-get-options.txt", "REQUEST")).query));
  const auto values = p::parse_comma_list(options[0].body);
  EXPECT_EQ(values.get_or("FingerFunOn", ""), "1") << options[0].body;
  EXPECT_EQ(values.get_or("FvFunOn", ""), "0");
  EXPECT_EQ(values.get_or("FaceFunOn", ""), "0");

  auto account = standin.to("/iclock/querydata", "cmdid", "291");
  ASSERT_EQ(account.size(), 1u);
  const auto account_example = example_target(example("9.2.1-account-pullsdk.txt", "REQUEST"));
  for (const auto& key : keys_of(account_example.query)) EXPECT_TRUE(account[0].query.has(key)) << key;
  EXPECT_EQ(account[0].query.get_or("tablename", ""), "transaction");
  EXPECT_EQ(account[0].query.get_or("datafmt", ""), "3");
  // 9.2.1: "ID=291&Return=N&CMD=ACCOUNT&transaction&StartTime=&EndTime=&RecordSum=N".
  const std::string n(account[0].query.get_or("count", "?"));
  std::string expected = example_result("9.2.1-account-pullsdk.txt");
  expected = replace(replace(expected, "Return=41", "Return=" + n), "RecordSum=41", "RecordSum=" + n);
  EXPECT_EQ(results.at("291"), expected);

  // ---- the download of 9.4.1 method 2 ----
  auto file = standin.to("/iclock/file");
  ASSERT_EQ(file.size(), 1u);
  EXPECT_EQ(file[0].method, "GET");
  const auto file_example = example_target(example("9.4.1-upgrade-method2.txt", "REQUEST"));
  EXPECT_EQ(keys_of(file[0].query), keys_of(file_example.query));
  EXPECT_EQ(file[0].query.get_or("url", ""), file_example.query.get_or("url", "-"));

  // ---- rtlog and rtstate bodies as in 7.2 and 7.3: tab-separated key=value in the same order ----
  auto logs = standin.to("/iclock/cdata", "table", "rtlog");
  ASSERT_FALSE(logs.empty());
  EXPECT_EQ(logs[0].method, "POST");
  // The example has 8 of the template's fields (ambiguity 35): ours are the template's, in its
  // order, and include every field of the example.
  const auto rtlog_keys = record_keys(logs[0].body, false);
  EXPECT_TRUE(in_order(rtlog_keys, upload_fields("rtlog"))) << logs[0].body;
  EXPECT_TRUE(in_order(record_keys(example("7.2-rtlog.txt", "REQUEST").body, false), rtlog_keys)) << logs[0].body;
  auto states = standin.to("/iclock/cdata", "table", "rtstate");
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(record_keys(states[0].body, false), record_keys(example("7.3-rtstate.txt", "REQUEST").body, false))
      << states[0].body;
  EXPECT_EQ(record_keys(states[0].body, false), upload_fields("rtstate"));
  for (const auto& r : standin.log()) {
    if (r.method == "POST" && !r.body.empty()) {
      EXPECT_EQ(r.content_type.rfind("application/push", 0), 0u) << r.target << ": " << r.content_type;
    }
  }
}

// The manual's other spellings of the same answers: CRLF line ends, no or other Content-Types, a
// minimal configuration, several commands in one answer, and a method-3 download with Range.
TEST_F(StandInServer, EmulatorAcceptsTheManualsAlternativeForms) {
  const std::string sn = "AJI6181160001";  // the 4.6 example's serial number
  const std::string registry_code = "Alt42";
  const std::string session_id = "ALTSESSION0001";
  const std::string package = firmware(6558);
  CommandQueue queue;
  // 9.1.2's three commands in one answer, CRLF-separated, then two commands with the manual's
  // spacing variants (ambiguity 17), then 9.4.1 method 3 pointed at the stand-in.
  queue.push(crlf(example_command("9.1.1-update-user.txt")) + "\r\n" + crlf(example_command("9.1.2-delete-user.txt")));
  queue.push("C:500: CONTROL DEVICE 01010105\nC:501:DATA    UPDATE user CardNo=\tPin=4\tName=Four\n");
  std::uint16_t port = 0;
  StandIn standin([&](const Received& r) -> Answer {
    if (r.path == "/iclock/cdata" && r.method == "GET") return Answer{200, "OK", std::nullopt, {}};
    // A registry answer with only its required key and a line end after it.
    if (r.path == "/iclock/registry") return Answer{200, "RegistryCode=" + registry_code + "\r\n", "text/plain", {}};
    // Only what the device cannot do without, CRLF line ends.
    if (r.path == "/iclock/push") {
      return Answer{200, "SessionID=" + session_id + "\r\nRequestDelay=1\r\n", "application/push;charset=UTF-8", {}};
    }
    if (r.path == "/iclock/getrequest") {
      return Answer{200, queue.pop().value_or("OK"), "text/plain;charset=UTF-8", {}};
    }
    if (r.path == "/data/emfw.cfg") return serve_file(package, r.range);
    return Answer{200, "OK", std::nullopt, {}};
  });
  port = standin.port();
  queue.push(replace(replace(example_command("9.4.1-upgrade-method3.txt"), "oqoier9883kjankdefi894eu",
                             p::md5_hex(package)),
                     "192.168.0.13:89", "127.0.0.1:" + std::to_string(port)));

  start_device(port, sn);
  const std::vector<std::string> ids{"295", "335", "336", "337", "500", "501", "123"};
  ASSERT_TRUE(eventually([&] { return standin.results().size() >= ids.size(); }))
      << standin.results().size() << " results; " << device_error();
  const auto results = standin.results();
  for (const auto& id : ids) {
    ASSERT_EQ(results.count(id), 1u) << id;
    auto parsed = p::parse_command_result(results.at(id));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->return_code, 0) << results.at(id);
  }
  EXPECT_TRUE(device_online());
  // The token from the code and session of these answers.
  const std::string token = "token=" + p::md5_hex(registry_code + sn + session_id);
  for (const auto& r : standin.to("/iclock/devicecmd")) EXPECT_EQ(r.cookie, token);
  // Method 3 (9.4.1): the URL's path (the manual prints the absolute form; origin form is what
  // HTTP/1.1 sends to a server that is not a proxy), one 1 MiB range covering the package.
  auto ranges = standin.to("/data/emfw.cfg");
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].method, "GET");
  EXPECT_EQ(ranges[0].target, "/data/emfw.cfg");
  EXPECT_EQ(ranges[0].range, "bytes=0-6557");
  on_device([&] {
    const auto& m = session_->model();
    EXPECT_EQ(m.find("user", "Pin", "1"), nullptr);
    ASSERT_NE(m.find("user", "Pin", "4"), nullptr);
    EXPECT_EQ(m.find("user", "Pin", "4")->get_or("Name", ""), "Four");
    EXPECT_TRUE(m.door(1).relay_open);
  });
}

}  // namespace
}  // namespace zkpush::emulator
