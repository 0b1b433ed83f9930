#include "emulator/command_executor.hpp"

#include <algorithm>
#include <tuple>
#include <type_traits>

#include "protocol/account.hpp"
#include "protocol/base64.hpp"
#include "protocol/codecs_session.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/control_device.hpp"
#include "protocol/event_codes.hpp"
#include "protocol/text.hpp"

namespace zkpush::emulator {

namespace p = protocol;

namespace {

namespace ev = p::event_code;  // Appendix 2 codes the actions log
constexpr int kVerifyOther = 200;
constexpr int kInOutNone = 2;
constexpr int kAdscreenPending = -5000;  // 9.5.3 first answer (enums.yaml: printed "5000" in the example)

DeviceModel::Event command_event(const ExecutionContext& ctx, int door, int code) {
  DeviceModel::Event e;
  e.time = ctx.now;
  e.door = door;
  e.event = code;
  e.inout = kInOutNone;
  e.verifytype = kVerifyOther;
  return e;
}

// Doors a CONTROL DEVICE byte addresses: 0 = every door.
std::vector<int> addressed_doors(const DeviceModel& model, int number) {
  std::vector<int> doors;
  if (number == 0) {
    for (int d = 1; d <= model.door_count(); ++d) doors.push_back(d);
  } else if (number <= model.door_count()) {
    doors.push_back(number);
  }
  return doors;
}

bool earlier(const p::CivilTime& a, const p::CivilTime& b) {
  return std::tie(a.year, a.month, a.day, a.hour, a.minute, a.second) <
         std::tie(b.year, b.month, b.day, b.hour, b.minute, b.second);
}

std::vector<p::Record> account_records(const DeviceModel& model, const p::AccountCommand& a) {
  std::vector<p::Record> out;
  std::optional<p::CivilTime> from, to;
  if (a.form == p::AccountForm::time_range) {
    if (auto t = p::parse_datetime(a.start_time)) from = *t;
    if (auto t = p::parse_datetime(a.end_time)) to = *t;
  }
  for (const auto& e : model.events()) {
    const auto index = static_cast<std::uint64_t>(e.index);
    switch (a.form) {
      case p::AccountForm::pullsdk:
      case p::AccountForm::max_index:
        if (index <= a.max_index) continue;
        break;
      case p::AccountForm::index_range:
        if (index < a.start_index || index > a.end_index) continue;
        break;
      case p::AccountForm::time_range:
        if ((from && earlier(e.time, *from)) || (to && earlier(*to, e.time))) continue;
        break;
    }
    out.push_back(DeviceModel::transaction_record(e));
  }
  return out;
}

class Visitor {
 public:
  Visitor(const p::Command& command, DeviceModel& model, const ExecutionContext& ctx, Execution& out)
      : command_(command), model_(model), ctx_(ctx), out_(out) {}

  int operator()(const p::DataUpdate& u) {
    if (p::text::iequals(u.table, "templatev10")) {
      for (const auto& r : u.records) {
        auto pin = r.get("Pin");
        if (!pin || model_.find("user", "Pin", *pin) == nullptr) return ret::template_user_unknown;
        if (r.get_or("Size", "1") == "0") return ret::template_length_zero;
      }
    }
    return model_.update(u);
  }
  int operator()(const p::DataDelete& d) { return model_.remove(d); }
  int operator()(const p::DataCount& c) {
    const std::int64_t n = model_.count(c);
    if (n < 0) return static_cast<int>(n);
    out_.uploads.push_back(p::format_querydata_count(model_.sn(), command_.id, c.table, n));
    return 0;  // the count travels in the querydata body; devices answer 0 (decision 14)
  }
  int operator()(const p::DataQuery& q) {
    if (p::find_table(q.table) == nullptr) return ret::no_such_table;
    auto records = model_.query(q);
    out_.uploads = p::format_querydata_packages(model_.sn(), command_.id, q.table, records, ctx_.max_package_size);
    return static_cast<int>(records.size());
  }
  int operator()(const p::AccountCommand& a) {
    auto records = account_records(model_, a);
    const auto n = static_cast<std::int64_t>(records.size());
    if (ctx_.account_controller_form && a.form != p::AccountForm::pullsdk) {
      const std::size_t per_file = std::max<std::size_t>(1, ctx_.account_records_per_file);
      const std::size_t files = records.empty() ? 0 : (records.size() + per_file - 1) / per_file;
      out_.uploads.push_back(p::format_account_overview(
          model_.sn(), command_.id,
          p::account_overview_record(n, "transaction.tgz", static_cast<std::int64_t>(files))));
      for (std::size_t f = 0; f < files; ++f) {
        std::vector<p::Record> part(records.begin() + static_cast<std::ptrdiff_t>(f * per_file),
                                    records.begin() + static_cast<std::ptrdiff_t>(std::min(records.size(), (f + 1) * per_file)));
        auto tgz = p::transaction_tgz(part);
        if (!tgz) return ret::execution_error;
        out_.uploads.push_back(p::format_account_file(model_.sn(), command_.id, static_cast<std::int64_t>(f + 1),
                                                      static_cast<std::int64_t>(part.size()), *tgz));
      }
      return static_cast<int>(n);
    }
    auto tgz = p::transaction_tgz(records);
    if (!tgz) return ret::execution_error;
    out_.uploads.push_back(p::format_querydata_account(model_.sn(), command_.id, *tgz, n));
    // 9.2.1 result tail: "&transaction&StartTime=&EndTime=&RecordSum=N".
    extra_ = {p::Field{"transaction", "", false}, p::Field{"StartTime", a.start_time}, p::Field{"EndTime", a.end_time},
              p::Field{"RecordSum", std::to_string(n)}};
    return static_cast<int>(n);
  }
  int operator()(const p::TestHost& t) {
    out_.test_host = t.address;
    return 0;
  }
  int operator()(const p::ControlDevice& c) { return control(c); }
  int operator()(const p::Upgrade& u) {
    out_.upgrade = u;
    return 0;
  }
  int operator()(const p::SetOptions& s) {
    for (const auto& f : s.options.fields) {
      model_.set_option(f.key, f.value);
      out_.options_changed = true;
    }
    return 0;
  }
  int operator()(const p::GetOptions& g) {
    p::Record values;
    for (const auto& key : g.keys) {
      if (auto v = model_.option(key)) values.add(key, *v);
    }
    out_.uploads.push_back(p::format_querydata_options(model_.sn(), command_.id, values));
    return 0;
  }
  int operator()(const p::SetAdscreenOptions& a) {
    // Only channel controllers with a screen have the command (9.5.3; IsSupportADScreen, Appendix 20).
    if (model_.option("IsSupportADScreen").value_or("0") != "1") return ret::unknown_command;
    // Received at once (-5000); the screen device's download result follows as the final answer.
    const auto& o = a.options;
    int final_rc = ret::ok;
    for (auto key : {"InOut", "Area", "Type", "URL"})
      if (o.get_or(key, "").empty()) final_rc = ret::bad_parameter;
    if (final_rc == ret::ok) {
      auto& screens = model_.panel().adscreen;
      std::erase_if(screens, [&](const p::Record& r) {
        return r.get_or("InOut", "") == o.get_or("InOut", "") && r.get_or("Area", "") == o.get_or("Area", "");
      });
      screens.push_back(o);
    }
    out_.final_result = p::make_command_result(command_.id, final_rc, p::verb_name(command_.verb()));
    return kAdscreenPending;
  }
  // ENROLL_INFO (9.6.1): TYPE 0 (the default) is the only kind the manual names, an MF card. The
  // simulated person presents a card whose number is derived from the PIN (a server can check it);
  // MODE=1 also puts it on the panel's user row.
  int operator()(const p::EnrollInfo& e) {
    const std::string pin(e.params.get_or("PIN", ""));
    const std::string type(e.params.get_or("TYPE", "0"));
    if (pin.empty() || type != "0") return ret::bad_parameter;
    const std::string card = enrolled_card(pin);
    out_.uploads.push_back(
        p::format_enroll_info_upload(model_.sn(), {p::Record{{"TYPE", type}, {"PIN", pin}, {"TMP", card}}}));
    if (e.params.get_or("MODE", "0") == "1") {
      const p::Record* user = model_.find("user", "Pin", pin);
      p::Record row = user ? *user : p::Record{{"Pin", pin}};
      row.set("CardNo", card);
      model_.put("user", std::move(row));
    }
    return 0;
  }
  int operator()(const p::EnrollBio& e) {
    const std::string pin(e.params.get_or("PIN", ""));
    if (pin.empty()) return ret::bad_parameter;
    const std::string type(e.params.get_or("TYPE", "9"));
    const std::string no(e.params.get_or("NO", "0"));
    const std::string tmp = enrolled_template(pin);
    p::Record r{{"TYPE", type},        {"PIN", pin},          {"NO", no},   {"INDEX", "0"},
                {"MAJOR_VER", "58"}, {"MINOR_VER", "1"}, {"TMP", tmp}};
    out_.uploads.push_back(p::format_enroll_bio_upload(model_.sn(), {r}));
    model_.put("biodata", p::Record{{"Pin", pin}, {"No", no}, {"Index", "0"}, {"Valid", "1"}, {"Duress", "0"},
                                    {"Type", type}, {"MajorVer", "58"}, {"MinorVer", "1"}, {"Format", "0"},
                                    {"Tmp", tmp}});
    return 0;
  }
  int operator()(const p::UnknownCommand&) { return ret::unknown_command; }

  std::vector<p::Field> extra_;

 private:
  static std::string enrolled_card(const std::string& pin) {
    std::uint32_t x = 2166136261u;
    for (char c : pin) x = (x ^ static_cast<unsigned char>(c)) * 16777619u;
    return std::to_string(100000000u + x % 900000000u);  // nine digits, never 0
  }
  static std::string enrolled_template(const std::string& pin) {
    // Base64 alphabet only, deterministic: a server can check what it stored.
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t x = 2166136261u;
    for (char c : pin) x = (x ^ static_cast<unsigned char>(c)) * 16777619u;
    for (int i = 0; i < 64; ++i) {
      x = x * 1664525u + 1013904223u;
      out += alphabet[(x >> 26) & 63u];
    }
    return out;
  }

  // CONTROL DEVICE (9.4): every action the manual defines changes the panel and what it reports
  // next (rtstate through doors_changed, rtlog through the events logged, uploads).
  int control(const p::ControlDevice& c) {
    // An action code the manual does not define is a command that does not exist (-13); a defined
    // one with a group out of range is a bad parameter (-11).
    if (p::control_code_name(c.aa).empty()) return ret::unknown_command;
    if (!p::validate_control_device(c)) return ret::bad_parameter;
    PanelState& panel = model_.panel();
    switch (static_cast<p::ControlCode>(c.aa)) {
      case p::ControlCode::output: {
        if (c.cc == static_cast<std::uint8_t>(p::OutputTarget::aux_output)) {
          log(c.bb, c.dd == p::ControlDevice::close ? ev::aux_off : ev::aux_on);
          return ret::ok;
        }
        auto doors = addressed_doors(model_, c.bb);
        if (doors.empty()) return ret::bad_parameter;
        for (int d : doors) {
          DoorState& door = model_.door(d);
          if (door.locked && c.dd != p::ControlDevice::close) {
            log(d, ev::door_locked);  // a locked door stays shut until 06 unlocks it
            continue;
          }
          door.relay_open = c.dd != p::ControlDevice::close;
          door.relay_until = (c.dd != p::ControlDevice::close && c.dd != p::ControlDevice::hold_open)
                                 ? ctx_.unix_now + c.dd
                                 : 0;
          log(d, door.relay_open ? ev::remote_open : ev::remote_close);
        }
        out_.doors_changed = true;
        return ret::ok;
      }
      case p::ControlCode::cancel_alarm: {
        for (int d : addressed_doors(model_, c.bb)) {
          model_.door(d).alarm = 0;
          log(d, ev::cancel_alarm);
        }
        out_.doors_changed = true;
        return ret::ok;
      }
      case p::ControlCode::restart:
        // Relays on a timer drop as the panel powers down; held ones come back from its settings.
        for (int d = 1; d <= model_.door_count(); ++d) {
          DoorState& door = model_.door(d);
          if (door.relay_until != 0) {
            door.relay_open = false;
            door.relay_until = 0;
          }
        }
        panel.floors_open.clear();
        log(0, ev::device_started);
        out_.doors_changed = true;
        out_.restart = true;
        return ret::ok;
      case p::ControlCode::normal_open: {
        auto doors = addressed_doors(model_, c.bb);
        if (doors.empty()) return ret::bad_parameter;
        for (int d : doors) {
          model_.door(d).relay_open = c.cc != 0;
          model_.door(d).relay_until = 0;
          log(d, c.cc != 0 ? ev::normal_open_on : ev::normal_open_off);
        }
        out_.doors_changed = true;
        return ret::ok;
      }
      case p::ControlCode::battery_power:
        // The manual gives no answer format: the level travels as a field of the result line, as
        // ACCOUNT's tail does (docs/protocol-decisions.md).
        extra_ = {p::Field{"BatteryPower", std::to_string(panel.battery_percent)}};
        return ret::ok;
      case p::ControlCode::lock_unlock: {
        auto doors = addressed_doors(model_, c.bb);
        if (doors.empty()) return ret::bad_parameter;
        for (int d : doors) {
          DoorState& door = model_.door(d);
          door.locked = c.cc == 1;
          if (door.locked) {
            door.relay_open = false;
            door.relay_until = 0;
          }
          log(d, door.locked ? ev::remote_lock : ev::remote_unlock);
        }
        out_.doors_changed = true;
        return ret::ok;
      }
      case p::ControlCode::emergency: {
        const bool open = c.bb == 1;  // 01 dual-on (every door open), 02 dual-off (every door shut)
        panel.emergency = c.bb;
        for (int d = 1; d <= model_.door_count(); ++d) {
          model_.door(d).relay_open = open;
          model_.door(d).relay_until = 0;
          log(d, open ? ev::dual_on : ev::dual_off);
        }
        out_.doors_changed = true;
        return ret::ok;
      }
      case p::ControlCode::zigbee:
        panel.zigbee = c.bb;
        return ret::ok;
      case p::ControlCode::wiegand_test:
        // 01 (and 00, the manual's example) starts the test: the panel reports what its Wiegand
        // input reads as testdata; 02 stops it.
        panel.wiegand_test = c.bb != 2;
        if (panel.wiegand_test) out_.uploads.push_back(p::format_testdata_upload(model_.sn(), {model_.wiegand_reading()}));
        return ret::ok;
      case p::ControlCode::rs485_lighting:
        ++panel.rs485_lighting;
        return ret::ok;
      case p::ControlCode::network_switch: {
        using N = PanelState::Network;
        // 01/02 leave the wired network, 03/04 come back to it from 4G / Wi-Fi.
        const N from = c.bb <= 2 ? N::wired : (c.bb == 3 ? N::cellular : N::wifi);
        const N to = c.bb == 1 ? N::cellular : (c.bb == 2 ? N::wifi : N::wired);
        if (panel.network != from) return ret::execution_error;
        panel.network = to;
        model_.set_option("CommType", comm_type(to));
        out_.uploads.push_back(p::format_options_upload(model_.sn(), p::Record{{"CommType", comm_type(to)}}));
        log(0, network_event(to));
        return ret::ok;
      }
      case p::ControlCode::id_card_registration:
        if (c.cc > model_.door_count()) return ret::bad_parameter;
        panel.id_card_registration = c.bb == 1;
        panel.id_card_door = panel.id_card_registration ? c.cc : 0;
        panel.id_card_until = panel.id_card_registration && c.dd != 0 ? ctx_.unix_now + c.dd : 0;
        return ret::ok;
      case p::ControlCode::query_subdevice:
        ++panel.subdevice_queries;  // a stand-alone panel: no sub-device to report
        return ret::ok;
      case p::ControlCode::test_switched_network:
        log(0, network_event(panel.network));  // the network in use answers
        return ret::ok;
      case p::ControlCode::cancel_elevator_emergency:
        panel.elevator_emergency = false;
        log(0, ev::elevator_emergency_cancelled);
        return ret::ok;
      case p::ControlCode::reset_counter: {
        const auto which = static_cast<p::CounterReset>(c.bb);
        if (which == p::CounterReset::out_counter || which == p::CounterReset::all) panel.outcount = 0;
        if (which == p::CounterReset::in_counter || which == p::CounterReset::all) panel.incount = 0;
        if (which == p::CounterReset::alarm_count || which == p::CounterReset::all) panel.alarmcount = 0;
        out_.uploads.push_back(p::format_irstate_upload(model_.sn(), {model_.irstate_record()}));
        return ret::ok;
      }
      case p::ControlCode::elevator_output:
      case p::ControlCode::elevator_normal_open: {
        // Each floor is an output of the elevator panel: logged with the floor as eventaddr.
        const bool hold = c.aa == 18;
        for (unsigned floor : p::floors_of(*c.floors)) {
          const int addr = static_cast<int>(floor);
          if (c.dd == p::ControlDevice::close) {
            panel.floors_open.erase(floor);
            panel.floors_normal_open.erase(floor);
            log(addr, hold ? ev::normal_open_off : ev::remote_close);
          } else if (hold || c.dd == p::ControlDevice::hold_open) {
            if (hold) panel.floors_normal_open[floor] = true;
            else panel.floors_open[floor] = 0;
            log(addr, hold ? ev::normal_open_on : ev::remote_open);
          } else {
            panel.floors_open[floor] = ctx_.unix_now + c.dd;
            log(addr, ev::remote_open);
          }
        }
        return ret::ok;
      }
    }
    return ret::unknown_command;
  }

  static const char* comm_type(PanelState::Network n) {
    // The registration's CommType values (4.4).
    switch (n) {
      case PanelState::Network::cellular: return "usb-4G-modem";
      case PanelState::Network::wifi: return "serial-wireless";
      case PanelState::Network::wired: break;
    }
    return "ethernet";
  }
  static int network_event(PanelState::Network n) {
    switch (n) {
      case PanelState::Network::cellular: return ev::cellular_connected;
      case PanelState::Network::wifi: return ev::wifi_connected;
      case PanelState::Network::wired: break;
    }
    return ev::cable_connected;
  }

  void log(int door, int code) { out_.events.push_back(model_.log(command_event(ctx_, door, code))); }

  const p::Command& command_;
  DeviceModel& model_;
  const ExecutionContext& ctx_;
  Execution& out_;
};

}  // namespace

bool CommandExecutor::already_ran(const std::string& id) {
  if (ran_.count(id) != 0) return true;
  ran_.insert(id);
  ran_order_.push_back(id);
  if (ran_order_.size() > remembered_ids) {
    ran_.erase(ran_order_.front());
    ran_order_.pop_front();
  }
  return false;
}

void CommandExecutor::forget(const std::string& id) {
  ran_.erase(id);
  std::erase(ran_order_, id);
}

Execution CommandExecutor::execute(const p::Command& command, DeviceModel& model, const ExecutionContext& ctx) {
  Execution out;
  if (already_ran(command.id)) {
    out.result = p::make_command_result(command, ret::repeated);
    return out;
  }
  Visitor visitor(command, model, ctx, out);
  const int rc = std::visit(visitor, command.body);
  out.result = p::make_command_result(command.id, rc, p::verb_name(command.verb()), std::nullopt, visitor.extra_);
  if (command.verb() == p::Verb::unknown) {
    if (const auto* u = std::get_if<p::UnknownCommand>(&command.body)) out.result.cmd = u->verb;
  }
  return out;
}

int verify_download(const p::Upgrade& upgrade, std::string file) {
  if (upgrade.method == 1) {
    auto decoded = p::base64_decode(file);
    if (!decoded) return ret::checksum_error;
    file = std::move(*decoded);
  }
  if (upgrade.size != 0 && file.size() != upgrade.size) return ret::length_mismatch;
  if (!upgrade.checksum.empty() && !p::token_matches(p::md5_hex(file), upgrade.checksum)) return ret::checksum_error;
  return 0;
}

}  // namespace zkpush::emulator
