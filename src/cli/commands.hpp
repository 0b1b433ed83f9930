// Registration of the subcommands of the zkpush binary. Each subcommand lives in its own file and
// sets the process exit code through set_exit_code().
#pragma once

#include <CLI/CLI.hpp>

namespace zkpush::cli {

void register_decode(CLI::App& app);  // decode_command.cpp
void register_serve(CLI::App& app);   // serve_command.cpp
void register_simulate(CLI::App& app);  // simulate_command.cpp
void register_conformance(CLI::App& app);  // conformance_command.cpp
void register_ctl(CLI::App& app);          // ctl_command.cpp
void register_operations(CLI::App& app);   // backup_command.cpp: backup, restore, healthcheck
void register_audit(CLI::App& app);        // audit_command.cpp
void register_migrate(CLI::App& app);      // migrate_command.cpp

void set_exit_code(int code);
int exit_code();

}  // namespace zkpush::cli
