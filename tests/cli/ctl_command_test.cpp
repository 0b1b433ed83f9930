// `zkpush ctl` against a real server (the App in this process, real sockets and SQLite), run as the
// binary a user runs: every area as a table and as JSON, a door opened and waited for, a CSV import
// with a bad row, events followed while a device uploads them, tokens, webhooks, the config file,
// colours, and the exit statuses (0 done, 1 refused, 2 bad arguments, 3 no server, 4 not found).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "cli/run_zkpush.hpp"
#include "server/serve_fixture.hpp"
#include "support/test_certificates.hpp"

namespace zkpush::server {
namespace {

using e2e::ServeFixture;
namespace p = protocol;

const std::string kToken = "ctl-test-token-secret";

class CtlCommand : public ServeFixture {
 protected:
  void SetUp() override {
    ServeFixture::SetUp();
    ServerConfig config;
    config.api_token = kToken;
    start(config);
    server_ = "http://127.0.0.1:" + std::to_string(app_->port());
  }
  std::pair<int, std::string> ctl(const std::string& args, const std::string& token = kToken, bool with_stderr = false) {
    return cli_test::run_zkpush("ctl --server " + server_ + " --token " + token + " " + args, with_stderr);
  }
  nlohmann::json ctl_json(const std::string& args, const std::string& token = kToken) {
    auto [status, out] = ctl(args + " --json", token);
    EXPECT_EQ(status, 0) << args << ": " << out;
    auto j = nlohmann::json::parse(out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << args << ": " << out;
    return j;
  }
  // An access event as the panel's rtlog carries it (Appendix 2 code `event`).
  static p::Record event_record(int index, const std::string& time, const std::string& pin, int event) {
    return p::Record{{"time", time},    {"pin", pin},           {"cardno", "0"},     {"eventaddr", "1"},
                     {"event", std::to_string(event)}, {"inoutstatus", "0"}, {"verifytype", "1"}, {"index", std::to_string(index)}};
  }
  void upload(const std::string& sn, const std::string& token, const std::vector<p::Record>& records) {
    EXPECT_EQ(send(p::format_rtlog_upload(sn, records), token).status, 200);
  }
  std::string server_;
};

// `zkpush ctl <args>` left running (events tail -f): its standard output read line by line, with a
// deadline, then stopped with SIGTERM.
class RunningCtl {
 public:
  explicit RunningCtl(const std::string& args) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      const std::string cmd = "exec " + std::string(ZKPUSH_BINARY) + " " + args + " 2>/dev/null";
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~RunningCtl() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  // The next line, or "" when none came within `wait`.
  std::string line(std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (pending_.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{out_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
      char buffer[4096];
      const auto n = ::read(out_, buffer, sizeof buffer);
      if (n <= 0) return {};
      pending_.append(buffer, static_cast<std::size_t>(n));
    }
    const auto end = pending_.find('\n');
    std::string first = pending_.substr(0, end);
    pending_.erase(0, end + 1);
    return first;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string pending_;
};

TEST_F(CtlCommand, DevicesAsJsonAndAsATable) {
  const std::string token = handshake("CTLTEST01");
  (void)token;
  auto [status, out] = ctl("devices --json");
  ASSERT_EQ(status, 0) << out;
  auto list = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(list.is_array()) << out;
  ASSERT_EQ(list.size(), 1u) << out;
  EXPECT_EQ(list[0]["sn"], "CTLTEST01");
  // The same with --json before the subcommand.
  EXPECT_EQ(nlohmann::json::parse(ctl("--json devices").second, nullptr, false), list);

  auto [table_status, table] = ctl("devices");
  EXPECT_EQ(table_status, 0) << table;
  EXPECT_EQ(table.rfind("SN ", 0), 0u) << table;
  EXPECT_NE(table.find("CTLTEST01"), std::string::npos) << table;
  EXPECT_NE(table.find("online"), std::string::npos) << table;

  // Refused (wrong token): 1 and the server's reason; no server: 3; a line CLI11 cannot read: 2.
  auto [refused, why] = ctl("devices", "not-the-token", true);
  EXPECT_EQ(refused, 1) << why;
  EXPECT_NE(why.find("401"), std::string::npos) << why;
  auto [nobody, said] = cli_test::run_zkpush("ctl --server http://127.0.0.1:1 --token x devices", true);
  EXPECT_EQ(nobody, 3) << said;
  EXPECT_NE(said.find("no answer"), std::string::npos) << said;
  EXPECT_EQ(ctl("devices show").first, 2);
  EXPECT_EQ(ctl("devices frobnicate").first, 2);
}

TEST_F(CtlCommand, DeviceShowStateApproveRejectDelete) {
  const std::string sn = "CTLDEV01";
  handshake(sn);
  auto device = ctl_json("devices show " + sn);
  EXPECT_EQ(device["sn"], sn);
  EXPECT_EQ(device["approved"], true);
  auto [shown, table] = ctl("devices show " + sn);
  EXPECT_EQ(shown, 0);
  EXPECT_NE(table.find("sn:"), std::string::npos) << table;
  EXPECT_NE(table.find("firmware:"), std::string::npos) << table;
  EXPECT_NE(table.find("AC Ver 5.7.8.3033"), std::string::npos) << table;

  EXPECT_EQ(ctl_json("devices state " + sn)["doors"], nlohmann::json::array());
  EXPECT_NE(ctl("devices state " + sn).second.find("no door state reported yet"), std::string::npos);

  auto [approved, said] = ctl("devices approve " + sn);
  EXPECT_EQ(approved, 0) << said;
  EXPECT_EQ(said, "device " + sn + " approved\n");
  // Reject is for devices waiting for approval: the server refuses (409), status 1.
  auto [rejected, why] = ctl("devices reject " + sn, kToken, true);
  EXPECT_EQ(rejected, 1) << why;
  EXPECT_NE(why.find("409"), std::string::npos) << why;

  auto [deleted, gone] = ctl("devices delete " + sn);
  EXPECT_EQ(deleted, 0) << gone;
  EXPECT_NE(gone.find("deleted"), std::string::npos) << gone;
  // Unknown now: 4, and the server's reason on stderr.
  auto [unknown, reason] = ctl("devices show " + sn, kToken, true);
  EXPECT_EQ(unknown, 4) << reason;
  EXPECT_NE(reason.find("404"), std::string::npos) << reason;
  EXPECT_EQ(ctl("devices state NOSUCHSN").first, 4);
}

TEST_F(CtlCommand, ADoorOpenedAndItsAnswerWaitedFor) {
  const std::string sn = "CTLTEST02";
  const std::string token = handshake(sn);
  std::thread device([&] { EXPECT_TRUE(answer_next_command(sn, token, 0)); });
  auto [status, out] = ctl("doors open " + sn + " 2 --seconds 9 --wait 5s");
  device.join();
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("door 2 of CTLTEST02: done, Return 0"), std::string::npos) << out;
  // Nobody answers: exit 1 after the wait.
  auto [late, said] = ctl("doors open " + sn + " 1 --wait 1s");
  EXPECT_EQ(late, 1) << said;
  EXPECT_NE(said.find("no answer within 1s"), std::string::npos) << said;
  // Out of range: refused by the command line itself.
  EXPECT_EQ(ctl("doors open " + sn + " 17").first, 2);
}

TEST_F(CtlCommand, DoorActionsAndTheCommandQueue) {
  const std::string sn = "CTLDOOR1";
  const std::string token = handshake(sn);
  std::thread device([&] { EXPECT_TRUE(answer_next_command(sn, token, 0)); });
  auto locked = ctl_json("doors lock " + sn + " 1 --wait 5s");
  device.join();
  EXPECT_EQ(locked["status"], "done") << locked;
  EXPECT_EQ(locked["line"], "CONTROL DEVICE 06010100") << locked;

  // Without --wait: queued, and listed as open by `commands`.
  auto [queued, said] = ctl("doors normal-open " + sn + " 2 --off");
  EXPECT_EQ(queued, 0) << said;
  EXPECT_NE(said.find("door 2 of CTLDOOR1: normal open off queued (command "), std::string::npos) << said;
  auto open = ctl_json("commands list --sn " + sn + " --status open");
  ASSERT_EQ(open.size(), 1u) << open;
  EXPECT_EQ(open[0]["line"], "CONTROL DEVICE 04020000") << open;
  const std::string id = std::to_string(open[0]["id"].get<std::int64_t>());
  auto [listed, table] = ctl("commands");
  EXPECT_EQ(listed, 0);
  EXPECT_EQ(table.rfind("ID ", 0), 0u) << table;
  EXPECT_NE(table.find("queued"), std::string::npos) << table;
  EXPECT_NE(table.find("CONTROL DEVICE 06010100"), std::string::npos) << table;

  auto [cancelled, done] = ctl("commands cancel " + id);
  EXPECT_EQ(cancelled, 0) << done;
  EXPECT_EQ(done, "command " + id + " cancelled\n");
  EXPECT_EQ(ctl_json("commands list --sn " + sn + " --status open"), nlohmann::json::array());
  EXPECT_EQ(ctl("commands cancel 999999").first, 4);
  EXPECT_EQ(ctl("commands list --status nonsense").first, 1);
}

TEST_F(CtlCommand, PersonsAddShowListDelete) {
  auto [added, said] = ctl("persons add 7 --name Ann --card 123 --card 456");
  EXPECT_EQ(added, 0) << said;
  EXPECT_EQ(said, "person 7 (Ann) added\n");
  auto person = ctl_json("persons show 7");
  EXPECT_EQ(person["name"], "Ann");
  EXPECT_EQ(person["cards"], nlohmann::json::array({"123", "456"}));
  auto [listed, table] = ctl("persons");
  EXPECT_EQ(listed, 0);
  EXPECT_EQ(table.rfind("PIN ", 0), 0u) << table;
  EXPECT_NE(table.find("Ann"), std::string::npos) << table;
  EXPECT_NE(table.find("123, 456"), std::string::npos) << table;
  EXPECT_EQ(ctl_json("persons list").size(), 1u);
  // The same pin again: the server refuses (409).
  EXPECT_EQ(ctl("persons add 7 --name Other").first, 1);
  EXPECT_EQ(ctl("persons add 8").first, 2);  // --name is required
  EXPECT_EQ(ctl("persons delete 7").first, 0);
  EXPECT_EQ(ctl("persons show 7").first, 4);
}

TEST_F(CtlCommand, ImportedCsvWithABadRow) {
  const auto csv = dir_ / "persons.csv";
  std::ofstream(csv) << "pin,name,cards\n101,Bob,\n102,Carol,555\n,Nobody,\n";
  auto [status, out] = ctl("persons import " + csv.string(), kToken, true);
  EXPECT_EQ(status, 1) << out;  // a row failed
  EXPECT_NE(out.find("import: 3/3 rows"), std::string::npos) << out;  // stderr is no terminal: plain lines
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  EXPECT_NE(out.find("3 rows, 2 created, 0 updated, 1 failed"), std::string::npos) << out;
  EXPECT_NE(out.find("ROW  PIN  ERROR"), std::string::npos) << out;
  EXPECT_NE(out.find("\n3    -    pin"), std::string::npos) << out;
  auto persons = ctl_json("persons list");
  ASSERT_EQ(persons.size(), 2u) << persons;
  EXPECT_EQ(persons[1]["name"], "Carol");

  // Once more as JSON, every row good (an update now): the job, status 0.
  std::ofstream(csv) << "pin,name\n101,Robert\n";
  auto job = ctl_json("persons import " + csv.string());
  EXPECT_EQ(job["state"], "done") << job;
  EXPECT_EQ(job["updated"], 1) << job;
  EXPECT_EQ(ctl("persons import " + (dir_ / "missing.csv").string()).first, 2);
}

TEST_F(CtlCommand, EventsListedAndTheLastOnesTailed) {
  const std::string sn = "CTLEVT01";
  const std::string token = handshake(sn);
  std::vector<p::Record> records;
  for (int i = 1; i <= 5; ++i) records.push_back(event_record(i, "2024-05-01 08:00:0" + std::to_string(i), "1", 0));
  records.push_back(event_record(6, "2024-05-01 08:00:06", "9", 27));  // Appendix 2: not registered (error)
  upload(sn, token, records);

  auto all = ctl_json("events list --sn " + sn);
  ASSERT_EQ(all.size(), 6u) << all;
  auto [listed, table] = ctl("events list --limit 2");
  EXPECT_EQ(listed, 0);
  EXPECT_EQ(table.rfind("ID ", 0), 0u) << table;
  EXPECT_NE(table.find("2024-05-01 08:00:02"), std::string::npos) << table;
  EXPECT_EQ(table.find("2024-05-01 08:00:03"), std::string::npos) << table;

  // The last 3, found by the search over after_id: the same as the list's last 3.
  auto last = ctl_json("events tail -n 3");
  ASSERT_EQ(last.size(), 3u) << last;
  EXPECT_EQ(last[0]["id"], all[3]["id"]);
  EXPECT_EQ(last[2]["id"], all[5]["id"]);
  EXPECT_EQ(ctl_json("events tail -n 50").size(), 6u);

  // Lines, no colour on a pipe; --color forces them: green for a normal event, red for a refusal.
  auto [tailed, lines] = ctl("events tail -n 2");
  EXPECT_EQ(tailed, 0);
  EXPECT_EQ(lines.find("\033["), std::string::npos) << lines;
  EXPECT_NE(lines.find("2024-05-01 08:00:05  CTLEVT01  door 1  1  "), std::string::npos) << lines;
  EXPECT_NE(lines.find("2024-05-01 08:00:06  CTLEVT01  door 1  9  "), std::string::npos) << lines;
  EXPECT_NE(lines.find("[27]\n"), std::string::npos) << lines;
  auto coloured = ctl("--color events tail -n 2").second;
  EXPECT_NE(coloured.find("\033[32m2024-05-01 08:00:05"), std::string::npos) << coloured;
  EXPECT_NE(coloured.find("\033[31m2024-05-01 08:00:06"), std::string::npos) << coloured;
  EXPECT_EQ(ctl("--color --no-color events tail -n 2").second, lines);
  EXPECT_EQ(cli_test::run_zkpush("ctl --server " + server_ + " --token " + kToken + " --color events tail -n 2", false,
                                 "NO_COLOR=1")
                .second,
            coloured);  // the flag wins over the environment
}

TEST_F(CtlCommand, TailFollowsTheEventStream) {
  const std::string sn = "CTLEVT02";
  const std::string token = handshake(sn);
  upload(sn, token, {event_record(1, "2024-05-01 09:00:01", "1", 0)});
  RunningCtl tail("ctl --server " + server_ + " --token " + kToken + " events tail -f -n 1 --sn " + sn);
  // First the last event stored, then what the device uploads while it runs.
  EXPECT_NE(tail.line().find("2024-05-01 09:00:01  CTLEVT02  door 1  1"), std::string::npos);
  upload(sn, token, {event_record(2, "2024-05-01 09:00:02", "5", 100)});
  const auto streamed = tail.line();
  EXPECT_NE(streamed.find("2024-05-01 09:00:02  CTLEVT02  door 1  5  "), std::string::npos) << streamed;
  EXPECT_NE(streamed.find("[100]"), std::string::npos) << streamed;
  EXPECT_EQ(streamed.find("\033["), std::string::npos) << streamed;  // not a terminal
  // As JSON lines, one per event.
  RunningCtl json("ctl --server " + server_ + " --token " + kToken + " --json events tail -f -n 1 --sn " + sn);
  auto first = nlohmann::json::parse(json.line(), nullptr, false);
  EXPECT_EQ(first.value("index", 0), 2) << first;
  upload(sn, token, {event_record(3, "2024-05-01 09:00:03", "5", 0)});
  auto next = nlohmann::json::parse(json.line(), nullptr, false);
  EXPECT_EQ(next.value("index", 0), 3) << next;
}

TEST_F(CtlCommand, TokensMadeUsedAndRevoked) {
  auto [made, secret] = ctl("tokens create door-panel --role viewer");
  EXPECT_EQ(made, 0) << secret;
  ASSERT_EQ(secret.rfind("zkp_", 0), 0u) << secret;
  const std::string viewer = secret.substr(0, secret.find('\n'));
  auto tokens = ctl_json("tokens list");
  ASSERT_EQ(tokens.size(), 1u) << tokens;
  EXPECT_EQ(tokens[0]["role"], "viewer");
  const std::string id = std::to_string(tokens[0]["id"].get<std::int64_t>());
  EXPECT_NE(ctl("tokens").second.find("door-panel  viewer"), std::string::npos);

  // A viewer reads but may not act, nor list tokens: 403, status 1.
  EXPECT_EQ(ctl("devices", viewer).first, 0);
  auto [forbidden, why] = ctl("tokens", viewer, true);
  EXPECT_EQ(forbidden, 1) << why;
  EXPECT_NE(why.find("403"), std::string::npos) << why;
  EXPECT_EQ(ctl("tokens create x --role root").first, 2);

  auto [revoked, said] = ctl("tokens revoke " + id);
  EXPECT_EQ(revoked, 0) << said;
  EXPECT_EQ(said, "token " + id + " revoked\n");
  EXPECT_EQ(ctl("devices", viewer).first, 1);  // 401 from now on
}

TEST_F(CtlCommand, WebhooksAddedListedAndDeleted) {
  auto [added, said] = ctl("webhooks add http://127.0.0.1:9/hook --secret s3cret --events event,door_state --max-attempts 3");
  EXPECT_EQ(added, 0) << said;
  EXPECT_NE(said.find("webhook 1 to http://127.0.0.1:9/hook (event, door_state)"), std::string::npos) << said;
  auto hooks = ctl_json("webhooks list");
  ASSERT_EQ(hooks.size(), 1u) << hooks;
  EXPECT_EQ(hooks[0]["events"], nlohmann::json::array({"event", "door_state"}));
  EXPECT_EQ(hooks[0]["max_attempts"], 3);
  EXPECT_NE(ctl("webhooks").second.find("http://127.0.0.1:9/hook"), std::string::npos);
  EXPECT_EQ(ctl_json("webhooks show 1")["url"], "http://127.0.0.1:9/hook");
  EXPECT_EQ(ctl("webhooks dead-letters 1").second, "(no dead letters)\n");
  EXPECT_EQ(ctl_json("webhooks dead-letters 1"), nlohmann::json::array());
  EXPECT_EQ(ctl_json("webhooks redeliver 1 --ids 1,2")["redelivering"], 0);
  EXPECT_EQ(ctl("webhooks redeliver 1 --ids 1,x").first, 2);
  // The server's checks: a URL it refuses, with the field named.
  auto [refused, why] = ctl("webhooks add ftp://example/x --secret s", kToken, true);
  EXPECT_EQ(refused, 1) << why;
  EXPECT_NE(why.find("(field url)"), std::string::npos) << why;
  EXPECT_EQ(ctl("webhooks delete 1").second, "webhook 1 deleted\n");
  EXPECT_EQ(ctl("webhooks show 1").first, 4);
}

TEST_F(CtlCommand, SettingsFromTheConfigFileTheEnvironmentAndFlags) {
  std::ofstream(dir_ / "token") << kToken << "\n";
  const auto config = dir_ / "ctl.toml";
  std::ofstream(config) << "server = \"" << server_ << "\"\ntoken_file = \"token\"\n";
  const std::string env = "ZKPUSH_SERVER= ZKPUSH_API_TOKEN= ZKPUSH_CTL_CONFIG=" + config.string();
  auto [status, out] = cli_test::run_zkpush("ctl devices", true, env);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "(no devices yet)\n");
  // The environment wins over the file, a flag over both.
  EXPECT_EQ(cli_test::run_zkpush("ctl devices", false, env + " ZKPUSH_API_TOKEN=wrong").first, 1);
  EXPECT_EQ(cli_test::run_zkpush("ctl --token " + kToken + " devices", false, env + " ZKPUSH_API_TOKEN=wrong").first, 0);
  EXPECT_EQ(cli_test::run_zkpush("ctl devices", false, env + " ZKPUSH_SERVER=http://127.0.0.1:1").first, 3);
  // --config as well; a file under [ctl] with the token itself.
  std::ofstream(dir_ / "other.toml") << "[ctl]\nserver = \"" << server_ << "\"\ntoken = \"" << kToken << "\"\n";
  EXPECT_EQ(cli_test::run_zkpush("ctl --config " + (dir_ / "other.toml").string() + " devices", false, env).first, 0);
  // Unknown key, missing file: status 2, named.
  std::ofstream(config) << "server = \"" << server_ << "\"\ntokn = \"x\"\n";
  auto [bad, why] = cli_test::run_zkpush("ctl devices", true, env);
  EXPECT_EQ(bad, 2) << why;
  EXPECT_NE(why.find("tokn: unknown setting"), std::string::npos) << why;
  EXPECT_EQ(cli_test::run_zkpush("ctl devices", false, "ZKPUSH_CTL_CONFIG=/nonexistent/ctl.toml").first, 2);
}

// Over HTTPS (serve --tls-listen): the certificate checked against --ca (a private CA), refused
// without it (status 3, no answer: the handshake fails), skipped with --insecure; --ca for an http://
// server is a usage error.
TEST_F(CtlCommand, OverHttpsWithAPrivateCa) {
  const auto dir = std::filesystem::temp_directory_path() / ("zkpush-ctl-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto cert = test::make_test_certificate(dir, "server", "127.0.0.1");
  ServerConfig config;
  config.api_token = kToken;
  config.tls_listen = "127.0.0.1:0";
  config.tls_cert = cert.cert.string();
  config.tls_key = cert.key.string();
  app_.reset();  // the fixture's server, without TLS, holds the data folder
  start(config);
  ASSERT_NE(app_->tls_port(), 0);
  const std::string https = "https://127.0.0.1:" + std::to_string(app_->tls_port());
  auto ctl_at = [&](const std::string& flags) {
    return cli_test::run_zkpush("ctl --server " + https + " --token " + kToken + " " + flags + " devices --json", true);
  };
  auto [trusted, listed] = ctl_at("--ca " + cert.cert.string());
  EXPECT_EQ(trusted, 0) << listed;
  EXPECT_TRUE(nlohmann::json::parse(listed, nullptr, false).is_array()) << listed;
  auto [unknown_ca, said] = ctl_at("");
  EXPECT_EQ(unknown_ca, 3) << said;
  EXPECT_NE(said.find("TLS handshake"), std::string::npos) << said;
  EXPECT_EQ(ctl_at("--insecure").first, 0);
  // The wrong token over TLS is refused as over plain HTTP.
  EXPECT_EQ(cli_test::run_zkpush("ctl --server " + https + " --insecure --token wrong devices", true).first, 1);
  EXPECT_EQ(ctl("--ca " + cert.cert.string() + " devices", kToken, true).first, 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace zkpush::server
