#include <cstdio>

#include "cli/commands.hpp"

namespace zkpush::cli {

namespace {
int g_exit_code = 0;
}

void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }

void register_decode(CLI::App& app) {
  auto* cmd = app.add_subcommand("decode", "Decode one captured request or command line into JSON");
  cmd->callback([] { std::puts("{\"error\":\"not implemented yet\",\"where\":\"\"}"); set_exit_code(1); });
}

}  // namespace zkpush::cli
