// The front (src/front/front.*): one http::Handler choosing a peer by path over a real HttpServer.
// A tree mount serves its path and everything under it, a path mount that path only, the longest
// mount wins, paths are compared normalized (case, duplicate slashes), nobody's path is a 404
// answered by the front itself, a peer's body limit applies to its own requests only, and an
// exception escaping a peer is a 500 that leaves the server serving.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "front/front.hpp"
#include "server/http/http_server.hpp"
#include "server/http/test_server.hpp"

namespace zkpush::front {
namespace {

using server::http::test::RawResponse;
using server::http::test::TestClient;

// Answers "<name> <normalized path>" and remembers what it saw.
class NamedPeer : public Peer {
 public:
  explicit NamedPeer(std::string name) : name_(std::move(name)) {}
  std::optional<std::size_t> limit;
  bool throws = false;

  std::optional<std::size_t> body_limit(const http::RequestHead&, const std::string&) override { return limit; }
  void handle(http::Request& request, const std::string& path, const SharedResponder& respond) override {
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(path);
    }
    if (throws) throw std::runtime_error("peer failed");
    answer(respond, 200, name_ + " " + path + " " + std::to_string(request.body().size()));
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::string name_;
  std::mutex mutex_;
  std::vector<std::string> seen_;
};

class FrontTest : public ::testing::Test {
 protected:
  void SetUp() override {
    front_.mount_tree("/iclock", iclock_);
    front_.mount_path("/iclock/file", file_);  // longer: wins over the /iclock tree for this path
    front_.mount_tree("/api", api_);
    front_.mount_path("/metrics", metrics_peer_);
    auto config = server::http::test::test_config();
    config.limits.body_limit = 1000;
    server_ = std::make_unique<http::HttpServer>(config, front_);
    server_->start();
  }
  void TearDown() override { server_.reset(); }

  RawResponse get(const std::string& target, const std::string& body = {}) {
    TestClient client(server_->port());
    EXPECT_TRUE(client.send(server::http::test::request(body.empty() ? "GET" : "POST", target, body)));
    auto r = client.read_response();
    EXPECT_TRUE(r.has_value()) << target;
    return r.value_or(RawResponse{});
  }

  Metrics metrics_;
  Front front_{metrics_};
  NamedPeer iclock_{"iclock"}, file_{"file"}, api_{"api"}, metrics_peer_{"metrics"};
  std::unique_ptr<http::HttpServer> server_;
};

TEST_F(FrontTest, EachPathGoesToItsPeer) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"/iclock/cdata?SN=1&options=all", "iclock /iclock/cdata 0"},
      {"/iclock", "iclock /iclock 0"},
      {"/ICLOCK/GetRequest?SN=1", "iclock /iclock/getrequest 0"},
      {"//iclock//cdata", "iclock /iclock/cdata 0"},
      {"/iclock/file?SN=1&url=x", "file /iclock/file 0"},
      {"/api/v1/devices", "api /api/v1/devices 0"},
      {"/api", "api /api 0"},
      {"/metrics", "metrics /metrics 0"},
  };
  for (const auto& [target, expected] : cases) {
    SCOPED_TRACE(target);
    auto r = get(target);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, expected);
  }
}

TEST_F(FrontTest, PathsNobodyServesAre404FromTheFront) {
  for (const char* target : {"/", "/foo", "/iclockx", "/iclock-old/cdata", "/apis", "/metrics/x", "/metricsx",
                             "/favicon.ico", "/index.html?x=1"}) {
    SCOPED_TRACE(target);
    auto r = get(target);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, "not found");
  }
  EXPECT_TRUE(iclock_.seen().empty());
  EXPECT_TRUE(api_.seen().empty());
  EXPECT_TRUE(metrics_peer_.seen().empty());
  EXPECT_TRUE(file_.seen().empty());
  // ...and each is metered.
  std::uint64_t counted = 0;
  for (std::size_t slot = 0; slot < kMetricSlots; ++slot) counted += metrics_.requests(static_cast<MetricSlot>(slot), 404);
  EXPECT_EQ(counted, 9u);
}

TEST_F(FrontTest, APeersBodyLimitAppliesToItsRequestsOnly) {
  api_.limit = 10;
  const std::string body(100, 'x');
  EXPECT_EQ(get("/api/v1/devices", body).status, 413);
  EXPECT_TRUE(api_.seen().empty());
  // Another peer keeps the transport's limit (1000 bytes here).
  auto r = get("/iclock/cdata?SN=1&table=rtlog", body);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "iclock /iclock/cdata 100");
}

TEST_F(FrontTest, AThrowingPeerIsA500AndTheServerGoesOn) {
  api_.throws = true;
  auto r = get("/api/v1/devices");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "internal error");
  EXPECT_EQ(get("/iclock/cdata").status, 200);
}

// The web console is mounted as the tree "/" (server/app.cpp): it gets every path nobody else
// serves, and every other mount, being longer, keeps its own.
TEST(FrontRootMount, EveryOtherMountWinsOverTheRoot) {
  Metrics metrics;
  Front front(metrics);
  NamedPeer console{"console"}, iclock{"iclock"}, api{"api"}, files{"files"}, status{"status"};
  front.mount_tree("/", console);  // first: the order of mounting does not matter
  front.mount_tree("/iclock", iclock);
  front.mount_tree("/api", api);
  front.mount_tree("/files", files);
  front.mount_path("/metrics", status);
  front.mount_path("/healthz", status);
  const std::vector<std::pair<std::string, Peer*>> cases{
      {"/", &console},           {"/index.html", &console},     {"/assets/app-abc.js", &console},
      {"/iclockx", &console},    {"/apis", &console},           {"/metrics/x", &console},
      {"/healthz/x", &console},  {"/filesx", &console},         {"/iclock", &iclock},
      {"/iclock/cdata", &iclock}, {"/api", &api},               {"/api/v1/devices", &api},
      {"/files", &files},        {"/files/emfw.cfg", &files},   {"/metrics", &status},
      {"/healthz", &status},
  };
  for (const auto& [path, peer] : cases) {
    SCOPED_TRACE(path);
    EXPECT_EQ(front.peer_for(path), peer);
  }
}

}  // namespace
}  // namespace zkpush::front
