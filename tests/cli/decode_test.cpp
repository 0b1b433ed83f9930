// Runs the real zkpush binary: `zkpush decode` on every example of the manual, on sloppy variants,
// and on garbage, checking the exit status and the JSON it prints.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/spec_fixtures.hpp"

namespace {

using nlohmann::json;
using namespace zkpush::testing;

struct ProcessRun {
  int status = -1;  // exit status; -1 if killed by a signal
  std::string out;
};

// Feeds `input` to `zkpush decode -` and collects stdout.
ProcessRun decode(const std::string& input, const std::string& extra_args = "") {
  static std::atomic<int> serial{0};
  std::string in_path = testing::TempDir() + "decode-in-" + std::to_string(::getpid()) + "-" + std::to_string(serial++);
  {
    FILE* f = std::fopen(in_path.c_str(), "wb");
    std::fwrite(input.data(), 1, input.size(), f);
    std::fclose(f);
  }
  std::string cmd = zkpush_binary().string() + " decode " + extra_args + " - < " + in_path + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  ProcessRun run;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) run.out.append(buf, n);
  int st = ::pclose(p);
  run.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::remove(in_path.c_str());
  return run;
}

// decode() of each input, three processes at a time (a process each, as a user runs it: the
// sanitizer build's start-up is most of the cost), in the inputs' order.
std::vector<ProcessRun> decode_all(const std::vector<std::string>& inputs) {
  std::vector<ProcessRun> out(inputs.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w)
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < inputs.size(); i = next++) out[i] = decode(inputs[i]);
    });
  for (auto& t : workers) t.join();
  return out;
}

json parse(const ProcessRun& run) {
  json j = json::parse(run.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << run.out;
  return j;
}

// The endpoint each fixture's REQUEST blocks belong to, from endpoints.yaml "examples".
std::map<std::string, std::set<std::string>> endpoints_by_fixture() {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& e : load_spec("endpoints.yaml")["endpoints"])
    for (const auto& ex : e["examples"]) {
      std::string file = ex.as<std::string>();
      out[file.substr(file.find('/') + 1)].insert(e["id"].as<std::string>());
    }
  return out;
}

TEST(Decode, EveryRequestOfTheManualDecodesToItsEndpoint) {
  auto expected = endpoints_by_fixture();
  int decoded = 0;
  struct Example {
    std::string file;
    bool placeholder;
    std::string content;
  };
  std::vector<Example> examples;
  std::vector<std::string> inputs;
  for (const auto& file : fixture_files()) {
    Fixture fx = load_fixture(file);
    for (const FixtureBlock* block : fx.blocks_of("REQUEST")) {
      examples.push_back({file, fx.has_placeholder(), block->content});
      inputs.push_back(to_wire(block->content));
    }
  }
  const auto runs = decode_all(inputs);
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const auto& [file, placeholder, content] = examples[i];
    const ProcessRun& run = runs[i];
    ASSERT_NE(run.status, -1) << file << ": killed by a signal";
    json j = parse(run);
    if (run.status != 0) {
      // Examples whose data the manual elides ("[base64 data stream]", $(SerialNumber)) cannot
      // decode; they must fail cleanly with a reason, and only they may fail.
      EXPECT_TRUE(placeholder || content.find("[base64") != std::string::npos)
          << file << ": " << run.out;
      EXPECT_TRUE(j.contains("error") && j.contains("where")) << file;
      continue;
    }
    ++decoded;
    ASSERT_TRUE(j.contains("endpoint") && j.contains("records") && j.contains("decoded")) << file;
    EXPECT_EQ(j["records"].size(), j["decoded"].size()) << file;
    if (expected.count(file)) {
      std::string endpoint = j["endpoint"].get<std::string>();
      // The 7.13 example record lacks the Alarmtype field that tells the cancel-alarm form
      // apart (ambiguity 35), so it can only be read as a plain rtlog upload.
      if (file == "7.13-rtlog-cancel-alarm.txt" && endpoint == "rtlog") continue;
      EXPECT_TRUE(expected[file].count(endpoint))
          << file << " decoded as " << j["endpoint"];
    }
  }
  EXPECT_GE(decoded, 40);
}

TEST(Decode, EveryCommandOfTheManualDecodes) {
  int decoded = 0;
  std::vector<std::string> files, inputs;
  for (const auto& file : fixture_files()) {
    Fixture fx = load_fixture(file);
    for (const FixtureBlock* block : fx.blocks_of("COMMAND")) {
      if (block->content.find("${") != std::string::npos) continue;  // templates, not commands
      files.push_back(file);
      inputs.push_back(block->content);
    }
  }
  const auto runs = decode_all(inputs);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string& file = files[i];
    const ProcessRun& run = runs[i];
    ASSERT_NE(run.status, -1) << file;
    json j = parse(run);
    EXPECT_EQ(run.status, 0) << file << ": " << run.out;
    if (run.status != 0) continue;
    ++decoded;
    json first = j.contains("commands") ? j["commands"][0] : j;
    EXPECT_TRUE(first.contains("id") && first.contains("verb") && first.contains("records")) << file;
  }
  EXPECT_GE(decoded, 90);
}

TEST(Decode, RtlogFieldsAreExplained) {
  ProcessRun run = decode(
      "POST /iclock/cdata?SN=3383154200002&table=rtlog HTTP/1.1\r\nHost: x\r\n\r\n"
      "time=2017-01-10 11:49:32\tpin=0\tcardno=[15CD5B07]\teventaddr=1\tevent=27\tinoutstatus=1\tverifytype=0\tindex=21\n");
  ASSERT_EQ(run.status, 0) << run.out;
  json j = parse(run);
  EXPECT_EQ(j["endpoint"], "rtlog");
  EXPECT_EQ(j["sn"], "3383154200002");
  EXPECT_EQ(j["records"][0]["cardno"], "[15CD5B07]");  // as sent
  json d = j["decoded"][0];
  EXPECT_EQ(d["cardno"]["decimal"], "123456789");
  EXPECT_EQ(d["event"]["code"], 27);
  EXPECT_EQ(d["event"]["class"], "error");
  EXPECT_EQ(d["time"], "2017-01-10T11:49:32");
}

TEST(Decode, SloppyFirmwareStillDecodes) {
  // LF-only headers, lower-case query keys, spaces instead of tabs, CRLF records, no Content-Length.
  ProcessRun run = decode(
      "POST /iclock/cdata?sn=1&TABLE=rtlog HTTP/1.1\nHost: x\n\n"
      "time=2024-05-01 08:00:00 pin=7 event=0 index=1\r\ntime=2024-05-01 08:00:05\tpin=8\tevent=27\tindex=2\r\n");
  ASSERT_EQ(run.status, 0) << run.out;
  json j = parse(run);
  EXPECT_EQ(j["endpoint"], "rtlog");
  ASSERT_EQ(j["records"].size(), 2u);
  EXPECT_EQ(j["records"][0]["pin"], "7");
  EXPECT_EQ(j["records"][0]["time"], "2024-05-01 08:00:00");
}

TEST(Decode, DevicecmdResultsAreReadByVerb) {
  ProcessRun run = decode("ID=9&Return=-629&CMD=DATA QUERY\nID=10&return=3&CMD=DATA QUERY\n");
  ASSERT_EQ(run.status, 0) << run.out;
  json j = parse(run);
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][0]["return"]["kind"], "failed");
  EXPECT_EQ(j["results"][1]["return"]["kind"], "count");
  EXPECT_EQ(j["results"][1]["return"]["records"], 3);
}

TEST(Decode, ChineseNamesOfALanguage83Device) {
  std::string gb_name = "\xD5\xC5\xC8\xFD";  // 张三 in GB2312
  std::string req = "POST /iclock/cdata?SN=1&table=tabledata&tablename=user&count=1 HTTP/1.1\r\n\r\nuser uid=1\tpin=1\tname=" +
                    gb_name + "\n";
  ProcessRun run = decode(req, "--language 83");
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_EQ(parse(run)["decoded"][0]["name"], "\xE5\xBC\xA0\xE4\xB8\x89");
}

// README "When a device is refused": the Cookie is checked with `zkpush decode`.
TEST(Decode, RequestHeadersAndTheCookieTokenAreShown) {
  ProcessRun run = decode(
      "POST /iclock/devicecmd?SN=3383154200002 HTTP/1.1\r\nHost: 58.250.50.81:8011\r\nUser-Agent: iClock Proxy/1.09\r\n"
      "Cookie: token=af65a75608cf5b80fbb3b48f0b4df95a, timestamp=1470805647\r\nContent-Length: 23\r\n\r\n"
      "ID=1&Return=0&CMD=DATA\n");
  ASSERT_EQ(run.status, 0) << run.out;
  json j = parse(run);
  ASSERT_TRUE(j.contains("headers")) << run.out;
  std::vector<std::string> names;  // read with an ordered parser: json sorts its keys
  const auto ordered = nlohmann::ordered_json::parse(run.out);
  for (const auto& [name, value] : ordered["headers"].items()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"Host", "User-Agent", "Cookie", "Content-Length"}));  // order received
  EXPECT_EQ(j["headers"]["User-Agent"], "iClock Proxy/1.09");
  EXPECT_EQ(j["headers"]["Cookie"], "token=af65a75608cf5b80fbb3b48f0b4df95a, timestamp=1470805647");
  EXPECT_EQ(j["token"]["value"], "af65a75608cf5b80fbb3b48f0b4df95a");
  EXPECT_EQ(j["token"]["form"], "token=");
  EXPECT_EQ(j["token"]["timestamp"], "1470805647");
  EXPECT_EQ(j["endpoint"], "devicecmd");  // the rest as before
  EXPECT_EQ(j["records"][0]["ID"], "1");

  // The 7.4 example's bare cookie, a cookie among others, and no cookie at all.
  json bare = parse(decode("POST /iclock/devicecmd?SN=1 HTTP/1.1\nCookie: 1637f0b091af92b0cc66b8eede0ae48e\n\nID=1&Return=0&CMD=DATA"));
  EXPECT_EQ(bare["token"]["value"], "1637f0b091af92b0cc66b8eede0ae48e");
  EXPECT_EQ(bare["token"]["form"], "bare");
  json among = parse(decode("GET /iclock/getrequest?SN=1 HTTP/1.1\ncookie: lang=en\nCOOKIE: Token=abc123\n\n"));
  EXPECT_EQ(among["headers"]["cookie"], "lang=en; Token=abc123");  // a repeated header, joined
  EXPECT_EQ(among["token"]["value"], "abc123");
  json none = parse(decode("GET /iclock/getrequest?SN=1 HTTP/1.1\nHost: h\n\n"));
  EXPECT_EQ(none["headers"], json({{"Host", "h"}}));
  EXPECT_FALSE(none.contains("token"));
}

// The JSON API's "line" is a command without C:<id>:; decode reads it as one.
TEST(Decode, BareCommandLineIsACommandNotAnHttpRequest) {
  ProcessRun run = decode("CONTROL DEVICE 01010105\n");
  ASSERT_EQ(run.status, 0) << run.out;
  json j = parse(run);
  EXPECT_EQ(j["verb"], "CONTROL DEVICE") << run.out;
  EXPECT_TRUE(j["id"].is_null());
  EXPECT_FALSE(j.contains("endpoint"));
  json prefixed = parse(decode("C:221:CONTROL DEVICE 01010105"));
  EXPECT_EQ(j["decoded"], prefixed["decoded"]);  // the same command as with its prefix
  EXPECT_EQ(j["records"], prefixed["records"]);

  for (std::string line : {"DATA UPDATE user CardNo=\tPin=1\tPassword=\tGroup=0\tStartTime=0\tEndTime=0\tName=\tPrivilege=0",
                           "data query tablename=user,fielddesc=*,filter=*", "GET OPTIONS ~SerialNumber,FirmVer",
                           "SET OPTIONS RequestDelay=10", "ACCOUNT transaction ContentType=tgz MaxIndex=0",
                           "ENROLL_BIO TYPE=9\tNO=0\tPIN=1\tRETRY=3\tOVERWRITE=1\tMODE=1"}) {
    ProcessRun r = decode(line);
    EXPECT_EQ(r.status, 0) << line << " -> " << r.out;
    json c = parse(r);
    EXPECT_TRUE(c.contains("verb") && !c["verb"].is_null()) << line << " -> " << r.out;
  }
  // A bad bare command is a command error, not "unknown request".
  ProcessRun bad = decode("CONTROL DEVICE 0G");
  EXPECT_EQ(bad.status, 1);
  json e = parse(bad);
  EXPECT_TRUE(e.contains("error")) << bad.out;
  EXPECT_EQ(e["error"].get<std::string>().find("unknown"), std::string::npos) << bad.out;
  // A real request line ends in HTTP/<version>: still a request, whatever its method.
  json request = parse(decode("GET /iclock/getrequest?SN=1 HTTP/1.1\n\n"));
  EXPECT_EQ(request["endpoint"], "getrequest");
}

// The decoder shows a serial number the server refuses (400), with the reason, instead of failing.
TEST(Decode, ASerialNumberTheServerRefusesIsShownWithTheReason) {
  ProcessRun run = decode("GET /iclock/cdata?SN=EVIL%0A%5B2026-01-01%5D%20%5Binfo%5D%20fake&options=all HTTP/1.1\n\n");
  ASSERT_EQ(run.status, 0) << run.out;
  json j = parse(run);
  EXPECT_EQ(j["sn"], "EVIL\n[2026-01-01] [info] fake");  // as sent (JSON escapes it)
  ASSERT_TRUE(j.contains("notes")) << run.out;
  EXPECT_EQ(j["notes"][0],
            "SN 'EVIL\\n[2026-01-01] [info] fake' is not a serial number: byte 5 ('\\n') is not a letter, digit, '-' or "
            "'_'; a server refuses this request");
}

TEST(Decode, GarbageExitsWithStatusOneAndSaysWhere) {
  for (std::string bad : {std::string("\x01\x02\x03", 3), std::string(""), std::string("C:abc"),
                          std::string("C:1:CONTROL DEVICE 0G"), std::string("POST\r\n\r\n"),
                          std::string("ID=&Return=x"), std::string(100000, 'A')}) {
    ProcessRun run = decode(bad);
    ASSERT_NE(run.status, -1) << "signal on " << bad.substr(0, 20);
    EXPECT_EQ(run.status, 1) << bad.substr(0, 20) << " -> " << run.out.substr(0, 200);
    json j = parse(run);
    EXPECT_TRUE(j.contains("error") && j.contains("where")) << run.out.substr(0, 200);
  }
}

}  // namespace
