// Event queries over a large store, for `make bench`: fills a fresh store with N events (default
// 1,000,000: 200 devices, 10,000 persons, a year of times, in id order as a server receives them),
// then times the listings GET /api/v1/events makes (storage EventFilter, 100 rows a page, through
// Store::read_now: a reader thread, its snapshot and the rows decoded) for random devices, persons and
// time ranges.
//
//   zkpush_event_queries --dir DIR [--events 1000000] [--devices 200] [--persons 10000] [--queries 1000]
//   zkpush_event_queries --url postgres://... [--events ...]
//
// prints one JSON object: {"events", "fill_seconds", "results": [{"query", "queries", "p50_ms",
// "p99_ms", "max_ms", "mean_rows"}...]}. The store is <DIR>/events-bench.db, removed first, or the
// PostgreSQL database at --url, which must hold no events yet (createdb a fresh one).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/codecs_time.hpp"
#include "protocol/enums.hpp"
#include "storage/open_store.hpp"
#include "storage/store.hpp"

namespace {

using namespace zkpush;
using clock_type = std::chrono::steady_clock;

struct Options {
  std::string dir;
  std::string url;
  std::int64_t events = 1'000'000;
  int devices = 200;
  int persons = 10'000;
  int queries = 1000;
};

constexpr std::int64_t kYearStart = 1'735'689'600;  // 2025-01-01 00:00:00 UTC
constexpr std::int64_t kYear = 365 * 86400;
constexpr std::int64_t kBatch = 10'000;  // events per unit of work while filling

std::string device_sn(int i) { return "BENCH" + std::to_string(10000 + i); }

// Event i of n: times spread evenly over the year (so ids follow time, as received), a random
// device, person, door and a code that is mostly a granted entry.
storage::NewEvent make_event(std::int64_t i, std::int64_t n, const Options& o, std::mt19937_64& rng) {
  static constexpr std::int64_t kCodes[] = {0, 0, 0, 0, 0, 0, 1, 27, 23, 100, 4008, 5000};
  storage::NewEvent e;
  e.sn = device_sn(static_cast<int>(rng() % static_cast<std::uint64_t>(o.devices)));
  e.index = i + 1;
  e.time_utc = kYearStart + i * kYear / n;
  e.time_local = protocol::format_datetime(protocol::civil_from_unix(*e.time_utc + 8 * 3600).value());
  e.pin = std::to_string(1 + rng() % static_cast<std::uint64_t>(o.persons));
  e.cardno = std::to_string(100000 + std::stoll(e.pin));
  e.event = kCodes[rng() % std::size(kCodes)];
  e.door = static_cast<std::int64_t>(1 + rng() % 4);
  e.inout = 0;
  e.verifytype = "1";
  e.raw = "time=" + e.time_local + "\tpin=" + e.pin + "\tcardno=" + e.cardno + "\teventaddr=" + std::to_string(*e.door) +
          "\tevent=" + std::to_string(*e.event) + "\tinoutstatus=0\tverifytype=1\tindex=" + std::to_string(i + 1);
  e.received_at = *e.time_utc + 2;
  return e;
}

double fill(storage::Store& store, const Options& o) {
  std::mt19937_64 rng(42);
  const auto t0 = clock_type::now();
  for (std::int64_t at = 0; at < o.events; at += kBatch) {
    std::vector<storage::NewEvent> batch;
    for (std::int64_t i = at; i < std::min(o.events, at + kBatch); ++i) batch.push_back(make_event(i, o.events, o, rng));
    auto r = store.write_now([&batch](storage::Transaction& tx) { return tx.events().insert(batch); });
    if (!r.ok()) throw std::runtime_error("filling the store: " + r.error().message);
  }
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

struct Kind {
  std::string name;
  std::function<storage::EventFilter(std::mt19937_64&)> make;
};

nlohmann::json measure(storage::Store& store, const Kind& kind, int queries) {
  std::mt19937_64 rng(7);
  std::vector<double> ms;
  std::int64_t rows = 0;
  for (int q = 0; q < queries; ++q) {
    const auto filter = kind.make(rng);
    const auto t0 = clock_type::now();
    auto r = store.read_now([&filter](storage::Reads& reads) { return reads.events().list(filter); });
    ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    if (!r.ok()) throw std::runtime_error(kind.name + ": " + r.error().message);
    rows += static_cast<std::int64_t>(r.value().size());
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&ms](double p) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(ms.size())))]; };
  return {{"query", kind.name},       {"queries", queries},        {"p50_ms", at(0.50)},
          {"p99_ms", at(0.99)},       {"max_ms", ms.back()},       {"mean_rows", static_cast<double>(rows) / queries}};
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--dir") o.dir = value;
    else if (key == "--url") o.url = value;
    else if (key == "--events") o.events = std::stoll(value);
    else if (key == "--devices") o.devices = std::stoi(value);
    else if (key == "--persons") o.persons = std::stoi(value);
    else if (key == "--queries") o.queries = std::stoi(value);
    else throw std::invalid_argument("unknown option " + key);
  }
  if ((o.dir.empty() == o.url.empty()) || o.events < 1 || o.devices < 1 || o.persons < 1 || o.queries < 1)
    throw std::invalid_argument("usage: zkpush_event_queries --dir DIR | --url URL [--events N] [--devices N] [--persons N] [--queries N]");
  return o;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  std::string url = o.url;
  if (url.empty()) {
    const auto path = std::filesystem::path(o.dir) / "events-bench.db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
    url = "sqlite:" + path.string();
  }
  auto store = storage::open_store(url);
  const double fill_seconds = fill(*store, o);

  auto any_device = [&o](std::mt19937_64& rng) { return device_sn(static_cast<int>(rng() % static_cast<std::uint64_t>(o.devices))); };
  auto any_day = [](std::mt19937_64& rng) { return kYearStart + static_cast<std::int64_t>(rng() % 364) * 86400; };
  const std::vector<Kind> kinds{
      {"device, newest first", [&](std::mt19937_64& rng) {
         storage::EventFilter f{any_device(rng), 0, 100};
         f.newest_first = true;
         return f;
       }},
      {"device, oldest first", [&](std::mt19937_64& rng) { return storage::EventFilter{any_device(rng), 0, 100}; }},
      {"person, newest first", [&](std::mt19937_64& rng) {
         storage::EventFilter f{"", 0, 100};
         f.pin = std::to_string(1 + rng() % static_cast<std::uint64_t>(o.persons));
         f.newest_first = true;
         return f;
       }},
      {"time range, one day", [&](std::mt19937_64& rng) {
         storage::EventFilter f{"", 0, 100};
         f.from = any_day(rng);
         f.to = *f.from + 86400;
         return f;
       }},
      {"time range, 30 days, newest first", [&](std::mt19937_64& rng) {
         storage::EventFilter f{"", 0, 100};
         f.from = any_day(rng);
         f.to = *f.from + 30 * 86400;
         f.newest_first = true;
         return f;
       }},
      {"time range, the whole year, newest first", [&](std::mt19937_64&) {
         storage::EventFilter f{"", 0, 100};
         f.from = kYearStart;
         f.to = kYearStart + kYear;
         f.newest_first = true;
         return f;
       }},
      {"device and one day", [&](std::mt19937_64& rng) {
         storage::EventFilter f{any_device(rng), 0, 100};
         f.from = any_day(rng);
         f.to = *f.from + 86400;
         return f;
       }},
      {"person and 30 days, class error", [&](std::mt19937_64& rng) {
         storage::EventFilter f{"", 0, 100};
         f.pin = std::to_string(1 + rng() % static_cast<std::uint64_t>(o.persons));
         f.from = any_day(rng);
         f.to = *f.from + 30 * 86400;
         const auto error = protocol::find_event_class("error")->ranges;
         f.classes.assign(error.begin(), error.end());
         return f;
       }},
  };
  nlohmann::json out{{"events", o.events}, {"devices", o.devices}, {"persons", o.persons},
                     {"fill_seconds", fill_seconds}, {"results", nlohmann::json::array()}};
  for (const auto& kind : kinds) out["results"].push_back(measure(*store, kind, o.queries));
  std::puts(out.dump().c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "zkpush_event_queries: %s\n", e.what());
  return 1;
}
