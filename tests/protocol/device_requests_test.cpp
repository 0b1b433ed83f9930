// Device requests: the catalogue's fixtures (golden), format/parse round trips for every endpoint,
// sloppy firmware, ACCOUNT uploads, packages, errors, and the ambiguities decided here.
#include "protocol/device_requests.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>

#include "protocol/base64.hpp"
#include "protocol/text.hpp"
#include "support/spec_fixtures.hpp"

namespace zkpush::protocol {
namespace {

using namespace std::string_view_literals;

using testing::load_fixture;
using testing::to_wire;

std::string fixture_file_block(const std::string& file, const std::string& label) {
  auto fx = load_fixture(file);
  for (const auto& b : fx.blocks)
    if (b.kind == "FILE" && b.label == label) return b.content;
  ADD_FAILURE() << "no FILE " << label << " in " << file;
  return {};
}

// A real .tgz of the 9.2.2 transaction.txt sample.
std::string sample_tgz() {
  std::string txt = fixture_file_block("9.2.2-account-controller.txt", "transaction.txt") + "\n";
  auto tgz = pack_tgz({ArchiveEntry{"transaction.txt", txt}});
  EXPECT_TRUE(tgz.ok());
  return tgz.ok() ? *tgz : std::string();
}

DeviceRequest must_parse(std::string_view method, std::string_view target, std::string_view body,
                         const ParseOptions& options = {}) {
  auto r = parse_device_request(method, target, body, options);
  EXPECT_TRUE(r.ok()) << target << ": " << (r.ok() ? "" : r.error().to_string());
  return r.ok() ? *r : DeviceRequest{};
}

DeviceRequest must_parse(const OutgoingRequest& out) { return must_parse(out.method, out.target, out.body); }

// The SN= value of a target ("" when there is none).
std::string sn_of(std::string_view target) {
  for (std::string_view key : {"?SN=", "&SN="}) {
    std::size_t at = target.find(key);
    if (at == std::string_view::npos) continue;
    std::string_view rest = target.substr(at + key.size());
    return std::string(rest.substr(0, rest.find_first_of("& ")));
  }
  return {};
}

// The manual's templates write SN=${SerialNumber} or SN=$(SerialNumber): not a serial number, so
// such a request is refused (bad_value, query parameter SN). The rest of such an example is checked
// with the serial number of the manual's own exchanges. Returns whether the SN was a placeholder.
bool replace_placeholder_sn(HttpRequestCapture& capture) {
  std::string sn = sn_of(capture.target);
  if (sn.empty() || sn.front() != '$') return false;
  auto refused = parse_device_request(capture);
  EXPECT_FALSE(refused.ok()) << capture.target;
  if (!refused.ok()) {
    EXPECT_EQ(refused.error().code, Errc::bad_value);
    EXPECT_EQ(refused.error().where, "query parameter SN");
  }
  std::size_t at = capture.target.find("SN=" + sn);
  capture.target.replace(at + 3, sn.size(), "3383154200002");
  return true;
}

// ---- golden: every REQUEST block of every fixture --------------------------------------------------

// Bodies the manual lost or printed as placeholders, replaced by what the grammar says so that the
// parse and the formatting can be checked (ambiguity 44). Key: "<file>#<block index>".
std::map<std::string, std::string> substitutions() {
  std::map<std::string, std::string> s;
  s["7.8-upload-biophoto.txt#0"] = "biophoto pin=1\tfilename=1.jpg\ttype=9\tsize=3\tcontent=AAAA";
  s["7.14-irstate.txt#0"] = "irstate=1\tirsensecount=12\tincount=3\toutcount=4\talarmcount=0\truncount=100\r\n";
  s["9.5.2-get-options.txt#0"] = "~SerialNumber=3383154200002,FirmVer=Ver 8.0.1.3-20151229,~DeviceName=F20/M,LockCount=1";
  std::string tgz = sample_tgz();
  s["9.2.2-account-controller.txt#1"] = tgz;
  s["9.2.1-account-pullsdk.txt#0"] = "name=transaction.tgz\nsize=" + std::to_string(tgz.size()) +
                                     "\ndatacode=base64\ndatatype=tgz" + std::string(1, '\0') + base64_encode(tgz);
  return s;
}

std::map<std::string, std::set<std::string>> catalogue_examples() {
  std::map<std::string, std::set<std::string>> expected;
  for (const auto& e : testing::load_spec("endpoints.yaml")["endpoints"])
    for (const auto& ex : e["examples"]) {
      std::string f = ex.as<std::string>();
      expected[f.substr(f.find('/') + 1)].insert(e["id"].as<std::string>());
    }
  return expected;
}

bool has_placeholder(std::string_view s) {
  return s.find('$') != std::string_view::npos || s.find('%') != std::string_view::npos;
}

using SpotCheck = std::function<void(const DeviceRequest&, int block)>;

std::map<std::string, SpotCheck> spot_checks() {
  std::map<std::string, SpotCheck> c;
  c["1.3-http-intro.txt"] = [](const DeviceRequest& r, int) {
    EXPECT_EQ(r.sn, "");
    EXPECT_TRUE(r.records.empty());
  };
  c["4.1-init.txt"] = [](const DeviceRequest& r, int) {
    EXPECT_EQ(r.sn, "3383154200002");
    EXPECT_EQ(r.query.get_or("pushver", ""), "3.0.1");
    EXPECT_TRUE(r.records.empty());
  };
  c["4.2-exchange-publickey.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    std::string_view key = r.records[0].get_or("PublicKey", "");
    EXPECT_EQ(key.substr(0, 12), "DMCtRl3RwiGI");
    EXPECT_EQ(key.back(), '=');
  };
  c["4.3-exchange-factors.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].get_or("Factors", "").size(), 352u - 8u);
  };
  c["4.4-registration.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    const Record& o = r.records[0];
    EXPECT_EQ(o.size(), 65u);
    EXPECT_EQ(o.fields[1].key, "~DeviceName");
    EXPECT_EQ(o.get_or("~DeviceName", ""), "F20/M");
    EXPECT_EQ(o.get_or("FirmVer", ""), "Ver 8.0.1.3-20151229");
    EXPECT_EQ(o.get_or("PushVersion", ""), "Ver 2.0.22-20161201");
    EXPECT_EQ(option_value(o, "MaxUserFingerCount").value_or(""), "10");
    EXPECT_EQ(option_value(o, "~MaxPackageSize").value_or(""), "2048000");
    EXPECT_EQ(o.get_or("EventTypes", "").size(), 66u);
    EXPECT_EQ(o.get_or("authKey", ""), "dassas");
    EXPECT_EQ(r.table, "options");
  };
  c["4.5-push-config.txt"] = [](const DeviceRequest& r, int) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_TRUE(r.records.empty());
  };
  c["4.6-upload-options.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    const Record& o = r.records[0];
    EXPECT_EQ(o.size(), 30u);
    EXPECT_EQ(o.get_or("~DeviceName", ""), "ProBio");
    ASSERT_TRUE(o.get("~MaxPvCount").has_value());
    EXPECT_EQ(*o.get("~MaxPvCount"), "");
    EXPECT_EQ(o.get_or("~OEMVendor", ""), "ZKTeco Inc.");
    EXPECT_EQ(o.get_or("pushversion", ""), "Ver 2.0.34-20180822");
  };
  c["5-device-authorize.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].prefix, "DeviceAuthorize");
    EXPECT_EQ(r.records[0].size(), 5u);
    EXPECT_EQ(r.records[0].fields[0].key, "SN");
    EXPECT_EQ(r.records[0].get_or("RegisterInfo", "x"), "%?");
    EXPECT_EQ(r.table, "DeviceAuthorize");
    EXPECT_EQ(r.pagination.count, 1);
  };
  c["6-ping.txt"] = [](const DeviceRequest& r, int) { EXPECT_EQ(r.method, "GET"); };
  auto rtlog = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    const Record& e = r.records[0];
    EXPECT_EQ(e.prefix, "");
    EXPECT_EQ(e.size(), 8u);
    EXPECT_EQ(e.get_or("time", ""), "2017-01-10 11:49:32");
    EXPECT_EQ(e.get_int("event"), 27);
    EXPECT_EQ(e.get_int("index"), 21);
    EXPECT_EQ(e.get_int("inoutstatus"), 1);
    EXPECT_EQ(r.table, "rtlog");
  };
  c["7.2-rtlog.txt"] = rtlog;
  c["7.13-rtlog-cancel-alarm.txt"] = rtlog;
  c["7.3-rtstate.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].get_or("alarm", ""), "0200000000000000");
    EXPECT_EQ(r.records[0].get_or("sensor", ""), "00");
    EXPECT_EQ(r.table, "rtstate");
  };
  c["7.4-devicecmd.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].get_or("ID", ""), "1");
    EXPECT_EQ(r.records[0].get_or("return", ""), "0");
    EXPECT_EQ(r.records[0].get_or("CMD", ""), "DATA UPDATE");
  };
  c["7.5-upload-user.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    const Record& u = r.records[0];
    EXPECT_EQ(u.prefix, "user");
    EXPECT_EQ(u.size(), 11u);
    EXPECT_EQ(u.get_or("uid", ""), "5");
    EXPECT_EQ(u.get_or("PIN", ""), "4");
    ASSERT_TRUE(u.get("name").has_value());
    EXPECT_EQ(*u.get("name"), "");
    EXPECT_EQ(r.table, "user");
    EXPECT_EQ(r.pagination.count, 1);
  };
  c["7.6-upload-identitycard.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    const Record& i = r.records[0];
    EXPECT_EQ(i.prefix, "identitycard");
    EXPECT_EQ(i.get_or("IDNum", ""), "210102199212182xxxx");
    EXPECT_EQ(i.get_or("Address", ""), "xxxxx, Tangxia Town, Dongguan, Guangdong");
    EXPECT_EQ(i.get_or("Issuer", ""), "xxx Public Security Bureau");
    EXPECT_TRUE(i.has("FPTemplate1"));
  };
  c["7.7-upload-templatev10.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 2u);
    EXPECT_EQ(r.records[0].get_int("fingerid"), 7);
    EXPECT_EQ(r.records[1].get_int("fingerid"), 6);
    EXPECT_EQ(r.records[0].get_int("size"), 1808);
    EXPECT_EQ(r.records[1].get_int("size"), 1928);
    EXPECT_TRUE(r.records[0].has("resverd"));
    EXPECT_EQ(r.pagination.count, 2);
  };
  c["7.8-upload-biophoto.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].prefix, "biophoto");
    EXPECT_EQ(r.records[0].get_int("type"), 9);
  };
  c["7.9-upload-attphoto.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].prefix, "");
    EXPECT_EQ(r.records[0].get_or("pin", ""), "20181003143617-22.jpg");
    EXPECT_EQ(r.records[0].get_int("size"), 22701);
    EXPECT_EQ(r.table, "ATTPHOTO");
  };
  c["7.10-upload-userpic.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].prefix, "userpic");
    EXPECT_EQ(r.records[0].get_or("filename", ""), "1.jpg");
    EXPECT_EQ(r.records[0].get_int("size"), 22320);
  };
  c["7.11-upload-biodata.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].get_int("type"), 8);
    EXPECT_EQ(r.records[0].get_int("majorver"), 5);
    EXPECT_EQ(r.records[0].size(), 10u);
  };
  c["7.12-upload-errorlog.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].get_or("errcode", ""), "D01E0001");
    EXPECT_EQ(r.records[0].get_or("dataorigin", ""), "cmd");
    EXPECT_EQ(r.records[0].size(), 5u);
  };
  c["7.14-irstate.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].get_int("runcount"), 100);
    EXPECT_EQ(r.table, "irstate");
  };
  c["8.1-getrequest.txt"] = [](const DeviceRequest& r, int) { EXPECT_EQ(r.sn, "3383154200002"); };
  c["9.1.3-count-biodata.txt"] = [](const DeviceRequest& r, int) {
    EXPECT_EQ(counted_value(r), 2);
    EXPECT_EQ(r.table, "biodata");
    EXPECT_EQ(r.pagination.cmdid, "80");
  };
  c["9.1.3-count-biophoto.txt"] = [](const DeviceRequest& r, int) { EXPECT_EQ(counted_value(r), 2); };
  c["9.1.3-count-user.txt"] = [](const DeviceRequest& r, int) {
    EXPECT_EQ(counted_value(r), 5);
    EXPECT_EQ(r.pagination.cmdid, "288");
    EXPECT_EQ(r.pagination.packcnt, 1);
  };
  c["9.1.4-query-aplist.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 3u);
    EXPECT_EQ(r.records[2].prefix, "APList");
    EXPECT_EQ(r.records[2].get_or("mac", ""), "%?");
    EXPECT_EQ(r.table, "APList");
    EXPECT_FALSE(r.pagination.count.has_value());  // "%d"
  };
  c["9.1.4-query-biodata.txt"] = [](const DeviceRequest& r, int block) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].get_or("pin", ""), block == 0 ? "1" : "123");
    EXPECT_EQ(r.pagination.packcnt, 2);
    EXPECT_EQ(r.pagination.packidx, block + 1);
    EXPECT_EQ(r.table, "biodata");
  };
  c["9.1.4-query-biophoto.txt"] = [](const DeviceRequest& r, int block) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].get_or("filename", ""), block == 0 ? "123.jpg" : "124.jpg");
    EXPECT_EQ(r.pagination.packidx, block + 1);
  };
  c["9.1.4-query-transaction.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].prefix, "transaction");
    EXPECT_EQ(r.records[0].get_or("sn", ""), "3383154200002");
    EXPECT_EQ(r.records[0].get_int("inoutstate"), 2);
    EXPECT_EQ(r.table, "transaction");
  };
  c["9.1.4-query-user.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 3u);
    EXPECT_EQ(r.records[1].get_or("password", ""), "1");
    EXPECT_EQ(r.pagination.count, 3);
    EXPECT_EQ(r.pagination.cmdid, "415");
  };
  c["9.2.1-account-pullsdk.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_TRUE(r.archive.has_value());
    EXPECT_EQ(r.archive->header.get_or("name", ""), "transaction.tgz");
    EXPECT_EQ(r.archive->header.get_or("datacode", ""), "base64");
    EXPECT_EQ(r.archive->header.get_or("datatype", ""), "tgz");
    ASSERT_EQ(r.archive->files.size(), 1u);
    EXPECT_EQ(r.archive->files[0].name, "transaction.txt");
    ASSERT_EQ(r.records.size(), 3u);
    EXPECT_EQ(r.records[2].get_or("time_second", ""), "548003689");
    EXPECT_EQ(r.table, "transaction");
    EXPECT_EQ(r.pagination.count, 41);
    EXPECT_EQ(r.pagination.cmdid, "291");
  };
  c["9.2.2-account-controller.txt"] = [](const DeviceRequest& r, int block) {
    if (block == 0) {
      ASSERT_EQ(r.records.size(), 1u);
      EXPECT_EQ(r.records[0].size(), 4u);
      EXPECT_EQ(r.records[0].get_or("FileCount", ""), "${XXX}");
    } else {
      ASSERT_TRUE(r.archive.has_value());
      ASSERT_EQ(r.records.size(), 3u);
      EXPECT_EQ(r.records[0].get_or("index", ""), "92");
      EXPECT_EQ(r.records[0].prefix, "");
    }
  };
  c["9.4-control-device-wiegand-test.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].get_or("type", ""), "wg");
    EXPECT_EQ(r.table, "testdata");
  };
  c["9.4.1-upgrade-method1.txt"] = [](const DeviceRequest& r, int) {
    EXPECT_EQ(r.query.get_or("url", ""), "http://192.168.213.17:8088/fireware/F20/admin/emfw.cfg");
  };
  c["9.4.1-upgrade-method2.txt"] = [](const DeviceRequest& r, int) {
    EXPECT_EQ(r.query.get_or("url", ""), "http://192.168.0.13:89/data/emfw.cfg");
  };
  c["9.4.1-upgrade-method3.txt"] = [](const DeviceRequest& r, int) {
    EXPECT_EQ(r.path, "/data/emfw.cfg");
    EXPECT_EQ(r.target, "http://192.168.0.13:89/data/emfw.cfg");
    EXPECT_EQ(r.sn, "");
  };
  c["9.5.1-set-options-datetime.txt"] = [](const DeviceRequest& r, int) {
    EXPECT_EQ(r.query.get_or("type", ""), "time");
  };
  c["9.5.2-get-options.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].get_or("~DeviceName", ""), "F20/M");
    EXPECT_EQ(r.table, "options");
  };
  c["9.6.2-enroll-bio.txt"] = [](const DeviceRequest& r, int) {
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].get_or("TYPE", ""), "9");
    EXPECT_EQ(r.records[0].get_or("MAJOR_VER", ""), "58");
    EXPECT_TRUE(r.records[0].has("BIOPHOTO"));
    EXPECT_EQ(r.table, "BioData");
  };
  return c;
}

TEST(DeviceRequestsGolden, EveryFixtureRequestParsesAndFormatsBack) {
  auto expected = catalogue_examples();
  auto checks = spot_checks();
  auto subs = substitutions();
  std::set<std::string> used_subs;
  int requests = 0, placeholder_sns = 0;
  for (const auto& file : testing::fixture_files()) {
    auto fx = load_fixture(file);
    auto blocks = fx.blocks_of("REQUEST");
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      SCOPED_TRACE(file + " REQUEST " + std::to_string(i + 1));
      auto capture = parse_http_request(to_wire(blocks[i]->content));
      ASSERT_TRUE(capture.ok()) << capture.error().to_string();
      if (replace_placeholder_sn(*capture)) ++placeholder_sns;
      std::string fixture_body = capture->body;
      std::string key = file + "#" + std::to_string(i);
      if (auto s = subs.find(key); s != subs.end()) {
        capture->body = s->second;
        used_subs.insert(key);
      }
      auto parsed = parse_device_request(*capture);
      ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
      const DeviceRequest& req = *parsed;

      // The endpoint the catalogue lists this fixture under.
      std::string id(endpoint_id(req.endpoint));
      if (file == "7.13-rtlog-cancel-alarm.txt") {
        EXPECT_EQ(id, "rtlog");  // the example lacks Alarmtype (ambiguity 35)
      } else {
        EXPECT_TRUE(expected[file].count(id)) << "classified as " << id;
      }

      auto check = checks.find(file);
      ASSERT_NE(check, checks.end()) << "no spot check for " << file;
      check->second(req, static_cast<int>(i));

      // Formatting the parsed content gives the fixture back.
      OutgoingRequest out = to_outgoing(req);
      EXPECT_EQ(out.method, req.method);
      std::string want_body = capture->body;
      if (file == "4.6-upload-options.txt") {
        // "~OEMVendor=ZKTeco Inc. ," : the space before the comma is trimmed from the value.
        std::size_t at = want_body.find("Inc. ,");
        ASSERT_NE(at, std::string::npos);
        want_body.erase(at + 4, 1);
      }
      EXPECT_EQ(out.body, want_body);
      Target got = parse_target(out.target);
      Target want = parse_target(req.target);
      if (req.endpoint != Endpoint::firmware_range) {
        EXPECT_EQ(got.path, want.path);
      }
      ASSERT_EQ(got.query.size(), want.query.size()) << out.target;
      for (std::size_t k = 0; k < want.query.size(); ++k) {
        EXPECT_EQ(got.query.fields[k].key, want.query.fields[k].key);
        if (!has_placeholder(want.query.fields[k].value)) {
          EXPECT_EQ(got.query.fields[k].value, want.query.fields[k].value) << want.query.fields[k].key;
        }
      }
      if (!has_placeholder(req.target)) {
        EXPECT_EQ(out.target, req.target);
      }

      // And what was formatted parses to the same records.
      auto again = parse_device_request(out.method, out.target, out.body);
      ASSERT_TRUE(again.ok()) << again.error().to_string();
      EXPECT_EQ(again->endpoint, req.endpoint);
      EXPECT_EQ(again->records, req.records);
      ++requests;
    }
  }
  EXPECT_EQ(requests, 43);
  EXPECT_EQ(placeholder_sns, 7);  // the other 36 carry a real serial number (or none) and parse as printed
  EXPECT_EQ(used_subs.size(), subs.size());
}

// The placeholders themselves are handled, not skipped: they parse (or fail) as such text would.
TEST(DeviceRequestsGolden, PlaceholderBodiesAsPrinted) {
  auto fx = load_fixture("9.2.1-account-pullsdk.txt");
  auto cap = parse_http_request(to_wire(fx.blocks_of("REQUEST")[0]->content));
  ASSERT_TRUE(cap.ok());
  EXPECT_TRUE(replace_placeholder_sn(*cap));
  EXPECT_NE(cap->body.find('\0'), std::string::npos);
  auto r = parse_device_request(*cap);
  ASSERT_FALSE(r.ok());  // "[base64 data stream]" is not base64
  EXPECT_EQ(r.error().code, Errc::bad_value);
  EXPECT_EQ(r.error().where, "data after the header");

  ParseOptions keep;
  keep.unpack_archives = false;
  auto fx2 = load_fixture("9.2.2-account-controller.txt");
  auto cap2 = parse_http_request(to_wire(fx2.blocks_of("REQUEST")[1]->content));
  ASSERT_TRUE(cap2.ok());
  EXPECT_TRUE(replace_placeholder_sn(*cap2));
  auto bad = parse_device_request(*cap2);
  ASSERT_FALSE(bad.ok());  // "<<binary content of transaction.tgz>>"
  EXPECT_EQ(bad.error().code, Errc::malformed);
  auto kept = parse_device_request(*cap2, keep);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->endpoint, Endpoint::account_file);
  EXPECT_EQ(kept->archive->data, "<<binary content of transaction.tgz>>");

  for (const char* file : {"7.8-upload-biophoto.txt", "7.14-irstate.txt", "9.5.2-get-options.txt"}) {
    auto f = load_fixture(file);
    auto c = parse_http_request(to_wire(f.blocks_of("REQUEST")[0]->content));
    ASSERT_TRUE(c.ok());
    replace_placeholder_sn(*c);  // 9.5.2's
    EXPECT_EQ(c->body.rfind("<<", 0), 0u) << file;
    auto p = parse_device_request(*c);
    EXPECT_TRUE(p.ok()) << file;  // lenient: the text is kept, nothing crashes
  }
}

// ---- round trips: format -> parse -> format, every endpoint -----------------------------------------

Record rec(std::string prefix, std::initializer_list<Field> fields) {
  Record r(fields);
  r.prefix = std::move(prefix);
  return r;
}

void expect_round_trip(const OutgoingRequest& out, Endpoint endpoint, const std::vector<Record>& records) {
  SCOPED_TRACE(out.target);
  auto parsed = parse_device_request(out.method, out.target, out.body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->endpoint, endpoint) << endpoint_id(parsed->endpoint);
  EXPECT_EQ(parsed->records, records);
  OutgoingRequest again = to_outgoing(*parsed);
  EXPECT_EQ(again.method, out.method);
  EXPECT_EQ(again.target, out.target);
  EXPECT_EQ(again.body, out.body);
  EXPECT_EQ(again.headers, out.headers);
}

TEST(DeviceRequestsRoundTrip, HandshakeRequests) {
  expect_round_trip(format_init_request("SN1", "3.1.2", Record{{"DeviceType", "acc"}}), Endpoint::init, {});
  EXPECT_EQ(format_init_request("SN1").target, "/iclock/cdata?SN=SN1&pushver=3.1.2&options=all");
  EXPECT_EQ(format_init_request("SN1", "").target, "/iclock/cdata?SN=SN1&options=all");
  expect_round_trip(format_exchange_publickey("SN1", "AbC+/="), Endpoint::exchange_publickey,
                    {Record{{"PublicKey", "AbC+/="}}});
  expect_round_trip(format_exchange_factors("SN1", "XQ10=="), Endpoint::exchange_factors, {Record{{"Factors", "XQ10=="}}});
  Record reg{{"DeviceType", "acc"}, {"~DeviceName", "F20/M"}, {"FirmVer", "Ver 8.0.1.3-20151229"}, {"MaxPackageSize", "2048000"}};
  expect_round_trip(format_registry_request("SN1", reg), Endpoint::registry, {reg});
  OutgoingRequest push = format_push_config_request("SN1");
  EXPECT_EQ(push.method, "POST");
  EXPECT_EQ(push.body, "");
  expect_round_trip(push, Endpoint::push_config, {});
  Record opts{{"~DeviceName", "ProBio"}, {"UserCount", "7"}, {"~MaxPvCount", ""}};
  expect_round_trip(format_options_upload("SN1", opts), Endpoint::upload_options, {opts});
  std::vector<Record> auth{rec("DeviceAuthorize", {{"SN", "SUB1"}, {"Online", "1"}, {"IsAuthorize", "0"},
                                                   {"AuthorizeInfo", "a,b c"}, {"RegisterInfo", ""}}),
                           rec("DeviceAuthorize", {{"SN", "SUB2"}, {"Online", "0"}})};
  expect_round_trip(format_device_authorize_upload("M1", auth), Endpoint::device_authorize_upload, auth);
}

TEST(DeviceRequestsRoundTrip, RealtimeUploads) {
  expect_round_trip(format_ping("SN1"), Endpoint::ping, {});
  EXPECT_EQ(format_ping("SN1").method, "GET");
  std::vector<Record> events{
      Record{{"time", "2017-01-10 11:49:32"}, {"pin", "0"}, {"cardno", "0"}, {"eventaddr", "1"}, {"event", "27"},
             {"inoutstatus", "1"}, {"verifytype", "0"}, {"index", "21"}},
      Record{{"time", "2017-01-10 11:49:33"}, {"pin", "1"}, {"event", "0"}, {"index", "22"}}};
  expect_round_trip(format_rtlog_upload("SN1", events), Endpoint::rtlog, events);
  std::vector<Record> cancel{Record{{"time", "2017-01-10 11:49:32"}, {"event", "200"}, {"index", "23"}, {"Alarmtype", "200"}}};
  expect_round_trip(format_rtlog_upload("SN1", cancel), Endpoint::rtlog_cancel_alarm, cancel);
  std::vector<Record> state{Record{{"time", "2017-01-10 15:42:40"}, {"sensor", "00"}, {"relay", "00"}, {"alarm", "0200000000000000"}}};
  expect_round_trip(format_rtstate_upload("SN1", state), Endpoint::rtstate, state);
  std::vector<Record> ir{Record{{"irstate", "1"}, {"irsensecount", "2"}, {"incount", "3"}, {"outcount", "4"}, {"alarmcount", "0"}, {"runcount", "9"}}};
  expect_round_trip(format_irstate_upload("SN1", ir), Endpoint::irstate, ir);
  std::vector<Record> wg{Record{{"type", "wg"}, {"bitscount", "26"}, {"bits", "01010"}, {"sn", "SN1"}}};
  expect_round_trip(format_testdata_upload("SN1", wg), Endpoint::testdata_wiegand, wg);
  Record event{{"time", "2020-01-01 08:00:00"}, {"pin", "5"}, {"cardno", "123"}, {"addrtype", "2"}, {"eventaddr", "1"},
               {"event", "0"}, {"inoutstatus", "0"}, {"verifytype", "4"}};
  expect_round_trip(format_remote_auth_request("SN1", event), Endpoint::remote_auth, {event});
}

TEST(DeviceRequestsRoundTrip, TableUploads) {
  struct Case {
    const char* table;
    Endpoint endpoint;
    std::vector<Record> records;
  };
  std::vector<Case> cases{
      {"user", Endpoint::tabledata_user,
       {rec("user", {{"uid", "5"}, {"cardno", ""}, {"pin", "4"}, {"name", "Zhang San"}, {"privilege", "0"}}),
        rec("user", {{"uid", "6"}, {"pin", "5"}})}},
      {"identitycard", Endpoint::tabledata_identitycard,
       {rec("identitycard", {{"pin", "1"}, {"ID_Num", "1"}, {"Address", "a, b c"}})}},
      {"templatev10", Endpoint::tabledata_templatev10,
       {rec("templatev10", {{"size", "4"}, {"pin", "1"}, {"fingerid", "0"}, {"valid", "1"}, {"template", "AAAA"}})}},
      {"biophoto", Endpoint::tabledata_biophoto,
       {rec("biophoto", {{"pin", "1"}, {"filename", "1.jpg"}, {"type", "9"}, {"size", "4"}, {"content", "AAAA"}})}},
      {"ATTPHOTO", Endpoint::tabledata_attphoto,
       {Record{{"pin", "20181003143617-22.jpg"}, {"sn", "S"}, {"size", "3"}, {"photo", "AAAA"}}}},
      {"userpic", Endpoint::tabledata_userpic, {rec("userpic", {{"pin", "1"}, {"filename", "1.jpg"}, {"size", "3"}, {"content", "AAAA"}})}},
      {"biodata", Endpoint::tabledata_biodata, {rec("biodata", {{"pin", "1"}, {"no", "0"}, {"type", "8"}, {"tmp", "AA=="}})}},
      {"errorlog", Endpoint::tabledata_errorlog,
       {rec("errorlog", {{"errcode", "D01E0001"}, {"errmsg", ""}, {"dataorigin", "cmd"}, {"cmdid", "1"}, {"additional", ""}})}},
      {"extuser", Endpoint::tabledata_other, {rec("extuser", {{"Pin", "1"}, {"FirstName", "A"}})}},
  };
  for (const auto& c : cases) {
    OutgoingRequest out = format_tabledata_upload("SN1", c.table, c.records);
    EXPECT_NE(out.target.find("count=" + std::to_string(c.records.size())), std::string::npos);
    expect_round_trip(out, c.endpoint, c.records);
  }
  // Records without their table word get it; ATTPHOTO never has one.
  OutgoingRequest bare = format_tabledata_upload("SN1", "user", {Record{{"uid", "1"}, {"pin", "1"}}});
  EXPECT_EQ(bare.body, "user uid=1\tpin=1");
  OutgoingRequest photo = format_tabledata_upload("SN1", "ATTPHOTO", {Record{{"pin", "a.jpg"}}});
  EXPECT_EQ(photo.body, "pin=a.jpg");
}

TEST(DeviceRequestsRoundTrip, CommandFollowUps) {
  std::vector<Record> results{Record{{"ID", "1"}, {"Return", "0"}, {"CMD", "DATA UPDATE"}},
                              Record{{"ID", "2"}, {"Return", "-1001"}, {"CMD", "DATA"}, {"SN", "SUB1"}},
                              Record{{"ID", "291"}, {"Return", "41"}, {"CMD", "ACCOUNT"}, Field{"transaction", "", false},
                                     {"StartTime", ""}, {"EndTime", ""}, {"RecordSum", "41"}}};
  expect_round_trip(format_devicecmd_results("SN1", results), Endpoint::devicecmd, results);
  expect_round_trip(format_getrequest("SN1"), Endpoint::getrequest, {});

  expect_round_trip(format_querydata_count("SN1", "288", "user", 5), Endpoint::querydata_count, {Record{{"user", "5"}}});
  std::vector<Record> users{rec("user", {{"uid", "1"}, {"pin", "1"}}), rec("user", {{"uid", "2"}, {"pin", "2"}})};
  expect_round_trip(format_querydata_tabledata("SN1", "415", "user", users, 1, 1), Endpoint::querydata_tabledata, users);
  std::vector<Record> tx{rec("transaction", {{"cardno", "0"}, {"pin", "0"}, {"time_second", "548003688"}, {"sn", "S"}})};
  expect_round_trip(format_querydata_tabledata("SN1", "415", "transaction", tx, 3, 2), Endpoint::querydata_tabledata, tx);
  std::vector<Record> aps{rec("APList", {{"ecn", "1"}, {"ssid", "my wifi"}, {"rssi", "-40"}, {"mac", "00:11"}})};
  OutgoingRequest ap = format_querydata_tabledata("SN1", "415", "[APList]", aps);
  EXPECT_NE(ap.target.find("type=vmtable"), std::string::npos);
  EXPECT_NE(ap.target.find("tablename=APList&"), std::string::npos);
  expect_round_trip(ap, Endpoint::querydata_vmtable, aps);
  Record got{{"~SerialNumber", "S"}, {"FirmVer", "Ver 8.0.1"}, {"LockCount", "4"}};
  expect_round_trip(format_querydata_options("SN1", "408", got), Endpoint::querydata_options, {got});

  expect_round_trip(format_firmware_file_request("SN1", "http://h:89/data/emfw.cfg"), Endpoint::firmware_file, {});
  OutgoingRequest range = format_firmware_range_request("http://h:89/data/emfw.cfg", 0, 1048575);
  ASSERT_EQ(range.headers.size(), 1u);
  EXPECT_EQ(range.headers[0].name, "Range");
  EXPECT_EQ(range.headers[0].value, "bytes=0-1048575");
  auto pr = must_parse(range);
  EXPECT_EQ(pr.endpoint, Endpoint::firmware_range);
  EXPECT_TRUE(format_firmware_range_request("/fw.bin", 5, 0).headers.empty());
  expect_round_trip(format_rtdata_time_request("SN1"), Endpoint::rtdata_time, {});

  std::vector<Record> info{Record{{"TYPE", "0"}, {"PIN", "1"}, {"TMP", "12345678"}}};
  expect_round_trip(format_enroll_info_upload("SN1", info), Endpoint::enroll_info_upload, info);
  std::vector<Record> bio{Record{{"TYPE", "9"}, {"PIN", "1"}, {"NO", "0"}, {"INDEX", "0"}, {"MAJOR_VER", "58"},
                                 {"MINOR_VER", "1"}, {"TMP", "AAAA"}, {"BIOPHOTO", "BBBB"}},
                          Record{{"TYPE", "9"}, {"PIN", "1"}, {"NO", "0"}, {"INDEX", "1"}, {"TMP", "CCCC"}}};
  OutgoingRequest enroll = format_enroll_bio_upload("SN1", bio);
  EXPECT_NE(enroll.body.find("\r\nTYPE=9"), std::string::npos);
  expect_round_trip(enroll, Endpoint::enroll_bio_upload, bio);
}

TEST(DeviceRequestsRoundTrip, AccountUploads) {
  std::vector<Record> tx{Record{{"cardno", "0"}, {"pin", "1"}, {"verified", "1"}, {"doorid", "1"}, {"eventtype", "0"},
                                {"inoutstate", "0"}, {"time_second", "548003687"}, {"index", "1"}},
                         Record{{"cardno", "0"}, {"pin", "2"}, {"verified", "1"}, {"doorid", "1"}, {"eventtype", "0"},
                                {"inoutstate", "1"}, {"time_second", "548003688"}, {"index", "2"}}};
  auto tgz = transaction_tgz(tx);
  ASSERT_TRUE(tgz.ok());
  OutgoingRequest q = format_querydata_account("SN1", "291", *tgz, 2);
  EXPECT_NE(q.target.find("datafmt=3&Stamp=9999"), std::string::npos);
  EXPECT_NE(q.body.find(std::string("datatype=tgz") + '\0'), std::string::npos);
  expect_round_trip(q, Endpoint::querydata_account_tgz, tx);
  OutgoingRequest paged = format_querydata_account("SN1", "291", *tgz, 2, "transaction.tgz", 3, 1);
  EXPECT_NE(paged.target.find("Stamp=9999&packcnt=3&packidx=1"), std::string::npos);
  expect_round_trip(paged, Endpoint::querydata_account_tgz, tx);

  Record overview = account_overview_record(2, "transaction.tgz", 1);
  OutgoingRequest o = format_account_overview("SN1", "292", overview);
  EXPECT_EQ(o.body, "SumCount=2\nFileName=transaction.tgz\nContentType=tgz\nFileCount=1");
  expect_round_trip(o, Endpoint::account_overview, {overview});

  OutgoingRequest f = format_account_file("SN1", "292", 1, 2, *tgz);
  EXPECT_EQ(f.body, *tgz);
  EXPECT_EQ(f.target, "/iclock/file?SN=SN1&cmdid=292&fileseq=1&contenttype=tgz&table=transaction&count=2");
  expect_round_trip(f, Endpoint::account_file, tx);
  auto parsed = must_parse(f);
  EXPECT_EQ(parsed.pagination.fileseq, 1);
  EXPECT_EQ(parsed.pagination.count, 2);
}

// ---- packages ------------------------------------------------------------------------------------------

TEST(DeviceRequestsPackages, SplitRespectsMaxPackageSize) {
  std::vector<Record> users;
  for (int i = 0; i < 50; ++i)
    users.push_back(rec("user", {{"uid", std::to_string(i)}, {"pin", std::to_string(1000 + i)}, {"name", "Person " + std::to_string(i)}}));
  const std::size_t max = 200;
  auto packages = split_into_packages(users, max);
  ASSERT_GT(packages.size(), 1u);
  std::size_t total = 0;
  for (const auto& p : packages) {
    EXPECT_FALSE(p.empty());
    EXPECT_LE(format_tab_records(p).size(), max);
    total += p.size();
  }
  EXPECT_EQ(total, users.size());
  // Packed as tightly as the greedy rule allows: adding the next record would overflow.
  for (std::size_t i = 0; i + 1 < packages.size(); ++i) {
    auto bigger = packages[i];
    bigger.push_back(packages[i + 1].front());
    EXPECT_GT(format_tab_records(bigger).size(), max);
  }

  auto requests = format_querydata_packages("SN1", "99", "user", users, max);
  ASSERT_EQ(requests.size(), packages.size());
  std::vector<Record> back;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    EXPECT_LE(requests[i].body.size(), max);
    auto r = must_parse(requests[i]);
    EXPECT_EQ(r.endpoint, Endpoint::querydata_tabledata);
    EXPECT_EQ(r.pagination.packcnt, static_cast<std::int64_t>(requests.size()));
    EXPECT_EQ(r.pagination.packidx, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(r.pagination.count, static_cast<std::int64_t>(r.records.size()));
    EXPECT_EQ(r.pagination.cmdid, "99");
    back.insert(back.end(), r.records.begin(), r.records.end());
  }
  EXPECT_EQ(back, users);
}

TEST(DeviceRequestsPackages, OversizedRecordTravelsAlone) {
  std::vector<Record> photos{rec("biophoto", {{"pin", "1"}, {"content", std::string(500, 'A')}}),
                             rec("biophoto", {{"pin", "2"}, {"content", "AA"}}),
                             rec("biophoto", {{"pin", "3"}, {"content", "AA"}})};
  auto packages = split_into_packages(photos, 100);
  ASSERT_EQ(packages.size(), 2u);
  EXPECT_EQ(packages[0].size(), 1u);
  EXPECT_EQ(packages[1].size(), 2u);
  EXPECT_EQ(split_into_packages(photos, 0).size(), 1u);  // no limit
  EXPECT_TRUE(split_into_packages({}, 100).empty());
  EXPECT_TRUE(format_querydata_packages("S", "1", "user", {}, 100).empty());
  // Table words count: records without one get it before measuring.
  auto reqs = format_querydata_packages("S", "1", "biophoto", {Record{{"pin", "1"}}, Record{{"pin", "2"}}}, 30);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body, "biophoto pin=1\nbiophoto pin=2");
  auto reqs2 = format_querydata_packages("S", "1", "biophoto", {Record{{"pin", "1"}}, Record{{"pin", "2"}}}, 20);
  EXPECT_EQ(reqs2.size(), 2u);
}

// ---- sloppy firmware ------------------------------------------------------------------------------------

TEST(DeviceRequestsSloppy, MixedCaseKeysAndQuery) {
  auto r = must_parse("post", "/ICLOCK/cdata?sn=S1&TABLE=TableData&TableName=USER&COUNT=1",
                      "USER UID=5\tCardNo=\tPIN=4\tName=Zhang San");
  EXPECT_EQ(r.endpoint, Endpoint::tabledata_user);
  EXPECT_EQ(r.sn, "S1");
  EXPECT_EQ(r.table, "user");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].prefix, "USER");
  EXPECT_EQ(r.records[0].fields[0].key, "UID");  // kept as sent
  EXPECT_EQ(r.records[0].get_or("pin", ""), "4");
  EXPECT_EQ(r.records[0].get_or("name", ""), "Zhang San");
  EXPECT_EQ(r.pagination.count, 1);
}

TEST(DeviceRequestsSloppy, LfCrlfNulAndTrailingSeparators) {
  std::string body = "time=2017-01-10 11:49:32\tpin=0\tevent=27\t\r\n\r\ntime=2017-01-10 11:49:33\tpin=1\tevent=0\r\n";
  body += '\0';
  auto r = must_parse("POST", "/iclock/cdata?SN=1&table=rtlog", body);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].size(), 3u);
  EXPECT_EQ(r.records[1].get_or("event", ""), "0");
  auto lf = must_parse("POST", "/iclock/cdata?SN=1&table=rtlog", "a=1\nb=2\n");
  EXPECT_EQ(lf.records.size(), 2u);
}

TEST(DeviceRequestsSloppy, SpacesInsteadOfTabs) {
  auto r = must_parse("POST", "/iclock/cdata?SN=1&table=rtlog",
                      "time=2017-01-10 11:49:32 pin=0 cardno=0 eventaddr=1 event=27 inoutstatus=1 verifytype=0 index=21");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].size(), 8u);
  EXPECT_EQ(r.records[0].get_or("time", ""), "2017-01-10 11:49:32");
  EXPECT_EQ(r.records[0].get_int("index"), 21);

  auto u = must_parse("POST", "/iclock/cdata?SN=1&table=tabledata&tablename=user&count=1",
                      "user uid=5 cardno= pin=4 password= group=1 name=Zhang San privilege=0");
  ASSERT_EQ(u.records.size(), 1u);
  EXPECT_EQ(u.records[0].get_or("name", ""), "Zhang San");
  EXPECT_EQ(u.records[0].get_or("privilege", ""), "0");
  EXPECT_EQ(u.records[0].get_or("cardno", "x"), "");

  auto id = must_parse("POST", "/iclock/cdata?SN=1&table=tabledata&tablename=identitycard&count=1",
                       "identitycard pin=1 IDNum=42 Address=No. 5 Road, Town Issuer=Bureau x");
  ASSERT_EQ(id.records.size(), 1u);
  EXPECT_EQ(id.records[0].get_or("IDNum", ""), "42");
  EXPECT_EQ(id.records[0].get_or("Address", ""), "No. 5 Road, Town");
  EXPECT_EQ(id.records[0].get_or("Issuer", ""), "Bureau x");
}

TEST(DeviceRequestsSloppy, MissingFieldsEmptyValuesUnknownKeys) {
  auto r = must_parse("POST", "/iclock/cdata?SN=1&table=rtlog", "event=27\tfuturekey=abc\tpin=");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].get_or("futurekey", ""), "abc");
  EXPECT_EQ(r.records[0].get_or("pin", "x"), "");
  EXPECT_FALSE(r.records[0].has("time"));
  auto o = must_parse("POST", "/iclock/cdata?SN=1&table=options", "A=1, B=2,,C=,");
  ASSERT_EQ(o.records.size(), 1u);
  EXPECT_EQ(o.records[0].size(), 3u);
  EXPECT_EQ(o.records[0].get_or("B", ""), "2");
}

TEST(DeviceRequestsSloppy, AspxAndGetForPushAndPing) {
  EXPECT_EQ(must_parse("GET", "/iclock/cdata.aspx?SN=1&options=all", "").endpoint, Endpoint::init);
  EXPECT_EQ(must_parse("GET", "/iclock/getrequest.aspx?SN=1", "").endpoint, Endpoint::getrequest);
  auto cmd = must_parse("POST", "/iclock/devicecmd.aspx?SN=1", "ID=5&Return=0&CMD=DATA");
  EXPECT_EQ(cmd.endpoint, Endpoint::devicecmd);
  EXPECT_EQ(cmd.records.size(), 1u);
  EXPECT_EQ(must_parse("GET", "/iclock/push?SN=1", "").endpoint, Endpoint::push_config);
  EXPECT_EQ(must_parse("POST", "/iclock/ping?SN=1", "").endpoint, Endpoint::ping);
}

TEST(DeviceRequestsSloppy, BareTokenCookieAndNoCookie) {
  // 7.4 sends "Cookie: <token>" without "token="; 7.8-7.12 send none. Neither stops parsing.
  std::string wire = "POST /iclock/devicecmd?SN=3383154200002 HTTP/1.1\r\nCookie: 1637f0b091af92b0cc66b8eede0ae48e\r\n"
                     "Content-Length: 35\r\n\r\nID=1&Return=0&CMD=DATA UPDATE";
  auto cap = parse_http_request(wire);
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->headers.get("cookie").value_or(""), "1637f0b091af92b0cc66b8eede0ae48e");
  auto r = parse_device_request(*cap);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->records.size(), 1u);
  EXPECT_FALSE(r->notes.empty());  // the Content-Length mismatch is reported
  auto none = parse_captured_request("POST /iclock/cdata?SN=1&table=rtlog HTTP/1.1\nHost: h\n\nevent=1");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->records.size(), 1u);
}

TEST(DeviceRequestsSloppy, GluedDeviceAuthorizePrefix) {
  auto r = must_parse("POST", "/iclock/cdata?SN=M1&type=registry&table=tabledata&tablename=DeviceAuthorize&count=2",
                      "DeviceAuthorizeSN=SUB1\tOnline=1\tIsAuthorize=0\ndeviceauthorize SN=SUB2\tOnline=0");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].prefix, "DeviceAuthorize");
  EXPECT_EQ(r.records[0].fields[0].key, "SN");
  EXPECT_EQ(r.records[0].get_or("SN", ""), "SUB1");
  EXPECT_EQ(r.records[1].get_or("sn", ""), "SUB2");
}

TEST(DeviceRequestsSloppy, LinesWithoutFieldsAreNotedNotFatal) {
  auto r = must_parse("POST", "/iclock/cdata?SN=1&table=rtstate", "garbage\ntime=1\tsensor=00");
  ASSERT_EQ(r.records.size(), 1u);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes[0].find("line 1"), std::string::npos);
}

TEST(DeviceRequestsSloppy, CountMismatchIsNoted) {
  auto r = must_parse("POST", "/iclock/cdata?SN=1&table=tabledata&tablename=user&count=3", "user uid=1\tpin=1");
  EXPECT_EQ(r.records.size(), 1u);
  bool noted = false;
  for (const auto& n : r.notes) noted = noted || n.find("count=3") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(DeviceRequestsSloppy, CountBodies) {
  std::string target = "/iclock/querydata?SN=1&type=count&cmdid=80&tablename=user&count=1&packcnt=1&packidx=1";
  for (std::string body : {std::string("user=5"), std::string("user=5\r\n"), std::string(" user = 5 "),
                           std::string("USER=5,"), std::string("user=5\0", 7)}) {
    auto r = must_parse("POST", target, body);
    EXPECT_EQ(counted_value(r), 5) << body;
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].size(), 1u);
  }
  // The count names another table than the query: kept, noted.
  auto other = must_parse("POST", target, "biophoto=2");
  EXPECT_EQ(counted_value(other), 2);
  EXPECT_FALSE(other.notes.empty());
  // No tablename in the query: the body names the table.
  auto bare = must_parse("POST", "/iclock/querydata?SN=1&type=count", "templatev10=7");
  EXPECT_EQ(bare.table, "templatev10");
  EXPECT_EQ(counted_value(bare), 7);
}

TEST(DeviceRequestsSloppy, TabledataWithoutTablename) {
  auto r = must_parse("POST", "/iclock/cdata?SN=1&table=tabledata", "templatev10 size=4\tpin=1\ttemplate=AAAA");
  EXPECT_EQ(r.endpoint, Endpoint::tabledata_templatev10);
  EXPECT_EQ(r.table, "templatev10");
  auto p = must_parse("POST", "/iclock/cdata?SN=1&table=tabledata", "pin=1.jpg\tsn=1\tsize=3\tphoto=AAAA");
  EXPECT_EQ(p.table, "ATTPHOTO");
}

// ---- errors ---------------------------------------------------------------------------------------------

TEST(DeviceRequestsErrors, MissingSn) {
  for (const char* target : {"/iclock/cdata?table=rtlog", "/iclock/getrequest", "/iclock/ping?SN=", "/iclock/cdata?SN=%20&table=rtlog"}) {
    auto r = parse_device_request("POST", target, "event=1");
    ASSERT_FALSE(r.ok()) << target;
    EXPECT_EQ(r.error().code, Errc::incomplete);
    EXPECT_EQ(r.error().where, "query parameter SN");
  }
  ParseOptions lax;
  lax.require_sn = false;
  EXPECT_TRUE(parse_device_request("GET", "/iclock/getrequest", "", lax).ok());
  // Not every request carries one: the firmware host of a ranged download, the 1.3 illustration.
  EXPECT_TRUE(parse_device_request("GET", "http://h/fw.bin", "").ok());
  EXPECT_TRUE(parse_device_request("GET", "/iclock/accounts/login/", "").ok());
}

// A serial number is 1..64 ASCII letters, digits, '-' or '_' (docs/protocol-decisions.md).
TEST(DeviceRequestsSerialNumber, EveryRealSerialNumberOfTheManualIsValid) {
  std::set<std::string> seen;
  for (const auto& file : testing::fixture_files()) {
    const auto fx = load_fixture(file);
    for (const auto* block : fx.blocks_of("REQUEST")) {
      auto capture = parse_http_request(to_wire(block->content));
      ASSERT_TRUE(capture.ok()) << file;
      std::string sn = sn_of(capture->target);
      if (sn.empty() || sn.front() == '$') continue;
      EXPECT_TRUE(is_valid_serial_number(sn)) << file << ": " << sn;
      seen.insert(sn);
    }
  }
  EXPECT_EQ(seen, (std::set<std::string>{"0316144680030", "123456789", "1809140005", "1809140006", "3383154200002",
                                         "5165181600015", "AJI6181160001", "ODG7030067031100001"}));
  // Serial numbers written in bodies and commands of the manual (sub-controllers, photos).
  for (const char* sn : {"DDG7012017010600049", "DDG7050067042500078"}) EXPECT_TRUE(is_valid_serial_number(sn)) << sn;
  // What our own tools send: the emulator's <prefix>000001, conformance's CFT.., spellings with - and _.
  for (const std::string& sn : std::vector<std::string>{"EMU000001", "CFT0000000001", "A", "ab-12_CD", std::string(64, '9')})
    EXPECT_TRUE(is_valid_serial_number(sn)) << sn;
}

TEST(DeviceRequestsSerialNumber, WhatIsNotASerialNumber) {
  for (std::string_view sn : {""sv, " "sv, "A B"sv, "A\nB"sv, "A\rB"sv, "A\0B"sv, "A\tB"sv, "\xC3\xA9"sv, "A\xFF"sv,
                              "A.B"sv, "."sv, ".."sv, "A/B"sv, "A%0AB"sv, "A'B"sv, "A\"B"sv, "A\\B"sv, "A*B"sv,
                              "A=B"sv, "A&B"sv, "${SerialNumber}"sv})
    EXPECT_FALSE(is_valid_serial_number(sn)) << text::printable(sn);
  EXPECT_TRUE(is_valid_serial_number(std::string(kMaxSerialNumberLength, 'A')));
  EXPECT_FALSE(is_valid_serial_number(std::string(kMaxSerialNumberLength + 1, 'A')));
  EXPECT_FALSE(is_valid_serial_number(std::string(300, 'A')));
}

// The request of the report: a percent-encoded LF would write a forged line into the server log.
TEST(DeviceRequestsSerialNumber, ForgedLogLineIsRefusedAndQuotedSafely) {
  auto r = parse_device_request("GET", "/iclock/cdata?SN=EVIL%0A%5B2026-01-01%5D%20%5Binfo%5D%20fake&options=all", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::bad_value);
  EXPECT_EQ(r.error().where, "query parameter SN");
  std::string s = r.error().to_string();
  EXPECT_EQ(s,
            "bad_value: SN 'EVIL\\n[2026-01-01] [info] fake' is not a serial number: byte 5 ('\\n') is not a letter, "
            "digit, '-' or '_' (at query parameter SN)");
  EXPECT_EQ(r.error().what.find('\n'), std::string::npos);  // the message itself, not only to_string()
}

TEST(DeviceRequestsSerialNumber, BadSerialNumbersAreRefusedWithoutRawBytesInTheMessage) {
  const std::string long_sn(300, 'A');
  struct Case {
    std::string encoded;  // as it stands in the query
    std::string shown;    // how the message quotes it
  };
  const Case cases[] = {
      {"A%0DB", "A\\rB"},           {"A%00B", "A\\x00B"},     {"A%20B", "A B"},
      {"%C3%A9T1", "\\xc3\\xa9T1"}, {"A%FFB", "A\\xffB"},     {"A'%22B", "A\\'\\\"B"},
      {"A%5Cn", "A\\\\n"},         {"S%0D%0AHost:x", "S\\r\\nHost:x"},
      {long_sn, std::string(64, 'A') + "...(300 bytes)"}, {std::string(65, 'B'), std::string(64, 'B') + "...(65 bytes)"},
      {"${SerialNumber}", "${SerialNumber}"},
  };
  for (const Case& c : cases) {
    for (std::string_view method : {"GET", "POST"}) {
      std::string target = "/iclock/cdata?SN=" + c.encoded + "&table=rtlog";
      auto r = parse_device_request(method, target, "event=1");
      ASSERT_FALSE(r.ok()) << target;
      EXPECT_EQ(r.error().code, Errc::bad_value) << target;
      EXPECT_EQ(r.error().where, "query parameter SN");
      EXPECT_EQ(r.error().what.rfind("SN '" + c.shown + "' is not a serial number: ", 0), 0u) << r.error().what;
      for (const std::string& text : {r.error().what, r.error().to_string()})
        for (char ch : text) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << target << ": " << int(static_cast<unsigned char>(ch));
    }
  }
  auto too_long = parse_device_request("GET", "/iclock/ping?SN=" + long_sn, "");
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().what.find("longer than 64 bytes (300)"), std::string::npos) << too_long.error().what;
  // Checked whether or not the endpoint needs one, and even when SN is not required.
  ParseOptions lax;
  lax.require_sn = false;
  EXPECT_FALSE(parse_device_request("GET", "/iclock/getrequest?SN=A%0AB", "", lax).ok());
  EXPECT_FALSE(parse_device_request("GET", "/iclock/accounts/login/?SN=A%20B", "").ok());
}

TEST(DeviceRequestsSerialNumber, KeySpellingAndBlanksStayLiberal) {
  for (const char* key : {"SN", "sn", "Sn", "sN"}) {
    auto r = must_parse("GET", std::string("/iclock/getrequest?") + key + "=DDG7012017010600049", "");
    EXPECT_EQ(r.sn, "DDG7012017010600049") << key;
  }
  EXPECT_EQ(must_parse("GET", "/iclock/getrequest?SN=%20ab-12_CD%09", "").sn, "ab-12_CD");  // blanks around: trimmed
  EXPECT_EQ(must_parse("GET", "/iclock/getrequest?SN=A%2D1", "").sn, "A-1");                 // percent-decoded first
  EXPECT_EQ(must_parse("GET", "/iclock/getrequest?SN=S1&sn=S1", "").sn, "S1");               // twice, same value
  auto twice = parse_device_request("GET", "/iclock/getrequest?SN=GOOD1&sn=EVIL%0A", "");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, Errc::malformed);
  EXPECT_EQ(twice.error().where, "query parameter SN");
  EXPECT_EQ(twice.error().what, "SN given twice with different values: 'GOOD1' and 'EVIL\\n'");
  // And what the emulator sends with such a serial number parses back to it.
  auto out = format_init_request("ab-12_CD");
  EXPECT_EQ(out.target, "/iclock/cdata?SN=ab-12_CD&pushver=3.1.2&options=all");
  EXPECT_EQ(must_parse(out).sn, "ab-12_CD");
}

TEST(DeviceRequestsErrors, DevicecmdLineWithoutId) {
  auto r = parse_device_request("POST", "/iclock/devicecmd?SN=1", "ID=1&Return=0&CMD=DATA\nReturn=0&CMD=DATA");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::malformed);
  EXPECT_EQ(r.error().where, "line 2");
  EXPECT_FALSE(parse_device_request("POST", "/iclock/devicecmd?SN=1", "ID=&Return=0").ok());
  auto empty = must_parse("POST", "/iclock/devicecmd?SN=1", "");
  EXPECT_TRUE(empty.records.empty());
}

TEST(DeviceRequestsErrors, AccountArchiveGarbage) {
  std::string target = "/iclock/querydata?SN=1&type=tabledata&cmdid=1&tablename=transaction&count=1&datafmt=3&Stamp=9999";
  std::string head = std::string("name=transaction.tgz\nsize=10\ndatacode=base64\ndatatype=tgz") + '\0';
  auto garbage = parse_device_request("POST", target, head + "!!!not base64!!!");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, Errc::bad_value);
  auto not_tgz = parse_device_request("POST", target, head + base64_encode("plain text, not an archive"));
  ASSERT_FALSE(not_tgz.ok());
  EXPECT_EQ(not_tgz.error().code, Errc::malformed);
  EXPECT_NE(not_tgz.error().what.find("ACCOUNT archive"), std::string::npos);
  auto tgz = transaction_tgz({Record{{"pin", "1"}}});
  ASSERT_TRUE(tgz.ok());
  auto truncated = parse_device_request("POST", target, head + base64_encode(tgz->substr(0, tgz->size() / 2)));
  ASSERT_FALSE(truncated.ok());
  auto no_header = parse_device_request("POST", target, std::string(1, '\0') + base64_encode(*tgz));
  ASSERT_FALSE(no_header.ok());
  EXPECT_EQ(no_header.error().code, Errc::incomplete);
}

TEST(DeviceRequestsErrors, OtherMalformedBodies) {
  auto count = parse_device_request("POST", "/iclock/querydata?SN=1&type=count&tablename=user", "user=five");
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.error().code, Errc::bad_value);
  EXPECT_EQ(count.error().where, "field 'user'");
  EXPECT_FALSE(parse_device_request("POST", "/iclock/querydata?SN=1&type=count", "nothing").ok());
  auto key = parse_device_request("POST", "/iclock/exchange?SN=1&type=publickey", "Factors=abc");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, Errc::incomplete);
  auto remote = parse_device_request("POST", "/iclock/cdata?SN=1&AuthType=device", "");
  ASSERT_FALSE(remote.ok());
  EXPECT_EQ(remote.error().code, Errc::incomplete);
  ParseOptions small;
  small.max_records = 2;
  auto many = parse_device_request("POST", "/iclock/cdata?SN=1&table=rtlog", "a=1\nb=2\nc=3", small);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().code, Errc::too_large);
}

TEST(DeviceRequestsHelpers, OptionValueToleratesTilde) {
  Record o{{"~MaxUserFingerCount", "10"}, {"MaxFingerCount", "40"}, {"~DeviceName", "F20"}};
  EXPECT_EQ(option_value(o, "MaxUserFingerCount").value_or(""), "10");
  EXPECT_EQ(option_value(o, "~maxuserfingercount").value_or(""), "10");
  EXPECT_EQ(option_value(o, "~MaxFingerCount").value_or(""), "40");
  EXPECT_EQ(option_value(o, "devicename").value_or(""), "F20");
  EXPECT_FALSE(option_value(o, "Nothing").has_value());
  EXPECT_EQ(registry_keys().size(), 92u);
  EXPECT_EQ(registry_keys().front(), "DeviceType");
  EXPECT_FALSE(known_keys_of("user").empty());
  EXPECT_TRUE(known_keys_of("nosuchtable").empty());
}

// ---- ambiguities ---------------------------------------------------------------------------------------

// 1: the emulator sends push as POST with an empty body; the server accepts GET too.
TEST(DeviceRequestsAmbiguity, Ambiguity1_PushSentAsPostAcceptedAsGet) {
  OutgoingRequest p = format_push_config_request("S");
  EXPECT_EQ(p.method, "POST");
  EXPECT_EQ(p.target, "/iclock/push?SN=S");
  EXPECT_EQ(p.body, "");
  EXPECT_EQ(must_parse("GET", "/iclock/push?SN=S", "").endpoint, Endpoint::push_config);
}

// 2: the emulator sends ping as GET; the server accepts POST too.
TEST(DeviceRequestsAmbiguity, Ambiguity2_PingSentAsGetAcceptedAsPost) {
  EXPECT_EQ(format_ping("S").method, "GET");
  EXPECT_EQ(must_parse("POST", "/iclock/ping?SN=S", "").endpoint, Endpoint::ping);
}

// 6: parsing has no session state: every step parses on its own, in any order.
TEST(DeviceRequestsAmbiguity, Ambiguity6_NoOrderImposedOnRequests) {
  std::vector<OutgoingRequest> steps{format_push_config_request("S"), format_exchange_factors("S", "x"),
                                     format_registry_request("S", Record{{"DeviceType", "acc"}}),
                                     format_exchange_publickey("S", "y"), format_init_request("S")};
  std::vector<Endpoint> expected{Endpoint::push_config, Endpoint::exchange_factors, Endpoint::registry,
                                 Endpoint::exchange_publickey, Endpoint::init};
  for (std::size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(must_parse(steps[i]).endpoint, expected[i]);
}

// 7: records split on LF; CR, NUL and the manual's "+3 bytes" dropped; Content-Length ignored in
// captures; the emulator writes LF between records, CR LF only where the grammar does.
TEST(DeviceRequestsAmbiguity, Ambiguity7_TerminatorsAndWrongContentLength) {
  std::string record = "time=2017-01-10 11:49:32\tpin=0\tcardno=0\teventaddr=1\tevent=27\tinoutstatus=1\tverifytype=0\tindex=21";
  ASSERT_EQ(record.size(), 96u);
  for (std::string tail : {std::string("\r\n") + '\0', std::string("\n\0\0", 3), std::string("\r\n\r\n"), std::string("")}) {
    std::string wire = "POST /iclock/cdata?SN=1&table=rtlog HTTP/1.1\r\nContent-Length: 99\r\n\r\n" + record + tail;
    auto r = parse_captured_request(wire);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->records.size(), 1u);
    EXPECT_EQ(r->records[0].get_or("index", ""), "21");
    EXPECT_EQ(r->body.size(), 96u + tail.size());
  }
  std::vector<Record> two{Record{{"a", "1"}}, Record{{"a", "2"}}};
  EXPECT_EQ(format_rtlog_upload("S", two).body, "a=1\na=2");
  EXPECT_EQ(format_tabledata_upload("S", "user", two).body, "user a=1\nuser a=2");
  EXPECT_EQ(format_irstate_upload("S", two).body, "a=1\r\na=2\r\n");
  std::vector<Record> alarm{Record{{"event", "1"}, {"Alarmtype", "200"}}};
  EXPECT_EQ(format_rtlog_upload("S", alarm).body, "event=1\tAlarmtype=200\r\n");
  EXPECT_EQ(format_enroll_bio_upload("S", two).body, "a=1\r\na=2");
}

// 35: every rtlog field optional and in any order; unknown keys kept; Alarmtype (any case) makes a
// cancelled-alarm event; the 7.13 example without Alarmtype is an ordinary rtlog.
TEST(DeviceRequestsAmbiguity, Ambiguity35_RtlogFieldsOptionalAndAlarmtype) {
  auto minimal = must_parse("POST", "/iclock/cdata?SN=1&table=rtlog", "event=4000");
  EXPECT_EQ(minimal.endpoint, Endpoint::rtlog);
  EXPECT_EQ(minimal.records[0].get_int("event"), 4000);
  auto reordered = must_parse("POST", "/iclock/cdata?SN=1&table=rtlog", "index=2\tbitcount=26\ttime=2020-01-01 00:00:00\tx=y");
  EXPECT_EQ(reordered.records[0].get_int("bitCount"), 26);
  EXPECT_EQ(reordered.records[0].get_or("x", ""), "y");
  auto alarm = must_parse("POST", "/iclock/cdata?SN=1&table=rtlog", "time=2020-01-01 00:00:00\tevent=7\talarmtype=200\r\n");
  EXPECT_EQ(alarm.endpoint, Endpoint::rtlog_cancel_alarm);
  EXPECT_TRUE(is_cancel_alarm(alarm.records[0]));
  auto fx = load_fixture("7.13-rtlog-cancel-alarm.txt");
  auto copy = parse_captured_request(to_wire(fx.blocks_of("REQUEST")[0]->content));
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->endpoint, Endpoint::rtlog);
  auto with = parse_captured_request(to_wire(fx.blocks_of("REQUEST")[0]->content) + "\tAlarmtype=200\r\n");
  ASSERT_TRUE(with.ok());
  EXPECT_EQ(with->endpoint, Endpoint::rtlog_cancel_alarm);
}

// 36: ATTPHOTO records have no table word (one is tolerated), pin is a file name, size is not
// compared with the base64 length.
TEST(DeviceRequestsAmbiguity, Ambiguity36_AttphotoWithoutWord) {
  std::string photo = base64_encode("\xff\xd8\xff\xe0 jpeg bytes");
  auto r = must_parse("POST", "/iclock/cdata?SN=1&table=tabledata&tablename=ATTPHOTO&count=1",
                      "pin=20181003143617-22.jpg\tsn=1809140006\tsize=17\tphoto=" + photo);
  EXPECT_EQ(r.endpoint, Endpoint::tabledata_attphoto);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].prefix, "");
  EXPECT_EQ(r.records[0].get_or("pin", ""), "20181003143617-22.jpg");
  EXPECT_EQ(r.records[0].get_or("photo", ""), photo);
  auto worded = must_parse("POST", "/iclock/cdata?SN=1&table=tabledata&tablename=attphoto&count=1",
                           "ATTPHOTO pin=1.jpg\tsize=999\tphoto=AAAA");
  EXPECT_EQ(worded.records[0].prefix, "ATTPHOTO");
  EXPECT_EQ(worded.table, "ATTPHOTO");
  EXPECT_EQ(format_tabledata_upload("S", "ATTPHOTO", {Record{{"pin", "1.jpg"}, {"size", "3"}}}).body, "pin=1.jpg\tsize=3");
}

// 37: transaction records keep undocumented keys (sn=) and values (inoutstate=2); transaction.txt
// has no table word; the 9.2.1 header takes LF or CR LF, with or without the NUL; the /iclock/file
// body is raw tgz when sent, raw or base64 when received.
TEST(DeviceRequestsAmbiguity, Ambiguity37_TransactionAndAccountCarriers) {
  auto q = must_parse("POST", "/iclock/querydata?SN=1&type=tabledata&cmdid=415&tablename=transaction&count=1&packcnt=1&packidx=1",
                      "transaction cardno=0\tpin=0\tinoutstate=2\tsn=3383154200002");
  EXPECT_EQ(q.records[0].get_or("sn", ""), "3383154200002");
  EXPECT_EQ(q.records[0].get_int("inoutstate"), 2);

  std::vector<Record> tx{Record{{"cardno", "0"}, {"pin", "7"}, {"time_second", "548003687"}, {"index", "92"}}};
  auto tgz = transaction_tgz(tx);
  ASSERT_TRUE(tgz.ok());
  std::string target = "/iclock/querydata?SN=1&type=tabledata&cmdid=291&tablename=transaction&count=1&datafmt=3&Stamp=9999";
  std::string b64 = base64_encode(*tgz);
  std::string size = std::to_string(tgz->size());
  for (const std::string& body :
       {"name=transaction.tgz\r\nsize=" + size + "\r\ndatacode=base64\r\ndatatype=tgz" + std::string(1, '\0') + b64,
        "name=transaction.tgz\nsize=" + size + "\ndatacode=base64\ndatatype=tgz\n" + b64,
        "name=transaction.tgz\nsize=" + size + "\ndatacode=base64\ndatatype=tgz" + b64,
        "name=transaction.tgz\nsize=" + size + "\ndatacode=base64\ndatatype=tgz" + std::string(1, '\0') + "\r\n" +
            b64.substr(0, 10) + "\r\n" + b64.substr(10) + "\r\n"}) {
    auto r = parse_device_request("POST", target, body);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->endpoint, Endpoint::querydata_account_tgz);
    EXPECT_EQ(r->records, tx);
    EXPECT_EQ(r->archive->header.get_or("datatype", ""), "tgz");
  }
  std::string file_target = "/iclock/file?SN=1&cmdid=2&fileseq=1&contenttype=tgz&table=transaction&count=1";
  EXPECT_EQ(must_parse("POST", file_target, *tgz).records, tx);
  auto b = must_parse("POST", file_target, b64);
  EXPECT_EQ(b.records, tx);
  EXPECT_FALSE(b.notes.empty());
  EXPECT_EQ(format_account_file("1", "2", 1, 1, *tgz).body, *tgz);
  EXPECT_EQ(format_transaction_records(tx), "cardno=0\tpin=7\ttime_second=548003687\tindex=92\n");
}

// 40: "DeviceAuthorize SN=.." is sent with the space; the glued "DeviceAuthorizeSN=.." is read;
// AuthorizeInfo/RegisterInfo are opaque (commas, spaces kept).
TEST(DeviceRequestsAmbiguity, Ambiguity40_DeviceAuthorize) {
  std::vector<Record> recs{Record{{"SN", "SUB1"}, {"Online", "1"}, {"IsAuthorize", "1"}, {"AuthorizeInfo", "x,y z"},
                                  {"RegisterInfo", "k=v"}}};
  OutgoingRequest out = format_device_authorize_upload("M1", recs);
  EXPECT_EQ(out.target, "/iclock/cdata?SN=M1&type=registry&table=tabledata&tablename=DeviceAuthorize&count=1");
  EXPECT_EQ(out.body, "DeviceAuthorize SN=SUB1\tOnline=1\tIsAuthorize=1\tAuthorizeInfo=x,y z\tRegisterInfo=k=v");
  auto back = must_parse(out);
  EXPECT_EQ(back.records[0].get_or("AuthorizeInfo", ""), "x,y z");
  EXPECT_EQ(back.records[0].get_or("RegisterInfo", ""), "k=v");
  auto glued = must_parse("POST", "/iclock/cdata?SN=M1&type=registry&table=tabledata&tablename=DeviceAuthorize&count=1",
                          "DeviceAuthorizeSN=SUB1\tOnline=1");
  EXPECT_EQ(glued.records[0].prefix, "DeviceAuthorize");
  EXPECT_EQ(glued.records[0].get_or("SN", ""), "SUB1");
}

// 42: the registration body is read whatever the template's typos: a value run into the next key
// is split, '~' is optional on lookup, stray braces and unknown keys are kept.
TEST(DeviceRequestsAmbiguity, Ambiguity42_RegistryBodyTypos) {
  auto r = must_parse("POST", "/iclock/registry?SN=1",
                      "DeviceType=acc,MThreshold=60},BioPhotoFun=1BioDataFun=1,MaxUserFingerCount=10,IsSupportQRcode=2,"
                      "Net=1GATEIPAddress=10.0.0.1,NewKey=x");
  ASSERT_EQ(r.records.size(), 1u);
  const Record& o = r.records[0];
  EXPECT_EQ(o.get_or("BioPhotoFun", ""), "1");
  EXPECT_EQ(o.get_or("BioDataFun", ""), "1");
  EXPECT_EQ(o.get_or("MThreshold", ""), "60}");
  EXPECT_EQ(option_value(o, "~MaxUserFingerCount").value_or(""), "10");
  EXPECT_EQ(o.get_or("IsSupportQRcode", ""), "2");
  EXPECT_EQ(o.get_or("Net", ""), "1");
  EXPECT_EQ(o.get_or("GATEIPAddress", ""), "10.0.0.1");
  EXPECT_EQ(o.get_or("NewKey", ""), "x");
  EXPECT_FALSE(r.notes.empty());
  // Values that merely contain '=' are not split unless a registration key precedes it.
  auto v = must_parse("POST", "/iclock/registry?SN=1", "authKey=abc=,VMSPasswd=p=q");
  EXPECT_EQ(v.records[0].get_or("authKey", ""), "abc=");
  EXPECT_EQ(v.records[0].get_or("VMSPasswd", ""), "p=q");
}

// 44: lost or truncated examples: truncated base64 values parse (they are kept as text, not
// decoded); lost bodies are replaced in the golden test by bodies built from the grammar.
TEST(DeviceRequestsAmbiguity, Ambiguity44_TruncatedAndLostExamples) {
  auto fx = load_fixture("7.7-upload-templatev10.txt");
  auto r = parse_captured_request(to_wire(fx.blocks_of("REQUEST")[0]->content));
  ASSERT_TRUE(r.ok());
  std::string_view tmpl = r->records[0].get_or("template", "");
  EXPECT_NE(static_cast<std::size_t>(r->records[0].get_int("size").value_or(0)), tmpl.size());  // truncated in the manual
  auto lost = load_fixture("7.14-irstate.txt");
  auto c = parse_captured_request(to_wire(lost.blocks_of("REQUEST")[0]->content));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->endpoint, Endpoint::irstate);
  auto built = must_parse(format_irstate_upload("3383154200002", {Record{{"irstate", "1"}, {"runcount", "2"}}}));
  EXPECT_EQ(built.records[0].get_int("runcount"), 2);
}

}  // namespace
}  // namespace zkpush::protocol
