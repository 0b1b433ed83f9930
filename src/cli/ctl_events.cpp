// zkpush ctl events: list (a page, oldest first, as the API gives them) and tail: the last N events,
// and with -f every event from then on, read from GET /api/v1/stream (Server-Sent Events) as it
// arrives, one line each, coloured by the event's class when stdout is a terminal.
#include <algorithm>
#include <iostream>

#include "cli/ctl.hpp"
#include "protocol/enums.hpp"

namespace zkpush::cli::ctl {

namespace {

// The server sends a comment every 15 s on an idle stream; three missed mean it is gone.
constexpr std::chrono::seconds kStreamIdle{45};

// The class the manual gives the code (protocol::event_info: Appendix 2, "normal 0-19 and 200-253,
// error 20-99, alarm 100-199, special 254-255", and Appendix 19's 4xxx normal, 5xxx error, 6xxx
// alarm): granted green, refused red, alarms bold red, anything else yellow.
Colour colour_of(const Json& event) {
  const auto& code = event.value("event", Json());
  if (!code.is_number_integer()) return Colour::yellow;
  switch (protocol::event_info(code.get<std::int64_t>()).klass) {
    case protocol::EventClass::normal: return Colour::green;
    case protocol::EventClass::error: return Colour::red;
    case protocol::EventClass::alarm: return Colour::bold_red;
    default: return Colour::yellow;
  }
}

std::string who_of(const Json& e) {
  std::string pin = e.value("pin", std::string());
  if (pin.empty() || pin == "0") return "-";
  const auto& name = e.value("person_name", Json());
  return name.is_string() && !name.get<std::string>().empty() ? pin + " (" + name.get<std::string>() + ")" : pin;
}

std::string event_text(const Json& e) {
  const auto& name = e.value("event_name", Json());
  const std::string code = text_of(e.value("event", Json()));
  return name.is_string() ? name.get<std::string>() + " [" + code + "]" : "event " + code;
}

// "2024-05-01 08:00:01  CJDE193560303  door 1  7 (Ann)  Normal Punch Open [0]"
std::string event_line(const Ctl& c, const Json& e) {
  const std::string line = text_of(e.value("time", Json())) + "  " + text_of(e.value("sn", Json())) + "  door " +
                           text_of(e.value("door", Json())) + "  " + who_of(e) + "  " + event_text(e);
  return paint(c, colour_of(e), line);
}

Request events_page(const Ctl& c, std::int64_t after, std::int64_t limit) {
  return get("/api/v1/events" + query({{"sn", c.flags->sn}, {"after_id", after > 0 ? std::to_string(after) : ""},
                                       {"limit", limit > 0 ? std::to_string(limit) : ""}}));
}

int events_list(const Ctl& c) {
  return show(c, events_page(c, c.flags->after_id, c.flags->limit), [](const Json& list) {
    print_rows(list,
               {col("ID", "id"), col("TIME", "time"), col("SN", "sn"), col("DOOR", "door"),
                {"PIN", who_of}, {"EVENT", event_text}},
               "(no events)");
  });
}

// The last n events. The API lists events oldest first after an id, so this looks for the largest
// id x after which n events remain: "after x, n events" holds for every smaller x and fails for
// every larger one, so a galloping then binary search finds x in about 2·log2(last id) calls, each
// of at most n events, whatever the size of the table (paging through every event would not).
Reply last_events(const Ctl& c, std::int64_t n) {
  auto full = [&](std::int64_t after, Reply& page) {
    page = call(c, events_page(c, after, n));
    return page && page.json.is_array() && static_cast<std::int64_t>(page.json.size()) == n;
  };
  Reply best;
  if (!full(0, best)) return best;  // fewer than n events in all (or no answer)
  std::int64_t low = 0, step = 1, high = 0;
  for (Reply page;; step *= 2) {
    if (!full(low + step, page)) {
      if (!page) return page;
      high = low + step;
      break;
    }
    low += step;
    best = std::move(page);
  }
  while (high - low > 1) {
    Reply page;
    const auto mid = low + (high - low) / 2;
    if (full(mid, page)) {
      low = mid;
      best = std::move(page);
    } else {
      if (!page) return page;
      high = mid;
    }
  }
  return best;
}

// Server-Sent Events (WHATWG HTML, "event stream interpretation"): lines of "field: value", an
// event ends at a blank line, ':' starts a comment; only access events (no "event:" line) are kept.
class EventStreamReader {
 public:
  explicit EventStreamReader(std::function<void(const Json&)> on_event) : on_event_(std::move(on_event)) {}

  void feed(std::string_view bytes) {
    pending_.append(bytes);
    for (std::size_t end; (end = pending_.find('\n')) != std::string::npos; pending_.erase(0, end + 1)) {
      std::string_view line(pending_.data(), end);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      take(line);
    }
  }

 private:
  void take(std::string_view line) {
    if (line.empty()) {
      if (!data_.empty() && kind_.empty()) {
        auto j = Json::parse(data_, nullptr, false);
        if (j.is_object()) on_event_(j);
      }
      data_.clear();
      kind_.clear();
      return;
    }
    if (line.front() == ':') return;
    const auto colon = line.find(':');
    const auto field = line.substr(0, colon);
    auto value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "data") data_ += (data_.empty() ? "" : "\n") + std::string(value);
    else if (field == "event") kind_ = value;
  }

  std::function<void(const Json&)> on_event_;
  std::string pending_, data_, kind_;
};

void print_event(const Ctl& c, const Json& e) {
  std::cout << (c.json ? e.dump() : event_line(c, e)) << std::endl;  // flushed: a pipe sees each event at once
}

int events_tail(const Ctl& c) {
  const auto& f = *c.flags;
  if (!f.follow) {
    auto last = last_events(c, f.lines);
    if (!last) return last.code;
    if (c.json) std::cout << last.json.dump(2) << "\n";
    else for (const auto& e : last.json) std::cout << event_line(c, e) << "\n";
    return kOk;
  }
  // The stream is opened first and the last events read once it is open (its first bytes are the
  // server's greeting comment): an event stored in between comes on the stream, and the ids
  // already printed are skipped, so nothing is lost or shown twice.
  std::int64_t printed = 0;
  int code = kOk;
  bool opened = false;
  EventStreamReader reader([&](const Json& e) {
    if (e.value("id", std::int64_t(0)) <= printed) return;
    printed = e.value("id", std::int64_t(0));
    print_event(c, e);
  });
  auto on_body = [&](std::string_view bytes) {
    if (!opened) {
      opened = true;
      auto last = last_events(c, f.lines);
      if (!last) return (code = last.code), false;
      for (const auto& e : last.json) {
        print_event(c, e);
        printed = std::max(printed, e.value("id", std::int64_t(0)));
      }
    }
    reader.feed(bytes);
    return true;
  };
  auto answer = exchange(c, get("/api/v1/stream" + query({{"sn", f.sn}})), std::chrono::seconds(30), on_body, kStreamIdle);
  if (code != kOk) return code;
  if (answer.status == 0) {
    std::cerr << "zkpush ctl: " << (opened ? "the event stream ended: " : "no answer: ") << answer.error << "\n";
    return kNoAnswer;
  }
  if (answer.status != 200) return refusal(answer.status, answer.body);
  std::cerr << "zkpush ctl: the server closed the event stream\n";
  return kNoAnswer;
}

}  // namespace

void add_event_commands(CLI::App& root, const std::shared_ptr<CtlFlags>& f) {
  auto* events = area(root, "events", "Access events: list (the default), tail [-f]", f, events_list);
  auto* list = action(*events, "list", "A page of events, oldest first (--after the last id for the next)", f, events_list);
  auto* tail = action(*events, "tail", "The last events; with -f, every new one as it comes (Ctrl-C stops)", f, events_tail);
  for (auto* sub : {list, tail}) sub->add_option("--sn", f->sn, "one device's events only");
  list->add_option("--after", f->after_id, "only events after this id")->check(CLI::PositiveNumber);
  list->add_option("--limit", f->limit, "at most this many (server default 100, at most 1000)")->check(CLI::Range(1, 1000));
  tail->add_option("-n,--lines", f->lines, "how many of the last events")->check(CLI::Range(1, 1000))->capture_default_str();
  tail->add_flag("-f,--follow", f->follow, "keep following the event stream");
}

}  // namespace zkpush::cli::ctl
