// GET /api/v1/stream: the message log (storage/areas/messages.hpp) as Server-Sent Events, as it grows.
//
// Each message is `id: <message id>` and `data: <its JSON>`: for an access event the event's JSON as
// GET /api/v1/events gives it, with no `event:` line (a browser's EventSource calls onmessage); the
// other kinds, asked for with ?kinds=, carry `event: door_state | command | device`. By default the
// stream sends access events only. It starts after `Last-Event-ID` (or `?after_id=`), else with
// what is stored from now on; whoever commits a message rings service::Live, and the stream then
// reads from the store what it has not sent — so a reconnecting client misses nothing (within the
// log's retention), and a ring that comes while a read is running makes one more read. `?sn=`
// keeps one device's messages. Streams share the recent end of the log, read and rendered once
// (SharedLog). A comment line every 15 s keeps proxies from closing an idle
// stream; a client that reads too slowly (the transport's buffer full) is dropped and resumes with
// Last-Event-ID.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "front/api/answers.hpp"
#include "front/api/api_endpoints.hpp"
#include "protocol/fields.hpp"
#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace p = protocol;

namespace {

constexpr std::int64_t kPage = 500;

// One message as every stream sends it: "id: N\n[event: kind\n]data: {...}\n\n" ("" when the row it
// names is gone).
std::string render(const MessagePage& page, std::size_t i, const DoorContext& doors) {
  const auto& m = page.messages[i];
  const auto json = message_json(page, i, doors);
  if (json.is_null()) return {};
  std::string out = "id: " + std::to_string(m.id) + "\n";
  if (m.kind != "event") out += "event: " + m.kind + "\n";
  out += "data: " + json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
  return out;
}

bool wanted(const std::vector<std::string>& kinds, const std::string& sn, const std::string& kind,
            const std::string& message_sn) {
  if (!sn.empty() && sn != message_sn) return false;
  return kinds.empty() || std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

// The recent end of the log, read from the store and rendered once for every stream: with hundreds
// of streams open, each message costs one read and one JSON rendering, not one per stream. It holds
// every message with base < id <= top (at most kKept); a stream whose cursor is inside reads from
// it, one further behind (resuming after a long absence) reads the store itself.
class SharedLog {
 public:
  SharedLog(storage::Store& store, DoorContext doors) : store_(store), doors_(std::move(doors)) {}

  struct Served {
    std::string chunk;         // what the stream sends
    std::int64_t cursor = 0;   // its new cursor (the last message looked at)
    bool more = false;         // the log holds more after it
    bool at_top = false;       // nothing after the cursor here yet: fill()
  };
  // nullopt: the cursor is behind what is held (a cursor ahead of it waits for fill()).
  std::optional<Served> serve(std::int64_t cursor, const std::vector<std::string>& kinds, const std::string& sn) {
    std::lock_guard lock(mutex_);
    if (!started_) {  // the first stream sets where it starts
      started_ = true;
      base_ = top_ = cursor;
    }
    if (cursor < base_) return std::nullopt;
    if (cursor > top_ && !filling_) {
      // Ahead of what is held (no stream was open for a while): start again from here rather than
      // read the whole gap.
      entries_.clear();
      base_ = top_ = cursor;
    }
    Served out;
    out.cursor = cursor;
    auto it = std::upper_bound(entries_.begin(), entries_.end(), cursor,
                               [](std::int64_t c, const Entry& e) { return c < e.id; });
    std::int64_t looked = 0;
    for (; it != entries_.end() && looked < kPage; ++it, ++looked) {
      if (wanted(kinds, sn, it->kind, it->sn)) out.chunk += *it->chunk;
      out.cursor = it->id;
    }
    out.more = it != entries_.end();
    out.at_top = out.cursor >= top_;
    return out;
  }

  // Reads what follows the top from the store and calls each `done(appended)`. One read at a time:
  // a caller that asks while one runs waits for the next read, which starts when this one ends (the
  // running read may have begun before the commit that made the caller ask).
  void fill(std::function<void(bool appended)> done) {
    {
      std::lock_guard lock(mutex_);
      if (filling_) {
        next_waiters_.push_back(std::move(done));
        return;
      }
      waiters_.push_back(std::move(done));
      filling_ = true;
    }
    read_next();
  }

 private:
  void read_next() {
    std::int64_t from = 0;
    {
      std::lock_guard lock(mutex_);
      from = top_;
    }
    storage::MessageFilter filter;
    filter.after_id = from;
    filter.limit = kPage;
    store_.read([filter](storage::Reads& r) { return read_message_page(r, filter); },
                [this](storage::StoreResult<MessagePage> r) {
                  bool appended = false;
                  if (!r.ok()) spdlog::warn("event stream: reading the message log failed: {}", r.error().message);
                  std::vector<Entry> fresh;
                  if (r.ok()) {
                    for (std::size_t i = 0; i < r->messages.size(); ++i) {
                      const auto& m = r->messages[i];
                      fresh.push_back(Entry{m.id, m.kind, m.sn, std::make_shared<const std::string>(render(*r, i, doors_))});
                    }
                  }
                  std::vector<std::function<void(bool)>> waiters;
                  bool again = false;
                  {
                    std::lock_guard lock(mutex_);
                    for (auto& e : fresh) {
                      if (e.id <= top_) continue;
                      top_ = e.id;
                      entries_.push_back(std::move(e));
                      appended = true;
                    }
                    while (entries_.size() > kKept) {
                      base_ = entries_.front().id;
                      entries_.pop_front();
                    }
                    waiters.swap(waiters_);
                    again = !next_waiters_.empty();
                    if (again) waiters_.swap(next_waiters_);
                    filling_ = again;
                  }
                  if (again) read_next();
                  for (auto& w : waiters) w(appended);
                });
  }

  static constexpr std::size_t kKept = 20000;
  struct Entry {
    std::int64_t id;
    std::string kind, sn;
    std::shared_ptr<const std::string> chunk;
  };
  storage::Store& store_;
  const DoorContext doors_;
  std::mutex mutex_;
  bool started_ = false, filling_ = false;
  std::int64_t base_ = 0, top_ = 0;
  std::deque<Entry> entries_;
  std::vector<std::function<void(bool)>> waiters_, next_waiters_;
};

class EventStream : public std::enable_shared_from_this<EventStream> {
 public:
  EventStream(storage::Store& store, service::Live& live, std::shared_ptr<SharedLog> log, DoorContext doors,
              std::shared_ptr<http::Stream> out, std::string sn, std::vector<std::string> kinds, std::int64_t cursor,
              std::string who)
      : store_(store),
        live_(live),
        log_(std::move(log)),
        doors_(std::move(doors)),
        out_(std::move(out)),
        sn_(std::move(sn)),
        kinds_(std::move(kinds)),
        cursor_(cursor),
        who_(std::move(who)) {}

  void start() {
    std::weak_ptr<EventStream> weak = weak_from_this();
    subscription_ = live_.subscribe([weak](service::Live::Ring ring) {
      if (auto self = weak.lock()) ring == service::Live::Ring::beat ? self->beat() : self->pull();
    });
    // The listener holds the stream weakly; this callback holds it until the client is gone.
    out_->on_close([self = shared_from_this()] {
      self->live_.unsubscribe(self->subscription_);
      spdlog::info("{}: event stream closed after message {}", self->who_, self->sent());
    });
    if (out_->write(": zkpush event stream\n\n") != http::StreamWrite::queued) return out_->close();
    pull();
  }

 private:
  std::int64_t sent() {
    std::lock_guard lock(mutex_);
    return cursor_;
  }

  void beat() {
    if (out_->write(": keep-alive\n\n") == http::StreamWrite::full) out_->close();
  }

  // Sends what follows the cursor, from the shared log or (far behind) the store; one pull at a
  // time, a ring meanwhile makes one more.
  void pull() {
    {
      std::lock_guard lock(mutex_);
      if (reading_) {
        again_ = true;
        return;
      }
      reading_ = true;
      again_ = false;
    }
    step(true);
  }

  // One round; `may_fill`: false after a fill that brought nothing (wait for the next ring).
  void step(bool may_fill) {
    for (;;) {
      const auto served = log_->serve(sent(), kinds_, sn_);
      if (!served) return read_store();
      if (!send(served->chunk, served->cursor)) return;
      if (served->more) continue;
      if (served->at_top && may_fill) {
        return log_->fill([self = shared_from_this()](bool appended) { self->step(appended); });
      }
      return finish(false);
    }
  }

  // Far behind the shared log: this stream's own read, as many pages as it takes.
  void read_store() {
    storage::MessageFilter filter;
    filter.after_id = sent();
    filter.sn = sn_;
    filter.kinds = kinds_;
    filter.limit = kPage;
    store_.read([filter](storage::Reads& r) { return read_message_page(r, filter); },
                [self = shared_from_this()](storage::StoreResult<MessagePage> r) {
                  if (!r.ok()) {
                    spdlog::warn("{}: event stream: reading messages failed: {}", self->who_, r.error().message);
                    return self->finish(false);
                  }
                  std::string chunk;
                  for (std::size_t i = 0; i < r->messages.size(); ++i) chunk += render(r.value(), i, self->doors_);
                  const auto last = r->messages.empty() ? self->sent() : r->messages.back().id;
                  if (!self->send(chunk, last)) return;
                  if (static_cast<std::int64_t>(r->messages.size()) == kPage) return self->read_store();
                  if (r->messages.empty()) return self->finish(false);  // at the top of the store
                  self->step(true);  // caught up: the shared log from here
                });
  }

  // Writes a chunk and moves the cursor; false (and the stream closed) when the client cannot keep up.
  bool send(const std::string& chunk, std::int64_t cursor) {
    if (!chunk.empty() && out_->write(std::string(chunk)) != http::StreamWrite::queued) {
      spdlog::warn("{}: event stream dropped (client too slow or gone)", who_);
      out_->close();
      finish(true);
      return false;
    }
    std::lock_guard lock(mutex_);
    if (cursor > cursor_) cursor_ = cursor;
    return true;
  }

  void finish(bool closed) {
    bool again = false;
    {
      std::lock_guard lock(mutex_);
      reading_ = false;
      again = again_ && !closed;
    }
    if (again) pull();
  }

  storage::Store& store_;
  service::Live& live_;
  const std::shared_ptr<SharedLog> log_;
  const DoorContext doors_;
  std::shared_ptr<http::Stream> out_;
  const std::string sn_;
  const std::vector<std::string> kinds_;
  std::mutex mutex_;
  std::int64_t cursor_;
  bool reading_ = false, again_ = false;
  std::int64_t subscription_ = 0;
  const std::string who_;
};

}  // namespace

void add_stream_routes(RouteTable& table, const ApiServices& services) {
  using V = http::Verb;
  const ApiServices* s = &services;
  auto log = std::make_shared<SharedLog>(services.store, services.doors);
  table.add({V::get, "/api/v1/stream", Role::viewer, "streamEvents",
             "What happens, as Server-Sent Events (id: the message id, data: its JSON; access events by "
             "default), resumable with Last-Event-ID",
             "", "200 Event", {{"sn", "string", "only this device's messages"},
              {"kinds", "string", "comma-separated: event (default), door_state, command, device, sync, or * for all"},
              {"after_id", "integer", "start after this message id (as Last-Event-ID does); default: from now on"}},
             [s, log](Call& c) {
               const auto target = p::parse_target(c.request.target());
               std::string sn(target.query.get_or("sn", ""));
               std::vector<std::string> kinds{"event"};
               if (auto k = target.query.get("kinds"); k && !p::text::trim(*k).empty()) {
                 kinds.clear();
                 for (auto part : p::text::split(*k, ',')) {
                   const std::string kind(p::text::trim(part));
                   if (kind == "*") {
                     kinds.clear();
                     break;
                   }
                   if (!is_message_kind(kind))
                     return answer_error(c.respond, c.who, 400,
                                         "kinds: " + p::text::quoted(kind) + " is not event, door_state, command, device, sync or *");
                   kinds.push_back(kind);
                 }
               }
               std::optional<std::int64_t> after;
               std::string from(c.request.header("Last-Event-ID"));
               if (from.empty()) from = std::string(target.query.get_or("after_id", ""));
               if (!from.empty()) {
                 auto n = p::text::parse_int(p::text::trim(from));
                 if (!n || *n < 0) return answer_error(c.respond, c.who, 400, "Last-Event-ID / after_id: a message id");
                 after = *n;
               }
               auto open = [s, log, sn, kinds, who = c.who, respond = c.respond](std::int64_t cursor) {
                 auto head = http::make_stream_head(http::Status::ok, "text/event-stream");
                 head.set(boost::beast::http::field::cache_control, "no-cache");
                 auto out = respond->stream(std::move(head));
                 spdlog::info("{}: event stream opened after message {}", who, cursor);
                 std::make_shared<EventStream>(s->store, s->live, log, s->doors, std::move(out), sn, kinds, cursor, who)
                     ->start();
               };
               // From the given id (never past the log's end), else from now on.
               s->store.read([](storage::Reads& r) { return r.messages().last_id(); },
                             [open, after, who = c.who, respond = c.respond](storage::StoreResult<std::int64_t> r) {
                               if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                               open(after ? std::min(*after, r.value()) : r.value());
                             });
             }});
}

}  // namespace zkpush::front::api
