// zkpush: one binary, one subcommand per role.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "cli/commands.hpp"

namespace {

// "serve, simulate, conformance, decode, ctl": in the order --help lists them.
std::string subcommand_names(const CLI::App& app) {
  std::string names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

bool is_subcommand(const CLI::App& app, const std::string& word) {
  return !app.get_subcommands([&word](const CLI::App* sub) { return sub->check_name(word); }).empty();
}

// The first word that is not an option: what the user meant as the subcommand, or empty.
std::string first_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-') return argv[i];
  }
  return {};
}

// A command line CLI11 cannot read. CLI11's own messages for a missing or mistyped subcommand do
// not name the subcommands ("A subcommand is required", "The following arguments were not
// expected: bogus"), which is all a new user needs to hear. Every refused command line exits with
// status 2, whatever CLI11's code: simulate and conformance promise 2 for bad arguments, and their
// range checks are CLI11's.
int command_line_error(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
  if (app.get_subcommands().empty()) {
    const std::string word = first_word(argc, argv);
    if (!word.empty() && !is_subcommand(app, word)) {
      std::fprintf(stderr, "zkpush: unknown subcommand '%s'; the subcommands are: %s (zkpush --help)\n", word.c_str(),
                   subcommand_names(app).c_str());
      return 2;
    }
    if (word.empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      std::fprintf(stderr, "zkpush: a subcommand is required: %s (zkpush --help)\n", subcommand_names(app).c_str());
      return 2;
    }
  }
  app.exit(e);
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"zkpush - server, device emulator and tools for the ZKTeco Security PUSH 3.1.2 protocol"};
  app.set_version_flag("--version", "zkpush " ZKPUSH_VERSION);
  app.require_subcommand(1);
  // Every option's --help line shows its default (what runs when the option is left out).
  app.option_defaults()->always_capture_default();
  zkpush::cli::register_serve(app);
  zkpush::cli::register_simulate(app);
  zkpush::cli::register_conformance(app);
  zkpush::cli::register_decode(app);
  zkpush::cli::register_ctl(app);
  zkpush::cli::register_operations(app);
  zkpush::cli::register_audit(app);
  zkpush::cli::register_migrate(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return command_line_error(app, e, argc, argv);
  }
  return zkpush::cli::exit_code();
} catch (const std::exception& e) {
  // What no subcommand handled (running out of memory, say): said on stderr with exit status 1,
  // rather than std::terminate's abort.
  std::fprintf(stderr, "zkpush: %s\n", e.what());
  return 1;
}
