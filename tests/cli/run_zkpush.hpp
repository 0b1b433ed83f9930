// Runs the real `zkpush` binary of this build (ZKPUSH_BINARY) as a user would: `run_zkpush` through
// the shell for a command that ends by itself, `ZkpushProcess` for one that runs beside the test
// (`serve`, `simulate`), with its output read as it goes.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

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

// A child process (`zkpush <args>`, or a command line of its own) whose standard output and error
// go to one unlinked temporary file, read as the test asks. A file rather than a pipe: a server the
// test does not read for a while (several nodes under load) must never block on a full pipe.
// The environment is the test's own without any ZKPUSH_* variable, plus `env` ("NAME=value").
// Destroyed while running (an assertion left the test early), it is sent `end_signal()` (SIGKILL
// unless changed) and waited for.
class ZkpushProcess {
 public:
  // A whole command line, argv[0] a path: zkpush behind a wrapper (runuser ... -- zkpush serve).
  struct Argv {
    std::vector<std::string> argv;
  };

  // `zkpush <args>`.
  explicit ZkpushProcess(const std::vector<std::string>& args, const std::vector<std::string>& env = {})
      : ZkpushProcess(Argv{with_binary(args)}, env) {}

  ZkpushProcess(Argv command, const std::vector<std::string>& env) {
    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string(*e).rfind("ZKPUSH_", 0) != 0) env_s.emplace_back(*e);
    }
    env_s.insert(env_s.end(), env.begin(), env.end());
    std::vector<char*> argv, envp;
    for (auto& s : command.argv) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env_s) envp.push_back(s.data());
    envp.push_back(nullptr);
    char name[] = "/tmp/zkpush-test-log-XXXXXX";
    const int out = ::mkstemp(name);
    if (out < 0) throw std::runtime_error("mkstemp");
    fd_ = ::open(name, O_RDONLY | O_CLOEXEC);
    ::unlink(name);
    if (fd_ < 0) throw std::runtime_error("open log");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
      ::close(out);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out);
  }
  ~ZkpushProcess() {
    if (pid_ > 0) {
      ::kill(pid_, end_signal_);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  ZkpushProcess(const ZkpushProcess&) = delete;
  ZkpushProcess& operator=(const ZkpushProcess&) = delete;

  // The signal the destructor ends a running process with: SIGTERM for a wrapper such as runuser,
  // which passes it on (a SIGKILL would leave the server under it running).
  void end_with(int signal) { end_signal_ = signal; }

  // Reads the log until `pattern`'s first group holds the port ("serving on <host>:<port>"); 0 when
  // the process ended (or was silent for 20 s) first. port() keeps what the last call found.
  int wait_serving(const char* pattern = "serving on [^ ]*:([0-9]+)") {
    const std::regex serving(pattern);
    while (true) {
      std::smatch m;
      if (std::regex_search(log_, m, serving)) return port_ = std::stoi(m[1]);
      if (!read_some()) return 0;
    }
  }
  int port() const { return port_; }
  // Reads the log until it holds `text` after what it held at `from`; false when the process
  // ended or was silent for `silence` first.
  bool wait_log(const std::string& text, std::size_t from = 0,
                std::chrono::milliseconds silence = std::chrono::seconds(20)) {
    while (log_.find(text, from) == std::string::npos) {
      if (!read_some(silence)) return false;
    }
    return true;
  }
  void signal(int number) const {
    if (pid_ > 0) ::kill(pid_, number);
  }
  // SIGKILL, as a crash or the OOM killer would; returns when the process is gone.
  void kill() {
    signal(SIGKILL);
    wait_exit();
  }
  // Reads the log to its end and returns the exit status (-1 if killed by a signal).
  int wait_exit() {
    if (pid_ <= 0) return status_;
    while (read_some()) {
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
    read_available();  // what it wrote just before it ended
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return status_;
  }
  int stop() {
    signal(SIGTERM);
    return wait_exit();
  }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // What it printed so far (stdout and stderr interleaved).
  const std::string& log() {
    read_available();
    return log_;
  }

 private:
  static std::vector<std::string> with_binary(const std::vector<std::string>& args) {
    std::vector<std::string> argv{ZKPUSH_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  // Appends what the file holds beyond what was read; true when there was something.
  bool read_available() {
    bool any = false;
    char buffer[4096];
    while (true) {
      const ssize_t n = ::pread(fd_, buffer, sizeof buffer, static_cast<off_t>(log_.size()));
      if (n <= 0) return any;
      log_.append(buffer, static_cast<std::size_t>(n));
      any = true;
    }
  }
  // Waits for more output; false when the process has ended (all read) or was silent for `silence`.
  bool read_some(std::chrono::milliseconds silence = std::chrono::seconds(20)) {
    const auto until = std::chrono::steady_clock::now() + silence;
    while (std::chrono::steady_clock::now() < until) {
      if (read_available()) return true;
      if (pid_ <= 0) return false;
      siginfo_t info{};
      // Ended (not reaped: wait_exit wants its status)? Then read what it left and stop.
      if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0)
        return read_available();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  int port_ = 0;
  int status_ = -1;
  int end_signal_ = SIGKILL;
  std::string log_;
};

}  // namespace zkpush::cli_test
