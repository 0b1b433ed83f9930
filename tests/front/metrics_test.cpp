// GET /metrics: the exposition format, the counters it shows after real device traffic over real
// sockets into a real store (fixture in serve_fixture.hpp), and the pieces it is built from.
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "front/metrics.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;    // NOLINT
using namespace front;  // NOLINT
using namespace std::chrono_literals;

// Checks that `text` is Prometheus text exposition 0.0.4 and returns its samples as
// "name{labels}" -> value. Every line must be a # HELP / # TYPE comment or `name{labels} value`,
// every sample must belong to a family declared by a # TYPE line before it, and no series may
// appear twice.
std::map<std::string, double> parse_exposition(const std::string& text) {
  static const std::regex type_line(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
  static const std::regex help_line(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*)");
  static const std::regex sample_line(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (\S+))");
  std::map<std::string, std::string> types;
  std::map<std::string, double> samples;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the last line must end with a newline";
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, type_line)) {
      EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "family declared twice: " << line;
      continue;
    }
    if (std::regex_match(line, help_line)) continue;
    if (!std::regex_match(line, m, sample_line)) {
      ADD_FAILURE() << "not a comment nor a sample: '" << line << "'";
      continue;
    }
    const std::string name = m[1];
    std::string family = name;
    for (std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (name.size() > suffix.size() && name.ends_with(suffix)) {
        const auto base = name.substr(0, name.size() - suffix.size());
        if (types.count(base) && types[base] == "histogram") family = base;
      }
    }
    EXPECT_TRUE(types.count(family)) << "sample before its # TYPE: " << line;
    const std::string value = m[3];
    double v = 0;
    if (value == "+Inf") {
      v = std::numeric_limits<double>::infinity();
    } else {
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      EXPECT_TRUE(ec == std::errc{} && ptr == value.data() + value.size()) << "bad value: " << line;
    }
    EXPECT_TRUE(samples.emplace(name + std::string(m[2]), v).second) << "series twice: " << line;
  }
  return samples;
}

double at(const std::map<std::string, double>& samples, const std::string& series) {
  auto it = samples.find(series);
  EXPECT_NE(it, samples.end()) << "no series " << series;
  return it == samples.end() ? -1 : it->second;
}

double value_or_zero(const std::map<std::string, double>& samples, const std::string& series) {
  auto it = samples.find(series);
  return it == samples.end() ? 0 : it->second;
}

class MetricsTest : public ServeFixture {
 protected:
  std::map<std::string, double> scrape() {
    auto r = send_raw(http::test::request("GET", "/metrics"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Type").value_or(""), "text/plain; version=0.0.4; charset=utf-8");
    return parse_exposition(r.body);
  }
};

TEST_F(MetricsTest, CountsRequestsEventsAndDevicesAfterRealTraffic) {
  start();
  const std::string sn = "METRICS0001";
  const std::string token = handshake(sn);
  std::vector<p::Record> records{rtlog_record(1, "2019-07-22 16:30:01"), rtlog_record(2, "2019-07-22 16:30:05")};
  EXPECT_EQ(send(p::format_rtlog_upload(sn, records), token).status, 200);
  EXPECT_EQ(send(p::format_rtlog_upload(sn, records), token).status, 200);  // a re-send: duplicates
  EXPECT_EQ(send_raw(http::test::request("GET", "/iclock/nonsense?SN=" + sn)).status, 400);
  EXPECT_EQ(send_raw(http::test::request("GET", "/iclock/getrequest")).status, 400);  // no SN

  auto m = scrape();
  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="init",status="200"})"), 1);
  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="registry",status="200"})"), 1);
  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="push_config",status="200"})"), 1);
  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="rtlog",status="200"})"), 2);
  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="unknown",status="400"})"), 1);
  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="getrequest",status="400"})"), 1);
  EXPECT_EQ(value_or_zero(m, R"(zkpush_requests_total{endpoint="rtlog",status="400"})"), 0);

  EXPECT_EQ(at(m, "zkpush_events_ingested_total"), 2);
  EXPECT_EQ(at(m, "zkpush_events_duplicate_total"), 2);
  EXPECT_EQ(at(m, "zkpush_devices_known"), 1);
  EXPECT_EQ(at(m, "zkpush_devices_online"), 1);
  EXPECT_EQ(at(m, "zkpush_devices_pending_approval"), 0);
  EXPECT_EQ(at(m, "zkpush_command_queue_depth"), 0);

  // Both rtlog 200s were committed uploads; the handshake is not an ingest.
  EXPECT_EQ(at(m, "zkpush_ingest_duration_seconds_count"), 2);
  EXPECT_EQ(at(m, R"(zkpush_ingest_duration_seconds_bucket{le="+Inf"})"), 2);
  EXPECT_GT(at(m, "zkpush_ingest_duration_seconds_sum"), 0);
  EXPECT_EQ(at(m, R"(zkpush_request_duration_seconds_count{group="upload"})"), 2);
  EXPECT_EQ(at(m, R"(zkpush_request_duration_seconds_count{group="handshake"})"), 3);
  EXPECT_EQ(at(m, R"(zkpush_request_duration_seconds_count{group="other"})"), 1);  // the unknown one

  // Transport: one connection per request so far (the fixture does not reuse them), plus this one.
  EXPECT_GE(at(m, "zkpush_http_connections_accepted_total"), 8);
  EXPECT_GE(at(m, "zkpush_http_connections_open"), 1);
  EXPECT_EQ(at(m, "zkpush_http_connections_refused_total"), 0);
  // The store: the events are on disk.
  EXPECT_EQ(at(m, "zkpush_store_events"), 2);
  EXPECT_EQ(at(m, "zkpush_store_devices"), 1);
  EXPECT_GE(at(m, "zkpush_store_write_jobs_total"), 3);

  EXPECT_GT(at(m, "process_resident_memory_bytes"), 0);
  EXPECT_GT(at(m, "process_open_fds"), 0);
  EXPECT_GT(at(m, "process_start_time_seconds"), 1.5e9);
  EXPECT_GE(at(m, "process_cpu_seconds_total"), 0);

  // The scrape itself is counted, under its own endpoint and never under a device.
  auto again = scrape();
  EXPECT_EQ(at(again, R"(zkpush_requests_total{endpoint="metrics",status="200"})"), 1);
  EXPECT_EQ(at(again, R"(zkpush_requests_total{endpoint="rtlog",status="200"})"), 2);
  for (const auto& [series, value] : again) EXPECT_EQ(series.find(sn), std::string::npos) << series;
}

TEST_F(MetricsTest, QueueDepthFollowsEnqueueDeliveryAndResult) {
  start();
  const std::string sn = "METRICS0002";
  const std::string token = handshake(sn);
  EXPECT_EQ(at(scrape(), "zkpush_command_queue_depth"), 0);
  ASSERT_NE(enqueue(sn, "CONTROL DEVICE 01010105"), 0);
  EXPECT_EQ(at(scrape(), "zkpush_command_queue_depth"), 1);

  auto poll = send(p::format_getrequest(sn), token);
  auto commands = p::parse_commands(poll.body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1u) << poll.body;
  // Delivered but not answered: still open.
  EXPECT_EQ(at(scrape(), "zkpush_command_queue_depth"), 1);

  auto result = p::make_command_result(commands->front(), 0);
  auto done = send(p::format_devicecmd_results(sn, {p::parse_amp_list(p::format_command_result(result))}), token);
  EXPECT_EQ(done.status, 200);
  auto m = scrape();
  EXPECT_EQ(at(m, "zkpush_command_queue_depth"), 0);
  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="getrequest",status="200"})"), 1);
  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="devicecmd",status="200"})"), 1);
  // devicecmd results are committed before the 200: an ingest.
  EXPECT_EQ(at(m, "zkpush_ingest_duration_seconds_count"), 1);
}

TEST_F(MetricsTest, PendingApprovalCounted) {
  ServerConfig config;
  config.registration = RegistrationPolicy::approve;
  start(config);
  EXPECT_EQ(send(p::format_init_request("WAITING0001")).status, 200);
  EXPECT_EQ(send(p::format_registry_request("WAITING0001", registry_options())).status, 406);
  auto m = scrape();
  EXPECT_EQ(at(m, "zkpush_devices_known"), 1);
  EXPECT_EQ(at(m, "zkpush_devices_pending_approval"), 1);
  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="registry",status="406"})"), 1);
}

// Captures what the server logs while it lives.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)), previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::size_t count(std::string_view needle) const {
    std::size_t n = 0;
    for (const auto& line : sink_->last_formatted()) n += line.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

// The capture outlives the server (members are destroyed after TearDown), so no server thread
// logs into a logger being replaced.
class MetricsLogTest : public MetricsTest {
 protected:
  LogCapture log;
};

TEST_F(MetricsLogTest, TokenMismatchUnderWarnCountedEveryTimeLoggedOncePerDevice) {
  ServerConfig config;
  config.token = TokenPolicy::warn;
  start(config);
  const std::string a = "TOKENWARN01";
  const std::string b = "TOKENWARN02";
  handshake(a);
  handshake(b);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(send(p::format_getrequest(a), std::string(32, 'a')).status, 200);
  EXPECT_EQ(send(p::format_getrequest(b), std::string(32, 'b')).status, 200);
  auto m = scrape();
  EXPECT_EQ(at(m, R"(zkpush_token_mismatch_total{policy="warn"})"), 4);
  EXPECT_EQ(at(m, R"(zkpush_token_mismatch_total{policy="strict"})"), 0);
  EXPECT_EQ(log.count(a + ": token mismatch"), 1u);
  EXPECT_EQ(log.count(b + ": token mismatch"), 1u);
}

TEST_F(MetricsLogTest, TokenMismatchUnderStrictAndMissingTokenCounted) {
  start();
  const std::string sn = "TOKENSTRICT1";
  handshake(sn);
  EXPECT_EQ(send(p::format_getrequest(sn), std::string(32, 'a')).status, 401);
  EXPECT_EQ(send(p::format_getrequest(sn), std::string(32, 'a')).status, 401);
  EXPECT_EQ(send(p::format_getrequest(sn)).status, 200);  // no cookie: accepted by default
  auto m = scrape();
  EXPECT_EQ(at(m, R"(zkpush_token_mismatch_total{policy="strict"})"), 2);
  EXPECT_EQ(at(m, R"(zkpush_token_mismatch_total{policy="warn"})"), 0);
  EXPECT_EQ(at(m, "zkpush_token_missing_total"), 1);
  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="getrequest",status="401"})"), 2);
  // A refusal is logged every time.
  EXPECT_EQ(log.count(sn + ": token mismatch"), 2u);
}

// ---- the parts ------------------------------------------------------------------------------------------

TEST(MetricsUnit, HistogramBucketsAreInclusiveUpperBounds) {
  Histogram h;
  h.observe(300us);
  h.observe(1ms);  // exactly on a bound: in that bucket (le means <=)
  h.observe(2ms);
  h.observe(60s);  // past the last bound: +Inf only
  auto s = h.snapshot();
  EXPECT_EQ(s.count, 4u);
  EXPECT_EQ(s.buckets[0], 1u);  // le 0.0005
  EXPECT_EQ(s.buckets[1], 1u);  // le 0.001
  EXPECT_EQ(s.buckets[2], 1u);  // le 0.0025
  EXPECT_EQ(s.buckets.back(), 1u);
  EXPECT_NEAR(s.sum_seconds, 60.0033, 1e-9);
}

TEST(MetricsUnit, RenderIsValidExpositionWithCumulativeBuckets) {
  auto metrics = std::make_unique<Metrics>();
  const auto rtlog = metric_slot(p::Endpoint::rtlog);
  metrics->record_response(rtlog, 200, 3ms);
  metrics->record_response(rtlog, 200, 4ms);
  metrics->record_response(rtlog, 503, 1ms);  // not durable: no ingest sample
  metrics->record_response(metric_slot(p::Endpoint::getrequest), 200, 100us);
  metrics->record_response(metric_slot(p::Endpoint::unknown), 42, 1ms);  // nonsense status
  metrics->add_events(5, 1);
  metrics->token_mismatch(TokenPolicy::warn);
  ScrapeInputs in;
  in.devices_known = 3;
  in.devices_online = 2;
  in.command_queue_depth = 7;
  in.process = false;
  const std::string text = metrics->render(in);
  auto m = parse_exposition(text);

  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="rtlog",status="200"})"), 2);
  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="rtlog",status="503"})"), 1);
  EXPECT_EQ(at(m, R"(zkpush_requests_total{endpoint="unknown",status="other"})"), 1);
  EXPECT_EQ(metrics->requests(rtlog, 200), 2u);
  // Buckets are cumulative in the text: 1 ms, 3 ms and 4 ms.
  EXPECT_EQ(at(m, R"(zkpush_request_duration_seconds_bucket{group="upload",le="0.0005"})"), 0);
  EXPECT_EQ(at(m, R"(zkpush_request_duration_seconds_bucket{group="upload",le="0.001"})"), 1);
  EXPECT_EQ(at(m, R"(zkpush_request_duration_seconds_bucket{group="upload",le="0.0025"})"), 1);
  EXPECT_EQ(at(m, R"(zkpush_request_duration_seconds_bucket{group="upload",le="0.005"})"), 3);
  EXPECT_EQ(at(m, R"(zkpush_request_duration_seconds_bucket{group="upload",le="30"})"), 3);
  EXPECT_EQ(at(m, R"(zkpush_request_duration_seconds_bucket{group="upload",le="+Inf"})"), 3);
  EXPECT_EQ(at(m, R"(zkpush_request_duration_seconds_count{group="upload"})"), 3);
  EXPECT_NEAR(at(m, R"(zkpush_request_duration_seconds_sum{group="upload"})"), 0.008, 1e-12);
  EXPECT_EQ(at(m, R"(zkpush_request_duration_seconds_count{group="poll"})"), 1);
  EXPECT_EQ(m.count(R"(zkpush_request_duration_seconds_count{group="api"})"), 0u);  // nothing seen: no series
  EXPECT_EQ(at(m, "zkpush_ingest_duration_seconds_count"), 2);
  EXPECT_NEAR(at(m, "zkpush_ingest_duration_seconds_sum"), 0.007, 1e-12);

  EXPECT_EQ(at(m, "zkpush_events_ingested_total"), 5);
  EXPECT_EQ(at(m, "zkpush_events_duplicate_total"), 1);
  EXPECT_EQ(at(m, R"(zkpush_token_mismatch_total{policy="warn"})"), 1);
  EXPECT_EQ(at(m, "zkpush_devices_known"), 3);
  EXPECT_EQ(at(m, "zkpush_devices_online"), 2);
  EXPECT_EQ(at(m, "zkpush_command_queue_depth"), 7);
  EXPECT_EQ(at(m, "zkpush_node_leads"), 1);  // alone on its store (ScrapeInputs' default), a node leads
  // Sources not given are left out rather than shown as zeros.
  EXPECT_EQ(text.find("zkpush_http_"), std::string::npos);
  EXPECT_EQ(text.find("zkpush_store_"), std::string::npos);
  EXPECT_EQ(text.find("process_"), std::string::npos);
  EXPECT_NE(text.find("# TYPE zkpush_request_duration_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE zkpush_requests_total counter\n"), std::string::npos);
}

TEST(MetricsUnit, RequestsClassifiedByCatalogueEndpoint) {
  EXPECT_EQ(slot_label(classify_for_metrics("POST", "/iclock/cdata?SN=1&table=rtlog", "time=2019-07-22 16:30:01\tpin=1")), "rtlog");
  EXPECT_EQ(slot_label(classify_for_metrics("GET", "/iclock/getrequest?SN=1", "")), "getrequest");
  EXPECT_EQ(slot_label(classify_for_metrics("GET", "/iclock/nonsense?SN=1", "")), "unknown");
  EXPECT_EQ(slot_label(classify_for_metrics("GET", "/metrics", "")), "metrics");
  EXPECT_EQ(slot_label(classify_for_metrics("GET", "/healthz", "")), "healthz");
  EXPECT_EQ(slot_label(classify_for_metrics("GET", "/api/v1/devices", "")), "api");
  EXPECT_EQ(slot_label(classify_for_metrics("GET", "/api", "")), "api");
  // Every other path is the web console's (mounted as "/"), not a device request.
  EXPECT_EQ(slot_label(classify_for_metrics("GET", "/", "")), "console");
  EXPECT_EQ(slot_label(classify_for_metrics("GET", "/assets/index-B2xQ.js?v=1", "")), "console");
  EXPECT_EQ(slot_label(classify_for_metrics("POST", "/apis", "")), "console");
  EXPECT_EQ(endpoint_group(kConsoleSlot), EndpointGroup::console);
  EXPECT_EQ(group_label(EndpointGroup::console), "console");
  // Firmware downloads keep theirs.
  EXPECT_EQ(slot_label(classify_for_metrics("GET", "/files/emfw.cfg", "")), "firmware_range");
  EXPECT_EQ(group_label(endpoint_group(metric_slot(p::Endpoint::tabledata_user))), "upload");
  EXPECT_TRUE(is_ingest(metric_slot(p::Endpoint::upload_options)));
  EXPECT_TRUE(is_ingest(metric_slot(p::Endpoint::querydata_count)));
  EXPECT_FALSE(is_ingest(metric_slot(p::Endpoint::getrequest)));
  EXPECT_FALSE(is_ingest(metric_slot(p::Endpoint::registry)));
  EXPECT_FALSE(is_ingest(kApiSlot));
}

TEST(MetricsUnit, OncePerKeyAndItsBound) {
  OncePerKey once(2);
  EXPECT_TRUE(once.first("A"));
  EXPECT_FALSE(once.first("A"));
  EXPECT_TRUE(once.first("B"));
  EXPECT_FALSE(once.first("B"));
  EXPECT_TRUE(once.first("C"));  // full: forgets A and B
  EXPECT_FALSE(once.first("C"));
  EXPECT_TRUE(once.first("A"));
}

TEST(MetricsUnit, ProcessMetricsFromProc) {
  auto m = parse_exposition(render_process_metrics());
  EXPECT_GT(at(m, "process_resident_memory_bytes"), 0);
  EXPECT_GT(at(m, "process_virtual_memory_bytes"), at(m, "process_resident_memory_bytes"));
  EXPECT_GE(at(m, "process_open_fds"), 3);
  EXPECT_GT(at(m, "process_start_time_seconds"), 1.5e9);
}

}  // namespace
}  // namespace zkpush::server
