#include "service/ingest.hpp"

#include <nlohmann/json.hpp>

#include <set>
#include <tuple>
#include <utility>

#include "protocol/base64.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/commands.hpp"
#include "protocol/schema.hpp"
#include "protocol/text.hpp"
#include "service/access.hpp"
#include "service/account.hpp"
#include "service/credentials.hpp"
#include "service/sub_controllers.hpp"

namespace zkpush::service {

namespace p = protocol;

namespace {

std::optional<std::int64_t> int_of(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  return p::text::parse_int(*text);
}

std::optional<std::string_view> first_of(const p::Record& r, std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    if (auto v = r.get(k)) return v;
  }
  return std::nullopt;
}

// The field holding a record's photo or template, and whether it is kept decoded: photos are
// binary (served as images later); templates stay the base64 text the device sent, which is what
// DATA UPDATE gives back to a device. identitycard carries several base64 fields: the JPEG is the
// one worth serving, the others stay in the fields.
struct ContentRule {
  std::string_view table;
  std::string_view field;
  bool decode;
};
constexpr ContentRule kContentRules[] = {
    {"templatev10", "template", false}, {"biodata", "tmp", false},   {"biophoto", "content", true},
    {"userpic", "content", true},       {"ATTPHOTO", "photo", true}, {"identitycard", "PhotoJPG", true},
};

void move_content(storage::DeviceRecord& d) {
  for (const auto& rule : kContentRules) {
    if (!p::text::iequals(rule.table, d.table)) continue;
    for (std::size_t i = 0; i < d.fields.fields.size(); ++i) {
      auto& f = d.fields.fields[i];
      if (!p::text::iequals(f.key, rule.field) || f.value.empty()) continue;
      d.content_field = f.key;
      if (auto bytes = rule.decode ? p::base64_decode(f.value) : std::nullopt) {
        d.content = std::move(*bytes);
        d.content_encoding = "binary";
      } else {
        // Templates, and photos that are not valid base64 (truncated uploads): kept as sent.
        d.content = std::move(f.value);
        d.content_encoding = "base64";
      }
      d.fields.fields.erase(d.fields.fields.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
    return;
  }
}

std::vector<storage::NewEvent> events_from(const std::vector<p::Record>& records, const std::string& sn, int tz,
                                           const char* source, std::int64_t now) {
  std::vector<storage::NewEvent> events;
  events.reserve(records.size());
  for (const auto& r : records) events.push_back(event_from_record(r, sn, tz, source, now));
  return events;
}

}  // namespace

storage::NewEvent event_from_record(const p::Record& r, const std::string& sn, int tz, const char* source,
                                    std::int64_t now) {
  storage::NewEvent e;
  e.sn = sn;
  std::optional<p::CivilTime> civil;
  if (auto time = r.get("time")) {
    if (auto parsed = p::parse_datetime(*time)) civil = *parsed;
    e.time_local = std::string(*time);
  } else if (auto seconds = r.get("time_second")) {
    if (auto parsed = p::parse_zktime(*seconds); parsed && p::is_valid_civil_time(*parsed)) civil = *parsed;
    e.time_local = std::string(*seconds);
  }
  if (civil) {
    e.time_local = p::format_datetime(*civil);
    if (auto unix = p::unix_from_civil(*civil)) e.time_utc = *unix - static_cast<std::int64_t>(tz) * 60;
  }
  e.pin = std::string(r.get_or("pin", ""));
  e.cardno = std::string(r.get_or("cardno", ""));
  e.event = int_of(first_of(r, {"event", "eventtype"}));
  e.door = int_of(first_of(r, {"eventaddr", "doorid"}));
  e.inout = int_of(first_of(r, {"inoutstatus", "inoutstate"}));
  e.verifytype = std::string(first_of(r, {"verifytype", "verified"}).value_or(""));
  e.index = int_of(r.get("index"));
  e.alarm_type = int_of(r.get("alarmtype"));
  e.raw = p::format_tab_record(r);
  e.source = source;
  e.received_at = now;
  return e;
}

std::string record_key(const std::string& table, const p::Record& r) {
  std::string key;
  const p::TableSpec* spec = p::find_table(table);
  if (spec && !spec->key_fields.empty()) {
    for (auto field : spec->key_fields) {
      auto v = r.get(field);
      if (!v) return p::format_tab_record(r);
      if (!key.empty()) key += '/';
      key += *v;
    }
    return key;
  }
  if (auto pin = r.get("pin"); pin && spec && spec->name == "ATTPHOTO") return std::string(*pin);
  return p::format_tab_record(r);
}

storage::DeviceRecord device_record_from(const std::string& sn, const std::string& table, const p::Record& record,
                                         std::int64_t now) {
  storage::DeviceRecord d;
  d.sn = sn;
  d.table = table;
  d.key = record_key(table, record);
  d.fields = record;
  d.updated_at = now;
  move_content(d);
  return d;
}

Ingest::Ingest(storage::Store& store, Devices& devices, const Clock& clock)
    : store_(store), devices_(devices), clock_(clock) {}

int Ingest::tz_of(const std::string& sn) const {
  auto state = devices_.get(sn);
  return state ? devices_.tz_minutes(*state->device) : devices_.policy().default_tz_minutes;
}

void Ingest::rtlog(const std::string& sn, const std::vector<p::Record>& records, Reply<storage::InsertCounts> done) {
  auto events = events_from(records, sn, tz_of(sn), "rtlog", clock_.now());
  store_.write([events = std::move(events)](storage::Transaction& tx) { return tx.events().insert(events); },
               [this, done = std::move(done)](storage::StoreResult<storage::InsertCounts> r) {
                 if (r.ok() && r->inserted > 0 && live_) live_->ring(Live::Ring::messages);
                 done(std::move(r));
               });
}

void Ingest::rtstate(const std::string& sn, const std::vector<p::Record>& records, storage::Store::Done done) {
  std::vector<storage::DoorStateUpdate> updates;
  const auto now = clock_.now();
  for (const auto& r : records) {
    storage::DoorStateUpdate u;
    u.sn = sn;
    u.time_local = std::string(r.get_or("time", ""));
    if (auto civil = p::parse_datetime(u.time_local)) u.time_local = p::format_datetime(*civil);
    u.sensor = std::string(r.get_or("sensor", ""));
    u.relay = std::string(r.get_or("relay", ""));
    u.alarm = std::string(r.get_or("alarm", ""));
    u.received_at = now;
    updates.push_back(std::move(u));
  }
  if (updates.empty()) return done(storage::Unit{});
  store_.write(
      [updates = std::move(updates)](storage::Transaction& tx) {
        for (const auto& u : updates) tx.door_states().put(u);
      },
      [this, done = std::move(done)](storage::StoreResult<storage::Unit> r) {
        if (r.ok() && live_) live_->ring(Live::Ring::messages);  // a change of state is a message
        done(std::move(r));
      });
}

void Ingest::table_records(const std::string& sn, const std::string& table, const std::vector<p::Record>& records,
                           Reply<storage::InsertCounts> done) {
  std::vector<storage::DeviceRecord> rows;
  rows.reserve(records.size());
  const auto now = clock_.now();
  for (const auto& r : records) rows.push_back(device_record_from(sn, table, r, now));
  if (rows.empty()) return done(storage::InsertCounts{});
  // Users enrolled at the panel join the domain in the same unit of work as their records.
  const bool users = access_ && access_->enrolment() != Enrolment::ignore && p::text::iequals(table, "user");
  const bool credentials = access_ && access_->enrolment() != Enrolment::ignore && is_credential_table(table);
  if (!users && !credentials) {
    store_.write([rows = std::move(rows)](storage::Transaction& tx) { return tx.device_data().put_records(rows); },
                 std::move(done));
    return;
  }
  struct Stored {
    storage::InsertCounts counts;
    std::vector<std::string> panels;
  };
  store_.write(
      [rows = std::move(rows), records, sn, table, users, policy = access_->enrolment(), now](storage::Transaction& tx) {
        Stored out;
        out.counts = tx.device_data().put_records(rows);
        out.panels = users ? Access::adopt_users(tx, policy, sn, records, now)
                           : Access::adopt_credentials(tx, policy, sn, table, records, now);
        return out;
      },
      [access = access_, done = std::move(done)](storage::StoreResult<Stored> r) {
        if (!r.ok()) return done(r.error());
        if (!r->panels.empty()) access->changed(r->panels);
        done(r->counts);
      });
}

namespace {
// How long after a panel answered an enrolment command its uploads still count as asked for.
constexpr std::int64_t kEnrolmentAnswerGrace = 600;
}  // namespace

void Ingest::device_log(const std::string& sn, const std::string& kind, const std::vector<p::Record>& records,
                        storage::Store::Done done) {
  if (kind == "device_authorize" && subs_) return subs_->upload(sn, records, std::move(done));
  std::vector<storage::DeviceLogEntry> entries;
  const auto now = clock_.now();
  for (const auto& r : records) {
    storage::DeviceLogEntry e;
    e.sn = sn;
    e.kind = kind;
    e.data = p::format_tab_record(r);
    e.received_at = now;
    entries.push_back(std::move(e));
  }
  if (entries.empty()) return done(storage::Unit{});
  // A remote enrolment's upload — templates (9.6.2, type=BioData: TYPE, PIN, NO, INDEX, MAJOR_VER,
  // MINOR_VER, TMP) or a card (9.6.1, type=EnrollInfoData: TYPE=0, PIN, TMP the card number) —
  // becomes the person's in the same unit of work, whatever panel_enrolment says, when the server
  // asked for it: an ENROLL_BIO (ENROLL_INFO) of this panel for the same PIN, TYPE and NO (POST
  // /persons/{pin}/enroll), sent and not answered yet — or answered within the last ten minutes: the
  // manual has the data uploaded before the result, but a panel that answers first is not refused. Anything else is what the panel enrolled of its
  // own accord, adopted only as panel_enrolment allows. The sync engine then sends it to the
  // person's other panels.
  const bool bio = kind == "enroll_bio";
  if ((bio || kind == "enroll_info") && access_) {
    using Key = std::tuple<std::string, std::string, std::string>;  // PIN, TYPE, NO
    std::vector<std::pair<Key, p::Record>> uploaded;  // keyed, as the panel's biodata / user table carries it
    for (const auto& r : records) {
      const std::string pin(r.get_or("PIN", "")), type(r.get_or("TYPE", bio ? "" : "0"));
      p::Record row;
      if (bio) {
        for (const auto& f : r.fields) {
          if (p::text::iequals(f.key, "MAJOR_VER")) row.add("MajorVer", f.value);
          else if (p::text::iequals(f.key, "MINOR_VER")) row.add("MinorVer", f.value);
          else row.add(f.key, f.value);
        }
      } else if (type == "0") {
        row = p::Record{{"Pin", pin}, {"CardNo", std::string(r.get_or("TMP", ""))}};
      } else {
        spdlog::warn("{}: enrolled data of type {} for pin {}: only cards (TYPE=0) are known", sn, type, pin);
        continue;
      }
      uploaded.emplace_back(Key{pin, type, std::string(r.get_or("NO", "0"))}, std::move(row));
    }
    store_.write(
        [entries = std::move(entries), uploaded = std::move(uploaded), sn, now, bio, policy = access_->enrolment()](
            storage::Transaction& tx) {
          tx.device_data().append_log(entries);
          // The enrolment commands in flight for this panel (or just answered), as (PIN, TYPE, NO).
          std::set<Key> asked;
          storage::CommandFilter filter;
          filter.sn = sn;
          filter.statuses = {"sent", "done"};
          filter.verbs = {bio ? "ENROLL_BIO" : "ENROLL_INFO"};
          filter.limit = 100;
          for (const auto& row : tx.commands().list(filter)) {
            if (row.status == storage::CommandStatus::done && row.done_at < now - kEnrolmentAnswerGrace) continue;
            auto parsed = p::parse_command("C:0:" + row.line);
            if (!parsed) continue;
            if (const auto* e = std::get_if<p::EnrollBio>(&parsed->body))
              asked.emplace(std::string(e->params.get_or("PIN", "")), std::string(e->params.get_or("TYPE", "")),
                            std::string(e->params.get_or("NO", "0")));
            else if (const auto* i = std::get_if<p::EnrollInfo>(&parsed->body))
              asked.emplace(std::string(i->params.get_or("PIN", "")), std::string(i->params.get_or("TYPE", "0")), "0");
          }
          std::vector<p::Record> requested, unrequested;
          for (const auto& [key, row] : uploaded) (asked.count(key) ? requested : unrequested).push_back(row);
          auto adopt = [&](Enrolment as, const std::vector<p::Record>& rows) {
            return bio ? Access::adopt_credentials(tx, as, sn, "biodata", rows, now) : Access::adopt_users(tx, as, sn, rows, now);
          };
          auto panels = adopt(Enrolment::all, requested);
          for (auto& sn_changed : adopt(policy, unrequested)) panels.push_back(std::move(sn_changed));
          return panels;
        },
        [access = access_, done = std::move(done)](storage::StoreResult<std::vector<std::string>> r) {
          if (!r.ok()) return done(r.error());
          if (!r->empty()) access->changed(*r);
          done(storage::Unit{});
        });
    return;
  }
  store_.write([entries = std::move(entries)](storage::Transaction& tx) { tx.device_data().append_log(entries); },
               std::move(done));
}

void Ingest::command_upload(CommandUpload upload, Reply<UploadOutcome> done) {
  struct Applied {
    UploadOutcome outcome;
    std::optional<protocol::Record> options;  // a GET OPTIONS answer's parameters, merged
  };
  const auto now = clock_.now();
  const int tz = tz_of(upload.sn);
  std::string sn = upload.sn;  // the callback's copy (upload moves into the job)
  store_.write(
      [u = std::move(upload), now, tz](storage::Transaction& tx) {
        Applied out;
        out.outcome.records = u.records.size();
        const bool archive = u.kind == "account" || u.kind == "file";
        const bool transactions = archive || (u.kind == "tabledata" && u.table == "transaction");
        const char* source = archive ? "account" : "query";
        std::optional<storage::CommandRow> row;
        if (auto wire = p::text::parse_int(u.cmdid)) row = tx.commands().find(u.sn, *wire);
        if (!row) {
          // Nothing to attach the data to. Transaction records are events all the same (a command
          // from before a wiped data folder).
          if (transactions && !u.records.empty())
            out.outcome.events = tx.events().insert(events_from(u.records, u.sn, tz, source, now));
          return out;
        }
        out.outcome.command_known = true;
        storage::CommandData data;
        data.command_id = row->id;
        data.kind = u.kind;
        data.table = u.table;
        data.packidx = u.packidx;
        data.packcnt = u.packcnt;
        data.body = u.body;
        data.received_at = now;
        if (transactions && !u.records.empty()) {
          // Recovered events: inserted like rtlog (duplicates of what rtlog delivered are recognised).
          out.outcome.events = tx.events().insert(events_from(u.records, u.sn, tz, source, now));
        }
        if (archive) {
          // The archive itself is not kept (up to 96 MiB, and its records are now events): what the
          // ACCOUNT check found is.
          nlohmann::ordered_json summary;
          summary["records"] = static_cast<std::int64_t>(u.records.size());
          summary["missing_inserted"] = out.outcome.events.inserted;
          summary["already_stored"] = out.outcome.events.duplicates;
          if (u.announced >= 0 && !u.records.empty()) summary["count"] = u.announced;
          if (!u.records.empty()) summary["archive_bytes"] = u.archive_bytes;
          data.body = summary.dump();
        }
        if (u.kind == "options" && !u.records.empty()) {  // GET OPTIONS answers are device parameters too
          Devices::merge_options_in(tx, u.sn, u.records.front(), "get_options", now);
          out.options = u.records.front();
        }
        tx.commands().add_data(data);
        if (archive && (row->status == storage::CommandStatus::done || row->status == storage::CommandStatus::failed)) {
          // The archive may arrive after the device answered: the closed command's result gets the
          // counts too.
          if (auto totals = account_totals(tx.commands().data(row->id))) {
            row->result = with_account_totals(row->result, *totals);
            tx.commands().update(*row);
          }
        }
        return out;
      },
      [this, sn = std::move(sn), done = std::move(done)](storage::StoreResult<Applied> r) {
        if (!r.ok()) return done(r.error());
        if (r->options) devices_.merged_options(sn, *r->options);
        if (r->outcome.events.inserted > 0 && live_) live_->ring(Live::Ring::messages);
        done(r->outcome);
      });
}

}  // namespace zkpush::service
