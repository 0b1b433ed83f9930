#include "service/command_queue.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include <nlohmann/json.hpp>

#include "protocol/commands.hpp"
#include "protocol/text.hpp"
#include "service/account.hpp"

namespace zkpush::service {

namespace p = protocol;
using storage::CommandRow;
using storage::CommandStatus;
using storage::StoreError;
using Reason = storage::StoreError::Reason;

std::optional<CommandStatus> next_status(CommandStatus status, CommandEvent event) noexcept {
  const bool open = is_open(status);
  switch (event) {
    case CommandEvent::deliver:         // first delivery, or again with the same wire id
    case CommandEvent::answer_pending:  // -5000: reached the device, still running
      return open ? std::optional(CommandStatus::sent) : std::nullopt;
    case CommandEvent::answer_done: return CommandStatus::done;  // what the device did is recorded
    case CommandEvent::answer_failed: return CommandStatus::failed;
    case CommandEvent::expire: return open ? std::optional(CommandStatus::expired) : std::nullopt;
    case CommandEvent::cancel:
      return status == CommandStatus::queued || status == CommandStatus::cancelled
                 ? std::optional(CommandStatus::cancelled)
                 : std::nullopt;
  }
  return std::nullopt;
}

bool is_open(CommandStatus status) noexcept { return status == CommandStatus::queued || status == CommandStatus::sent; }

// How long an UPGRADE goes unanswered before it is sent again (a lost delivery).
constexpr std::int64_t kUpgradeResendAfter = 1800;
// How long a command answered "received, result to follow" (-5000) waits for its final answer.
constexpr std::int64_t kPendingAnswerCeiling = 86400;

bool awaits_final_answer(const CommandRow& row) noexcept {
  if (row.status != CommandStatus::sent || !row.return_code) return false;
  const auto verb = p::verb_from_name(row.verb);
  return verb && p::interpret_return(*verb, *row.return_code).kind == p::ReturnKind::pending;
}

CommandStatus effective_status(const CommandRow& row, std::int64_t now) noexcept {
  if (is_open(row.status) && row.expires_at > 0 && row.expires_at <= now) return CommandStatus::expired;
  return row.status;
}

CommandQueue::CommandQueue(storage::Store& store, const Clock& clock, QueueOptions options)
    : store_(store), clock_(clock), options_(options) {}

storage::StoreStatus CommandQueue::load() {
  struct Loaded {
    std::vector<std::pair<std::string, std::int64_t>> counts;
    std::optional<std::int64_t> deadline;
  };
  auto loaded = store_.read_now([](storage::Reads& r) {
    return Loaded{r.commands().pending_counts(), r.commands().next_deadline()};
  });
  if (!loaded.ok()) return loaded.error();
  std::lock_guard lock(mutex_);
  pending_.clear();
  total_ = 0;
  for (const auto& [sn, n] : loaded->counts) {
    pending_[sn] = n;
    total_ += n;
  }
  next_deadline_ = loaded->deadline;
  return storage::Unit{};
}

storage::StoreResult<storage::NewCommand> CommandQueue::prepare(const EnqueueRequest& request) const {
  auto invalid = [](std::string message) { return StoreError{false, std::move(message), Reason::invalid}; };
  // Liberal in what the caller pastes: CRLF, a final line break.
  std::string line = request.line;
  line.erase(std::remove(line.begin(), line.end(), '\r'), line.end());
  while (!line.empty() && line.back() == '\n') line.pop_back();
  if (line.empty()) return invalid("line: empty command");
  if (request.expires_in && *request.expires_in <= 0) return invalid("expires_in: a positive number of seconds");
  // The server numbers commands itself (C:<id>:); the line is what follows that prefix.
  if (line.size() > 2 && (line[0] == 'C' || line[0] == 'c') && line[1] == ':') {
    const auto colon = line.find(':', 2);
    if (colon != std::string::npos && colon > 2 &&
        line.find_first_not_of("0123456789", 2) == colon)
      return invalid("line: leave out the \"" + line.substr(0, colon + 1) +
                     "\" prefix, the server numbers its commands: \"" + line.substr(colon + 1) + "\"");
  }
  auto parsed = p::parse_command("C:1:" + line);
  if (!parsed) return invalid("line: " + parsed.error().to_string());
  // The parser keeps unknown verbs (a device's answer may name one); a command we send must be one
  // the protocol defines, or its answer could not be read.
  if (parsed->verb() == p::Verb::unknown)
    return invalid("line: unknown command verb (DATA UPDATE, DATA DELETE, DATA QUERY, CONTROL DEVICE, SET OPTIONS, "
                   "GET OPTIONS...: docs/serve.md)");
  // Tables, fields and ranges as the catalogue gives them.
  if (auto checked = p::validate_command(*parsed); !checked) return invalid("line: " + checked.error().to_string());
  storage::NewCommand command;
  command.sn = request.sn;
  command.line = line;
  command.verb = std::string(p::verb_name(parsed->verb()));
  // Several records (LF-separated) only for DATA UPDATE, the manual's multi-record form (9.1.1).
  if (!storage::valid_command_text(command))
    return invalid("line: one command; only DATA UPDATE takes several records, one per line");
  const bool control = parsed->verb() == p::Verb::control_device;
  command.priority = request.priority.value_or(control ? storage::CommandPriority::control
                                                       : storage::CommandPriority::normal);
  command.created_at = clock_.now();
  const std::int64_t expiry = request.expires_in.value_or(control ? options_.control_expiry : 0);
  command.expires_at = expiry > 0 ? command.created_at + expiry : 0;
  return command;
}

storage::NewCommand CommandQueue::prepare_generated(const std::string& sn, const p::Command& command,
                                                    storage::CommandPriority priority) const {
  storage::NewCommand out;
  out.sn = sn;
  std::string text = p::format_command(command);
  // format_command writes "C:<id>:" first; the row keeps what follows (continuation records too).
  const auto second_colon = text.find(':', 2);
  out.line = second_colon == std::string::npos ? text : text.substr(second_colon + 1);
  out.verb = std::string(p::verb_name(command.verb()));
  out.priority = priority;
  out.created_at = clock_.now();
  out.expires_at = 0;
  return out;
}

void CommandQueue::enqueue(const EnqueueRequest& request, Reply<CommandRow> done) {
  auto prepared = prepare(request);
  if (!prepared.ok()) return done(prepared.error());
  const std::int64_t clock_now = clock_.now();
  store_.write([command = std::move(prepared.value()), clock_now, gate = &stored_gate_](storage::Transaction& tx) {
    if (*gate)
      if (auto refused = (*gate)(tx.devices(), command.sn)) throw storage::Refused(Reason::conflict, *refused);
    return tx.commands().insert(command, clock_now);
  },
               [this, done = std::move(done)](storage::StoreResult<CommandRow> r) {
                 if (r.ok()) {
                   adjust(r->sn, +1);
                   if (r->expires_at > 0) note_deadline(r->expires_at);
                 }
                 done(std::move(r));
               });
}

void CommandQueue::cancel(std::int64_t id, Reply<CommandRow> done) {
  struct Cancelled {
    CommandRow row;
    bool changed = false;
  };
  const std::int64_t now = clock_.now();
  store_.write(
      [id, now, source = source_](storage::Transaction& tx) {
        auto found = tx.commands().get(id);
        if (!found) throw storage::Refused(Reason::not_found, "command " + std::to_string(id) + " does not exist");
        CommandRow row = std::move(*found);
        // A command whose deadline passed is expired, whether or not the sweep recorded it yet.
        if (effective_status(row, now) == CommandStatus::expired && is_open(row.status)) {
          row.status = CommandStatus::expired;
          row.done_at = now;
          tx.commands().update(row);
          if (source) source->closed(tx, row, now);
          return Cancelled{std::move(row), true};
        }
        auto next = next_status(row.status, CommandEvent::cancel);
        if (!next)
          throw storage::Refused(Reason::conflict,
                                 "command " + std::to_string(id) + " is " + storage::command_status_name(row.status) +
                                     (row.status == CommandStatus::sent ? " (already delivered to the device)" : "") +
                                     "; only queued commands can be cancelled");
        if (*next == row.status) return Cancelled{std::move(row), false};  // cancelled twice
        row.status = *next;
        row.done_at = now;
        tx.commands().update(row);
        if (source) source->closed(tx, row, now);
        return Cancelled{std::move(row), true};
      },
      [this, id, done = std::move(done)](storage::StoreResult<Cancelled> r) {
        if (!r.ok()) return done(r.error());
        if (r->changed) adjust(r->row.sn, -1);
        if (r->changed && source_) source_->after_closed(r->row.sn, true);
        if (r->changed) closed_ids({r->row.id});
        if (r->row.status == CommandStatus::expired)
          return done(StoreError{false,
                                 "command " + std::to_string(id) + " is expired; only queued commands can be cancelled",
                                 Reason::conflict});
        done(std::move(r->row));
      });
}

std::int64_t CommandQueue::pending(const std::string& sn) const {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(sn);
  return it == pending_.end() ? 0 : it->second;
}

bool CommandQueue::has_work(const std::string& sn, int cmd_format) const {
  if (pending(sn) > 0 || (source_ && source_->has_work(sn))) return true;
  // A sub-controller's commands go out only in the CmdFormat=1 envelope (deliver).
  return cmd_format == 1 && !relayed(sn).empty();
}

std::vector<std::string> CommandQueue::relayed(const std::string& sn) const {
  std::vector<std::string> out;
  if (!subs_of_) return out;
  for (auto& sub : subs_of_(sn)) {
    // A sub-controller the operator de-authorized keeps its commands queued, not relayed.
    if (gate_ && gate_(sub)) continue;
    if (pending(sub) > 0) out.push_back(std::move(sub));
  }
  return out;
}

std::int64_t CommandQueue::pending_total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::string CommandQueue::wire_text(const CommandRow& row, int cmd_format) {
  std::string text;
  const std::string id = std::to_string(row.wire_id);
  if (cmd_format == 1) {
    // Appendix 14: the envelope goes before the C: line only (protocol::format_command).
    p::CommandFormat format;
    format.cmd_format = 1;
    format.sn = row.sn;
    text = "DataType=" + std::to_string(format.data_type) + ", SN=" + format.sn;
    if (format.priority) text += ", Priority=" + std::to_string(*format.priority);
    text += ", CmdID=" + id + ", CmdDesc=";
  }
  text += "C:" + id + ":" + row.line;
  return text;
}

void CommandQueue::deliver(const std::string& sn, const DeliveryBudget& budget,
                           Reply<std::vector<CommandRow>> done) {
  struct Delivery {
    std::vector<CommandRow> taken;
    std::map<std::string, std::int64_t> expired;  // per device (the master's sub-controllers too)
    std::vector<std::int64_t> expired_ids;
    std::int64_t generated = 0;
  };
  const std::int64_t now = clock_.now();
  const auto options = options_;
  CommandSource* source = source_;
  const bool generate = source && source->has_work(sn);
  // A sub-controller's command needs the envelope naming it: a master without CmdFormat=1 gets none.
  std::vector<std::string> devices{sn};
  if (budget.cmd_format == 1)
    for (auto& sub : relayed(sn)) devices.push_back(std::move(sub));
  store_.write(
      [sn, devices, budget, now, options, source, generate](storage::Transaction& tx) {
        Delivery out;
        auto& commands = tx.commands();
        for (const auto& device : devices) {
          for (auto& row : commands.overdue(device, now, 0)) {
            row.status = *next_status(row.status, CommandEvent::expire);
            row.done_at = now;
            commands.update(row);
            if (source) source->closed(tx, row, now);
            ++out.expired[device];
            out.expired_ids.push_back(row.id);
          }
        }
        if (generate) out.generated = source->generate(tx, sn, now);
        // Candidates: the queued ones in delivery order and the sent ones due again, each at most
        // the cap, merged by priority and age.
        const auto cap = static_cast<std::int64_t>(options.max_per_poll);
        std::vector<CommandRow> candidates;
        for (const auto& device : devices) {
          auto queued = commands.queued(device, cap);
          auto again = commands.unanswered(device, now - options.resend_after, cap);
          // Answered -5000: the device has it (a master holding it for a sub-controller, a screen
          // device downloading) and answers when it ran; sending it again would only earn a -7
          // that reads as done before it ran.
          std::erase_if(again, awaits_final_answer);
          // An UPGRADE takes a panel minutes to download and install before it answers: sent again
          // meanwhile it would start over (or earn a -7 that reads as done before it ran).
          std::erase_if(again, [&](const CommandRow& row) {
            return row.verb == "UPGRADE" && row.sent_at > now - std::max(options.resend_after, kUpgradeResendAfter);
          });
          candidates.insert(candidates.end(), std::make_move_iterator(queued.begin()), std::make_move_iterator(queued.end()));
          candidates.insert(candidates.end(), std::make_move_iterator(again.begin()), std::make_move_iterator(again.end()));
        }
        std::stable_sort(candidates.begin(), candidates.end(), [](const CommandRow& a, const CommandRow& b) {
          if (a.priority != b.priority) return a.priority < b.priority;
          return a.id < b.id;
        });
        std::size_t used = 0;
        for (auto& row : candidates) {
          if (options.max_per_poll != 0 && out.taken.size() >= options.max_per_poll) break;
          const std::size_t size = wire_text(row, budget.cmd_format).size() + 1;
          // Stop at the first that does not fit rather than let later ones overtake it.
          if (budget.max_bytes != 0 && used != 0 && used + size > budget.max_bytes) break;
          used += size;
          row.status = *next_status(row.status, CommandEvent::deliver);
          row.sent_at = now;
          row.attempts += 1;
          commands.update(row);
          out.taken.push_back(std::move(row));
        }
        return out;
      },
      [this, sn, source, generate, done = std::move(done)](storage::StoreResult<Delivery> r) {
        if (generate) source->generated(sn, r.ok());
        if (!r.ok()) return done(r.error());
        for (const auto& [device, n] : r->expired) {
          if (source) source->after_closed(device, true);
          adjust(device, -n);
        }
        if (r->generated != 0) adjust(sn, r->generated);
        closed_ids(r->expired_ids);
        done(std::move(r->taken));
      });
}

namespace {

// How an answer moves its command, and the result JSON kept with it.
struct Reading {
  std::optional<CommandEvent> event;  // nullopt: the answer is ignored (-7 after a final answer)
  std::string result;
};

Reading read_answer(const p::CommandResult& answer, const std::optional<CommandRow>& row,
                    const std::vector<storage::CommandData>* account_data) {
  std::optional<p::Verb> verb;
  if (row && !row->verb.empty()) verb = p::verb_from_name(row->verb);
  if (!verb) verb = p::verb_of_result_cmd(answer.cmd);
  nlohmann::ordered_json j;
  j["return"] = answer.return_code;
  j["cmd"] = answer.cmd;
  Reading reading;
  if (verb) {
    auto meaning = p::interpret_return(*verb, answer.return_code);
    j["kind"] = p::return_kind_name(meaning.kind);
    if (meaning.name) j["name"] = std::string(*meaning.name);
    if (meaning.kind == p::ReturnKind::repeated && row &&
        (row->status == CommandStatus::done || row->status == CommandStatus::failed)) {
      return reading;  // -7: the device already ran it and we have its result; that result stands
    }
    // -7 for an UPGRADE sent again while the panel still installs the first: it says it has it,
    // not how it ended; the final answer is still to come.
    const bool still_running = meaning.kind == p::ReturnKind::repeated && *verb == p::Verb::upgrade && row &&
                               !row->return_code && is_open(row->status);
    if (meaning.kind == p::ReturnKind::pending || still_running)
      reading.event = CommandEvent::answer_pending;
    else if (meaning.kind == p::ReturnKind::repeated || meaning.succeeded())
      reading.event = CommandEvent::answer_done;
    else
      reading.event = CommandEvent::answer_failed;
  } else {
    reading.event = answer.return_code >= 0 ? CommandEvent::answer_done : CommandEvent::answer_failed;
  }
  auto fields = nlohmann::ordered_json::object();
  for (const auto& f : answer.fields.fields) fields[f.key] = f.value;
  j["fields"] = std::move(fields);
  if (account_data) {
    // What the ACCOUNT check found (the uploads come before the answer; late ones update it).
    if (auto totals = account_totals(*account_data))
      for (auto it = totals->begin(); it != totals->end(); ++it) j[it.key()] = it.value();
  }
  // Device text may hold bytes that are not UTF-8: replaced, never a throw.
  reading.result = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return reading;
}

}  // namespace

void CommandQueue::record_answers(const std::string& sn, std::vector<p::CommandResult> answers,
                                  Reply<std::vector<CommandRow>> done) {
  struct Recorded {
    std::vector<CommandRow> rows;
    std::map<std::string, std::int64_t> closed;  // open commands these answers closed, per device
  };
  const std::int64_t now = clock_.now();
  std::vector<std::string> subs;
  if (subs_of_) subs = subs_of_(sn);
  store_.write(
      [sn, subs = std::move(subs), answers = std::move(answers), now, source = source_](storage::Transaction& tx) {
        Recorded out;
        auto& commands = tx.commands();
        for (const auto& answer : answers) {
          auto wire = p::text::parse_int(answer.id);
          if (!wire) continue;  // the front logs non-numeric ids
          // SN= names the sub-controller that ran it (7.4); a device that is not the master's own is
          // none of its business: the line is ignored.
          std::string target = sn;
          if (answer.sn) {
            const auto trimmed = p::text::trim(*answer.sn);
            if (std::find(subs.begin(), subs.end(), trimmed) != subs.end()) target = std::string(trimmed);
            else if (!trimmed.empty() && trimmed != sn) continue;
          }
          auto row = commands.find(target, *wire);
          // -5000 comes from the master itself, perhaps without SN=: the id is unique among the
          // master and its sub-controllers.
          if (!row && target == sn && !subs.empty()) row = commands.find_relayed(sn, *wire);
          if (!row) continue;
          std::vector<storage::CommandData> data;
          const bool account = row->verb == p::verb_name(p::Verb::account);
          if (account) data = commands.data(row->id);
          auto reading = read_answer(answer, row, account ? &data : nullptr);
          if (!reading.event) continue;
          CommandRow updated = *row;
          if (*reading.event == CommandEvent::answer_pending) {
            // Still running: keep the intermediate answer; a late -5000 never undoes a final answer.
            if (updated.status == CommandStatus::done || updated.status == CommandStatus::failed) {
              out.rows.push_back(std::move(updated));
              continue;
            }
            if (auto next = next_status(updated.status, CommandEvent::answer_pending)) {
              if (updated.status == CommandStatus::queued) updated.sent_at = now;  // reached the device after all
              updated.status = *next;
            }
            updated.return_code = answer.return_code;
            updated.result = reading.result;
            // A final answer that never comes (a sub-controller gone, a screen device that never
            // reports) must not keep the command open for ever: it expires a day later.
            if (updated.expires_at == 0) updated.expires_at = now + kPendingAnswerCeiling;
          } else {
            // A final answer is final: a different one for a command already done or failed (a
            // replayed or forged devicecmd) changes nothing. Answers to commands that closed
            // without one (expired, cancelled) are still recorded: that is what the device did.
            if (updated.status == CommandStatus::done || updated.status == CommandStatus::failed) {
              if (updated.return_code != answer.return_code)
                spdlog::warn("{}: C:{} already answered Return={}; a later Return={} ignored", target, updated.wire_id,
                             updated.return_code.value_or(0), answer.return_code);
              out.rows.push_back(std::move(updated));
              continue;
            }
            // An identical repeat (the device did not get our answer) changes nothing, done_at included.
            const auto status = *next_status(updated.status, *reading.event);
            const bool same = updated.status == status && updated.return_code == answer.return_code &&
                              updated.result == reading.result;
            if (!same) {
              if (is_open(updated.status)) {
                ++out.closed[updated.sn];
                if (source) {
                  CommandRow closing = updated;
                  closing.status = status;
                  closing.return_code = answer.return_code;
                  closing.result = reading.result;
                  closing.done_at = now;
                  source->closed(tx, closing, now);
                }
              }
              updated.status = status;
              updated.return_code = answer.return_code;
              updated.result = reading.result;
              updated.done_at = now;
            }
          }
          if (updated.status != row->status || updated.return_code != row->return_code ||
              updated.result != row->result || updated.done_at != row->done_at || updated.sent_at != row->sent_at ||
              updated.expires_at != row->expires_at)
            commands.update(updated);
          out.rows.push_back(std::move(updated));
        }
        return out;
      },
      [this, sn, done = std::move(done)](storage::StoreResult<Recorded> r) {
        if (!r.ok()) {
          if (source_) source_->after_closed(sn, false);
          return done(r.error());
        }
        for (const auto& [device, n] : r->closed) {
          adjust(device, -n);
          if (source_) source_->after_closed(device, true);
        }
        std::vector<std::int64_t> closed;
        for (const auto& row : r->rows) {
          if (!is_open(row.status)) closed.push_back(row.id);
          else if (row.expires_at > 0) note_deadline(row.expires_at);
        }
        closed_ids(closed);
        done(std::move(r->rows));
      });
}

void CommandQueue::expire_due(Reply<std::int64_t> done) {
  struct Swept {
    std::map<std::string, std::int64_t> per_device;
    std::vector<std::int64_t> ids;
    std::int64_t total = 0;
    std::optional<std::int64_t> next_deadline;
  };
  const std::int64_t now = clock_.now();
  const auto batch = static_cast<std::int64_t>(options_.overdue_batch);
  store_.write(
      [now, batch, source = source_](storage::Transaction& tx) {
        Swept out;
        auto& commands = tx.commands();
        for (auto& row : commands.overdue("", now, batch)) {
          row.status = *next_status(row.status, CommandEvent::expire);
          row.done_at = now;
          commands.update(row);
          if (source) source->closed(tx, row, now);
          ++out.per_device[row.sn];
          out.ids.push_back(row.id);
          ++out.total;
        }
        out.next_deadline = commands.next_deadline();
        return out;
      },
      [this, done = std::move(done)](storage::StoreResult<Swept> r) {
        if (!r.ok()) {
          if (done) done(r.error());
          return;
        }
        std::vector<std::pair<std::string, std::int64_t>> deltas;
        for (const auto& [sn, n] : r->per_device) deltas.emplace_back(sn, -n);
        adjust(deltas);
        if (source_)
          for (const auto& [sn, n] : r->per_device) source_->after_closed(sn, true);
        set_next_deadline(r->next_deadline);
        closed_ids(r->ids);
        if (done) done(r->total);
      });
}

std::optional<std::int64_t> CommandQueue::next_deadline() const {
  std::lock_guard lock(mutex_);
  return next_deadline_;
}

void CommandQueue::wait(std::int64_t id, WaitClock::time_point deadline, std::function<void(bool closed)> done) {
  {
    std::lock_guard lock(waits_mutex_);
    waits_.emplace(id, Waiter{deadline, std::move(done)});
  }
  if (wait_hook_) wait_hook_();
}

void CommandQueue::closed_ids(const std::vector<std::int64_t>& ids) {
  if (live_ && !ids.empty()) live_->ring(Live::Ring::messages);
  std::vector<std::function<void(bool)>> fire;
  {
    std::lock_guard lock(waits_mutex_);
    if (waits_.empty()) return;
    for (auto id : ids) {
      auto [from, to] = waits_.equal_range(id);
      for (auto it = from; it != to; ++it) fire.push_back(std::move(it->second.done));
      waits_.erase(from, to);
    }
  }
  for (auto& f : fire) f(true);
}

void CommandQueue::end_waits() {
  std::vector<std::function<void(bool)>> fire;
  {
    std::lock_guard lock(waits_mutex_);
    for (auto& [id, w] : waits_) fire.push_back(std::move(w.done));
    waits_.clear();
  }
  for (auto& f : fire) f(false);
}

void CommandQueue::sweep_waits() {
  std::vector<std::function<void(bool)>> fire;
  const auto now = WaitClock::now();
  {
    std::lock_guard lock(waits_mutex_);
    for (auto it = waits_.begin(); it != waits_.end();) {
      if (it->second.deadline <= now) {
        fire.push_back(std::move(it->second.done));
        it = waits_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& f : fire) f(false);
}

std::optional<CommandQueue::WaitClock::time_point> CommandQueue::next_wait() const {
  std::lock_guard lock(waits_mutex_);
  std::optional<WaitClock::time_point> out;
  for (const auto& [id, w] : waits_)
    if (!out || w.deadline < *out) out = w.deadline;
  return out;
}

void CommandQueue::adjust(const std::string& sn, std::int64_t delta) {
  std::lock_guard lock(mutex_);
  auto& n = pending_[sn];
  n += delta;
  total_ += delta;
  if (n <= 0) {
    total_ -= n;  // never below zero: a count of rows cannot be negative
    pending_.erase(sn);
  }
}

storage::StoreStatus CommandQueue::refresh(const std::string& sn) {
  struct Refreshed {
    std::int64_t pending = 0;
    std::optional<std::int64_t> deadline;
    std::vector<std::int64_t> closed;
  };
  std::vector<std::int64_t> waited;
  {
    std::lock_guard lock(waits_mutex_);
    for (const auto& [id, w] : waits_) waited.push_back(id);
  }
  auto r = store_.read_now([&sn, &waited](storage::Reads& reads) {
    Refreshed out;
    out.pending = reads.commands().pending_count(sn);
    out.deadline = reads.commands().next_deadline();
    for (auto id : waited) {
      auto row = reads.commands().get(id);
      if (row && row->sn == sn && row->status != CommandStatus::queued && row->status != CommandStatus::sent)
        out.closed.push_back(id);
    }
    return out;
  });
  if (!r.ok()) return r.error();
  {
    // The count as stored is the truth: this node's own changes since the read arrive as adjustments
    // after it, and a count off by a concurrent change is set right by the next notification.
    std::lock_guard lock(mutex_);
    auto it = pending_.find(sn);
    total_ -= it == pending_.end() ? 0 : it->second;
    if (r->pending > 0) {
      pending_[sn] = r->pending;
      total_ += r->pending;
    } else if (it != pending_.end()) {
      pending_.erase(it);
    }
    if (r->deadline && (!next_deadline_ || *r->deadline < *next_deadline_)) next_deadline_ = r->deadline;
  }
  closed_ids(r->closed);
  return storage::Unit{};
}

void CommandQueue::forget(const std::string& sn) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(sn);
  if (it == pending_.end()) return;
  total_ -= it->second;
  pending_.erase(it);
}

void CommandQueue::adjust(const std::vector<std::pair<std::string, std::int64_t>>& deltas) {
  for (const auto& [sn, delta] : deltas) adjust(sn, delta);
}

void CommandQueue::note_deadline(std::int64_t expires_at) {
  std::lock_guard lock(mutex_);
  if (!next_deadline_ || expires_at < *next_deadline_) next_deadline_ = expires_at;
}

void CommandQueue::set_next_deadline(std::optional<std::int64_t> deadline) {
  // Exact: callbacks run in commit order, so a command queued after the sweep's read notes its
  // deadline after this.
  std::lock_guard lock(mutex_);
  next_deadline_ = deadline;
}

}  // namespace zkpush::service
