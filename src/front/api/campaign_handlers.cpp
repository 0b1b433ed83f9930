// The routes of /api/v1/files and /api/v1/campaigns (docs/serve.md "Firmware campaigns"): upgrade
// packages uploaded into the files folder, and campaigns sending one of them to a set of panels by
// UPGRADE (service/campaigns.hpp). File work (writing, MD5) runs on the download pool.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "front/api/answers.hpp"
#include "front/api/api_endpoints.hpp"
#include "front/api/requests.hpp"
#include "front/file_catalog.hpp"
#include "front/file_download.hpp"
#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace p = protocol;

namespace {

Json file_json(const FileFacts& f) {
  return Json{{"name", f.name}, {"size", f.size}, {"md5", f.md5}, {"modified", f.modified}};
}

// A panel's state, from its command: queued, sent, downloading (the server sent it bytes of the
// file), succeeded, failed, expired, cancelled; "removed" when the device (and its commands) went.
const char* target_state(const std::optional<storage::CommandRow>& row, std::uint64_t bytes, std::int64_t now) {
  if (!row) return "removed";
  switch (service::effective_status(*row, now)) {
    case storage::CommandStatus::queued: return "queued";
    case storage::CommandStatus::sent: return bytes > 0 ? "downloading" : "sent";
    case storage::CommandStatus::done: return "succeeded";
    case storage::CommandStatus::failed: return "failed";
    case storage::CommandStatus::expired: return "expired";
    case storage::CommandStatus::cancelled: return "cancelled";
  }
  return "queued";
}

constexpr const char* kTargetStates[] = {"queued",  "sent",    "downloading", "succeeded",
                                         "failed", "expired", "cancelled",   "removed"};

Json campaign_json(storage::Reads& r, const storage::Campaign& c, const service::DownloadProgress& progress,
                   std::int64_t now) {
  Json j{{"id", c.id},     {"file", c.file},         {"size", c.size},          {"md5", c.md5},
         {"type", c.type}, {"url_base", c.url_base}, {"created_by", c.created_by}, {"created_at", c.created_at}};
  j["method"] = c.method == "auto" ? Json("auto") : Json(std::stoi(c.method));
  j["cancelled_at"] = c.cancelled_at > 0 ? Json(c.cancelled_at) : Json(nullptr);
  Json counts = Json::object();
  for (const char* s : kTargetStates) counts[s] = 0;
  Json targets = Json::array();
  bool open = false;
  for (const auto& t : c.targets) {
    const auto row = r.commands().get(t.command_id);
    const std::uint64_t bytes = progress.bytes(t.sn, c.file);
    const std::string state = target_state(row, bytes, now);
    counts[state] = counts[state].get<std::int64_t>() + 1;
    open = open || state == "queued" || state == "sent" || state == "downloading";
    Json target{{"sn", t.sn}, {"method", t.method}, {"url", t.url}, {"command_id", t.command_id}, {"state", state}};
    target["bytes"] = bytes;
    target["progress"] = c.size == 0 ? 0 : static_cast<int>(std::min<std::uint64_t>(bytes, c.size) * 100 / c.size);
    if (state == "succeeded") target["progress"] = 100;
    Json command = row ? command_json(*row, {}) : Json::object();
    target["return"] = command.value("return", Json(nullptr));
    target["return_name"] = command.value("return_name", Json(nullptr));
    target["sent_at"] = command.value("sent_at", Json(nullptr));
    target["done_at"] = command.value("done_at", Json(nullptr));
    targets.push_back(std::move(target));
  }
  j["state"] = c.cancelled_at > 0 ? "cancelled" : open ? "running" : "finished";
  j["counts"] = std::move(counts);
  j["targets"] = std::move(targets);
  return j;
}

// GET-style answer of one campaign as stored now, with `status` (200, 201).
void answer_campaign(const ApiServices& s, const SharedResponder& respond, const std::string& who, std::int64_t id,
                     int status) {
  const std::int64_t now = s.devices.clock().now();
  const service::DownloadProgress* progress = &s.campaigns->progress();
  s.store.read(
      [id, now, progress](storage::Reads& r) -> Json {
        auto c = r.campaigns().get(id);
        if (!c) throw storage::Refused(storage::StoreError::Reason::not_found, "no campaign " + std::to_string(id));
        return campaign_json(r, *c, *progress, now);
      },
      [respond, who, status](storage::StoreResult<Json> r) {
        if (!r.ok()) return answer_store_refusal(respond, who, r.error());
        answer_json(respond, status, r.value());
      });
}

// The body of POST /api/v1/campaigns, checked; nullopt when refused (answered).
std::optional<service::NewCampaign> read_new_campaign(const Call& c) {
  auto refuse = [&c](const std::string& message, const char* field) {
    answer_error(c.respond, c.who, 400, message, "invalid", field);
    return std::nullopt;
  };
  auto body = Json::parse(c.request.body(), nullptr, false);
  if (!body.is_object()) return refuse("expected a JSON object {\"file\", \"devices\", \"method\"}", "");
  static const std::set<std::string> known{"file", "devices", "method", "type", "url_base"};
  for (const auto& item : body.items()) {
    if (!known.count(item.key()))
      return refuse("unknown field " + p::text::quoted(item.key()) + " (file, devices, method, type, url_base)",
                    item.key().c_str());
  }
  service::NewCampaign n;
  if (!body.contains("file") || !body["file"].is_string()) return refuse("file: the name of an uploaded file", "file");
  n.file = body["file"].get<std::string>();
  if (auto bad = bad_file_name(n.file)) return refuse("file: " + *bad, "file");
  const Json devices = body.value("devices", Json(nullptr));
  if (devices.is_string() && devices.get<std::string>() == "all") {
    n.devices = {"*"};
  } else if (devices.is_array() && !devices.empty()) {
    for (const auto& d : devices) {
      if (!d.is_string() || d.get<std::string>().empty() || d.get<std::string>() == "*")
        return refuse("devices: serial numbers, or \"all\"", "devices");
      n.devices.push_back(d.get<std::string>());
    }
  } else {
    return refuse("devices: a non-empty array of serial numbers, or \"all\"", "devices");
  }
  if (body.contains("method")) {
    const auto& m = body["method"];
    if (m.is_number_integer() && m.get<std::int64_t>() >= 1 && m.get<std::int64_t>() <= 3) {
      n.method = std::to_string(m.get<std::int64_t>());
    } else if (m.is_string() && (m == "auto" || m == "1" || m == "2" || m == "3")) {
      n.method = m.get<std::string>();
    } else {
      return refuse("method: \"auto\", 1, 2 or 3", "method");
    }
  }
  if (body.contains("type")) {
    const auto& t = body["type"];
    std::string type = t.is_number_unsigned() ? std::to_string(t.get<std::uint64_t>())
                       : t.is_string()       ? t.get<std::string>()
                                             : std::string();
    if (type.empty() || type.size() > 3 || !std::all_of(type.begin(), type.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return refuse("type: method 2's type, a number (1: firmware)", "type");
    n.type = type;
    // Only method 2 carries a type: a resource file (type other than 1) goes by method 2.
    if (n.type != "1") {
      if (n.method == "1" || n.method == "3") return refuse("type: only UPGRADE method 2 carries a type", "type");
      n.method = "2";
    }
  }
  if (body.contains("url_base")) {
    if (!body["url_base"].is_string()) return refuse("url_base: http://host:port as the panels reach this server", "url_base");
    n.url_base = body["url_base"].get<std::string>();
  } else {
    const std::string host(c.request.header("Host"));
    if (host.empty()) return refuse("url_base: needed when the request has no Host header", "url_base");
    n.url_base = "http://" + host;
  }
  const bool scheme = p::text::istarts_with(n.url_base, "http://") || p::text::istarts_with(n.url_base, "https://");
  const bool clean = std::none_of(n.url_base.begin(), n.url_base.end(), [](char ch) {
    return static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f || ch == ',' || ch == '?' || ch == '#';
  });
  if (!scheme || !clean || n.url_base.size() > 512)
    return refuse("url_base: an http(s):// address without spaces, commas, '?' or '#'", "url_base");
  n.created_by = c.caller.actor;
  return n;
}

}  // namespace

void add_campaign_routes(RouteTable& table, const ApiServices& services) {
  using V = http::Verb;
  const ApiServices* s = &services;

  table.add({V::post, "/api/v1/files", Role::admin, "uploadFile",
             "Uploads a file into the files folder (the raw body; ?name=), replacing one of that name; its size and MD5",
             "", "201 File", {{"name", "string", "the file name: letters, digits, '.', '_', '-', '+'"}}, [s](Call& c) {
               const std::string name(p::parse_target(c.request.target()).query.get_or("name", ""));
               if (auto bad = bad_file_name(name)) return answer_error(c.respond, c.who, 400, "name: " + *bad, "invalid", "name");
               if (c.request.body().empty()) return answer_error(c.respond, c.who, 400, "the body is the file: it is empty");
               s->downloads->post([s, name, bytes = std::move(c.request.body()), respond = c.respond, who = c.who]() {
                 try {
                   const auto facts = s->files->save(name, bytes);
                   spdlog::info("{}: stored {} ({} bytes, md5 {})", who, name, facts.size, facts.md5);
                   Json j = file_json(facts);
                   j["created_at"] = s->devices.clock().now();
                   answer_json(respond, 201, j);
                 } catch (const std::exception& e) {
                   answer_error(respond, who, 500, std::string("the file could not be stored: ") + e.what());
                 }
               });
             }});
  table.add({V::get, "/api/v1/files", Role::viewer, "listFiles", "The files folder: each file's name, size, MD5 and modification time",
             "", "200 File[]", {}, [s](Call& c) {
               s->downloads->post([s, respond = c.respond]() {
                 Json out = Json::array();
                 for (const auto& f : s->files->list()) out.push_back(file_json(f));
                 answer_json(respond, 200, out);
               });
             }});
  table.add({V::delete_, "/api/v1/files/{name}", Role::admin, "deleteFile",
             "Removes a file from the files folder (campaigns that named it then fail at the panels)", "", "200 Deleted", {},
             [s](Call& c) {
               const std::string name = c.params[0];
               if (auto bad = bad_file_name(name)) return answer_error(c.respond, c.who, 400, "name: " + *bad, "invalid", "name");
               s->downloads->post([s, name, respond = c.respond, who = c.who]() {
                 try {
                   if (!s->files->remove(name)) return answer_error(respond, who, 404, "no file " + name);
                   spdlog::info("{}: removed {}", who, name);
                   answer_json(respond, 200, Json{{"deleted", true}});
                 } catch (const std::exception& e) {
                   answer_error(respond, who, 500, std::string("the file could not be removed: ") + e.what());
                 }
               });
             }});

  table.add({V::post, "/api/v1/campaigns", Role::admin, "createCampaign",
             "Sends a file of the folder by UPGRADE to panels (\"all\" or a list), each by the method it supports", "NewCampaign",
             "201 Campaign", {}, [s](Call& c) {
               auto request = read_new_campaign(c);
               if (!request) return;
               s->downloads->post([s, request = std::move(*request), respond = c.respond, who = c.who]() mutable {
                 FileError error;
                 auto facts = s->files->describe(request.file, &error);
                 if (!facts) {
                   const int status = error.kind == FileError::Kind::unreadable ? 500
                                      : error.kind == FileError::Kind::bad_name ? 400
                                                                                : 404;
                   return answer_error(respond, who, status, "file: " + error.message, "", "file");
                 }
                 if (facts->size == 0) return answer_error(respond, who, 400, "file: " + request.file + " is empty", "", "file");
                 request.size = facts->size;
                 request.md5 = facts->md5;
                 s->campaigns->create(std::move(request), [s, respond, who](storage::StoreResult<storage::Campaign> r) {
                   if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                   answer_campaign(*s, respond, who, r->id, 201);
                 });
               });
             }});
  table.add({V::get, "/api/v1/campaigns", Role::viewer, "listCampaigns", "Campaigns, newest first, each panel's state",
             "", "200 Campaign[]",
             {{"limit", "integer", "at most this many (default 100, at most 1000)"},
              {"before_id", "integer", "only campaigns with a smaller id (paging: the last id seen)"}},
             [s](Call& c) {
               auto limit = limit_param(c);
               if (!limit) return;
               auto before = id_param(c, "before_id", "a campaign id");
               if (!before) return;
               const std::int64_t now = s->devices.clock().now();
               const service::DownloadProgress* progress = &s->campaigns->progress();
               read_json(*s, c, [now, progress, limit = *limit, before = *before](storage::Reads& r) {
                 Json out = Json::array();
                 for (const auto& campaign : r.campaigns().list(before, limit))
                   out.push_back(campaign_json(r, campaign, *progress, now));
                 return out;
               });
             }});
  table.add({V::get, "/api/v1/campaigns/{id}", Role::viewer, "getCampaign",
             "One campaign: each panel's state, bytes sent and the panel's Return", "", "200 Campaign", {}, [s](Call& c) {
               auto id = path_id(c, "campaign");
               if (!id) return;
               answer_campaign(*s, c.respond, c.who, *id, 200);
             }});
  table.add({V::post, "/api/v1/campaigns/{id}/cancel", Role::admin, "cancelCampaign",
             "Cancels the campaign's commands not sent yet (a panel downloading carries on)", "", "200 Campaign", {},
             [s](Call& c) {
               auto id = path_id(c, "campaign");
               if (!id) return;
               s->campaigns->cancel(*id, [s, respond = c.respond, who = c.who](storage::StoreResult<storage::Campaign> r) {
                 if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                 answer_campaign(*s, respond, who, r->id, 200);
               });
             }});
}

}  // namespace zkpush::front::api
