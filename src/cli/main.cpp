// zkpush: one binary, one subcommand per role.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"zkpush - server, device emulator and tools for the ZKTeco Security PUSH 3.1.2 protocol"};
  app.require_subcommand(1);
  zkpush::cli::register_decode(app);
  zkpush::cli::register_serve(app);
  zkpush::cli::register_simulate(app);
  zkpush::cli::register_conformance(app);
  zkpush::cli::register_ctl(app);
  CLI11_PARSE(app, argc, argv);
  return zkpush::cli::exit_code();
}
