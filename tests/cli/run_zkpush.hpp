// Runs the real `zkpush` binary of this build (ZKPUSH_BINARY) through the shell, as a user would,
// and collects what it printed and how it exited.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <utility>

namespace zkpush::cli_test {

// `zkpush <args>`; returns the exit status (-1 when killed by a signal) and standard output, with
// standard error appended when `with_stderr`. `env`: shell assignments put before the command
// ("ZKPUSH_SERVER=http://... ").
inline std::pair<int, std::string> run_zkpush(const std::string& args, bool with_stderr = false,
                                              const std::string& env = {}) {
  const std::string cmd = env + " " + std::string(ZKPUSH_BINARY) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, {}};
  std::string out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, p)) out.append(buffer, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace zkpush::cli_test
