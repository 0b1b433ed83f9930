// zkpush ctl persons: list, show, add, delete, and import of a CSV file as the server's import job
// (POST /api/v1/persons/import as text/csv, then GET /api/v1/jobs/{id} until it is over), with a
// progress bar on stderr when it is a terminal.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/ctl.hpp"

namespace zkpush::cli::ctl {

namespace {

std::string person_path(const Ctl& c) { return "/api/v1/persons/" + seg(c.flags->pin); }

int persons_list(const Ctl& c) {
  const auto& f = *c.flags;
  const std::string limit = f.limit > 0 ? std::to_string(f.limit) : "";
  return show(c, get("/api/v1/persons" + query({{"after", f.after}, {"limit", limit}})), [](const Json& list) {
    print_rows(list,
               {col("PIN", "pin"), col("NAME", "name"), col("CARDS", "cards"), col("LEVELS", "access_levels"),
                col("DISABLED", "disabled")},
               "(no persons)");
  });
}

int person_add(const Ctl& c) {
  const auto& f = *c.flags;
  Json body{{"pin", f.pin}, {"name", f.name}};
  if (!f.cards.empty()) body["cards"] = f.cards;
  if (!f.levels.empty()) body["access_levels"] = f.levels;
  return show(c, post("/api/v1/persons", body), [](const Json& person) {
    std::cout << "person " << text_of(person.value("pin", Json())) << " (" << text_of(person.value("name", Json()))
              << ") added\n";
  });
}

int person_delete(const Ctl& c) {
  return show(c, del(person_path(c)), [&c](const Json&) { std::cout << "person " << c.flags->pin << " deleted\n"; });
}

// "[##########          ] 5/10" on one terminal line, redrawn; plain lines when stderr is a file.
void report_progress(const Json& job, bool terminal, std::int64_t& shown) {
  const auto total = job.value("total", std::int64_t(0)), done = job.value("processed", std::int64_t(0));
  if (!terminal) {
    if (done != shown) std::cerr << "import: " << done << "/" << total << " rows\n";
    shown = done;
    return;
  }
  constexpr int kWidth = 30;
  const int filled = total > 0 ? static_cast<int>(done * kWidth / total) : kWidth;
  std::cerr << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, ' ') << "] " << done << "/" << total
            << std::flush;
  shown = done;
}

// The job until it is no longer running (the import runs on the server; nothing here is undone by
// stopping the poll).
Reply wait_for_job(const Ctl& c, Json job) {
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  std::int64_t shown = -1;
  const std::string target = "/api/v1/jobs/" + seg(job.value("id", std::int64_t(0)));
  Reply reply;
  reply.json = std::move(job);
  for (;;) {
    report_progress(reply.json, terminal, shown);
    if (reply.json.value("state", std::string()) != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    reply = call(c, get(target));
    if (!reply) break;
  }
  if (terminal) std::cerr << "\n";
  return reply;
}

int persons_import(const Ctl& c) {
  std::ifstream in(c.flags->file, std::ios::binary);
  if (!in) throw UsageError(c.flags->file + ": cannot read");
  std::ostringstream csv;
  csv << in.rdbuf();
  auto started = call(c, request("POST", "/api/v1/persons/import", csv.str(), "text/csv"));
  if (!started) return started.code;
  auto job = wait_for_job(c, started.json);
  if (!job) return job.code;
  const auto& j = job.json;
  if (c.json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "import job " << text_of(j.value("id", Json())) << " " << text_of(j.value("state", Json())) << ": "
              << text_of(j.value("total", Json())) << " rows, " << text_of(j.value("created", Json())) << " created, "
              << text_of(j.value("updated", Json())) << " updated, " << text_of(j.value("failed", Json())) << " failed\n";
    if (!j.value("errors", Json::array()).empty())
      print_rows(j["errors"], {col("ROW", "row"), col("PIN", "pin"), col("ERROR", "error")}, "");
    if (!j.value("error", Json()).is_null()) std::cout << "stopped: " << text_of(j["error"]) << "\n";
  }
  const bool failed = j.value("state", std::string()) != "done" || j.value("failed", std::int64_t(0)) > 0;
  return failed ? kRefused : kOk;
}

}  // namespace

void add_person_commands(CLI::App& root, const std::shared_ptr<CtlFlags>& f) {
  auto* persons = area(root, "persons", "Persons: list (the default), show, add, delete, import", f, persons_list);
  auto* list = action(*persons, "list", "List persons by pin (one page: --after the last pin for the next)", f, persons_list);
  list->add_option("--after", f->after, "start after this pin");
  list->add_option("--limit", f->limit, "at most this many (server default 100, at most 1000)")->check(CLI::Range(1, 1000));
  auto pin = [&f](CLI::App* sub) { sub->add_option("pin", f->pin, "the person's pin")->required(); };
  pin(action(*persons, "show", "One person: cards, levels, credentials", f,
             [](const Ctl& c) { return show(c, get(person_path(c)), print_object); }));
  auto* add = action(*persons, "add", "Add a person; the panels of its levels get it", f, person_add);
  pin(add);
  add->add_option("--name", f->name, "the person's name")->required();
  add->add_option("--card", f->cards, "a card number (repeat for several)");
  add->add_option("--level", f->levels, "an access level id (repeat for several)")->check(CLI::PositiveNumber);
  pin(action(*persons, "delete", "Delete a person; its panels are told; asks nothing", f, person_delete));
  action(*persons, "import", "Import a CSV file (header: pin,name,cards,access_levels,...); exit 1 if a row failed", f,
         persons_import)
      ->add_option("file", f->file, "the CSV file")
      ->required();
}

}  // namespace zkpush::cli::ctl
