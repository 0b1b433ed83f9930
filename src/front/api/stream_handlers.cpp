// GET /api/v1/stream: the message log (storage/areas/messages.hpp) as Server-Sent Events, as it grows.
//
// Each message is `id: <message id>` and `data: <its JSON>`: for an access event the event's JSON as
// GET /api/v1/events gives it, with no `event:` line (a browser's EventSource calls onmessage); the
// other kinds, asked for with ?kinds=, carry `event: door_state | command | device`. By default the
// stream sends access events only. It starts after `Last-Event-ID` (or `?after_id=`), else with
// what is stored from now on; whoever commits a message rings service::Live, and the stream then
// reads from the store what it has not sent — so a reconnecting client misses nothing (within the
// log's retention), and a ring that comes while a read is running makes one more read. `?sn=`
// keeps one device's messages. A comment line every 15 s keeps proxies from closing an idle
// stream; a client that reads too slowly (the transport's buffer full) is dropped and resumes with
// Last-Event-ID.
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

#include "front/api/answers.hpp"
#include "front/api/api_endpoints.hpp"
#include "protocol/fields.hpp"
#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace p = protocol;

namespace {

constexpr std::int64_t kPage = 500;

class EventStream : public std::enable_shared_from_this<EventStream> {
 public:
  EventStream(storage::Store& store, service::Live& live, DoorContext doors, std::shared_ptr<http::Stream> out,
              std::string sn, std::vector<std::string> kinds, std::int64_t cursor, std::string who)
      : store_(store),
        live_(live),
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

  // Reads what follows the cursor; one read at a time, a ring meanwhile makes one more.
  void pull() {
    storage::MessageFilter filter;
    {
      std::lock_guard lock(mutex_);
      if (reading_) {
        again_ = true;
        return;
      }
      reading_ = true;
      again_ = false;
      filter.after_id = cursor_;
    }
    filter.sn = sn_;
    filter.kinds = kinds_;
    filter.limit = kPage;
    store_.read(
        [filter](storage::Reads& r) { return api::read_message_page(r, filter); },
        [self = shared_from_this()](storage::StoreResult<api::MessagePage> r) {
          bool more = false;
          if (r.ok()) {
            std::string chunk;
            std::int64_t last = 0;
            for (std::size_t i = 0; i < r->messages.size(); ++i) {
              const auto& m = r->messages[i];
              last = m.id;
              const auto json = api::message_json(r.value(), i, self->doors_);
              if (json.is_null()) continue;  // its row is gone (retention)
              chunk += "id: " + std::to_string(m.id) + "\n";
              if (m.kind != "event") chunk += "event: " + m.kind + "\n";
              chunk += "data: " + json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
            }
            if (!chunk.empty() && self->out_->write(std::move(chunk)) != http::StreamWrite::queued) {
              spdlog::warn("{}: event stream dropped (client too slow or gone)", self->who_);
              return self->out_->close();
            }
            more = static_cast<std::int64_t>(r->messages.size()) == kPage;
            std::lock_guard lock(self->mutex_);
            if (last > 0) self->cursor_ = last;
          } else {
            spdlog::warn("{}: event stream: reading events failed: {}", self->who_, r.error().message);
          }
          bool again = false;
          {
            std::lock_guard lock(self->mutex_);
            self->reading_ = false;
            again = self->again_ || more;
          }
          if (again) self->pull();
        });
  }

  storage::Store& store_;
  service::Live& live_;
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
  table.add({V::get, "/api/v1/stream", Role::viewer, "streamEvents",
             "What happens, as Server-Sent Events (id: the message id, data: its JSON; access events by "
             "default), resumable with Last-Event-ID",
             "", "200 Event", {{"sn", "string", "only this device's messages"},
              {"kinds", "string", "comma-separated: event (default), door_state, command, device, or * for all"},
              {"after_id", "integer", "start after this message id (as Last-Event-ID does); default: from now on"}},
             [s](Call& c) {
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
                                         "kinds: " + p::text::quoted(kind) + " is not event, door_state, command, device or *");
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
               auto open = [s, sn, kinds, who = c.who, respond = c.respond](std::int64_t cursor) {
                 auto head = http::make_stream_head(http::Status::ok, "text/event-stream");
                 head.set(boost::beast::http::field::cache_control, "no-cache");
                 auto out = respond->stream(std::move(head));
                 spdlog::info("{}: event stream opened after message {}", who, cursor);
                 std::make_shared<EventStream>(s->store, s->live, s->doors, std::move(out), sn, kinds, cursor, who)
                     ->start();
               };
               if (after) return open(*after);
               s->store.read([](storage::Reads& r) { return r.messages().last_id(); },
                             [open, who = c.who, respond = c.respond](storage::StoreResult<std::int64_t> r) {
                               if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                               open(r.value());
                             });
             }});
}

}  // namespace zkpush::front::api
