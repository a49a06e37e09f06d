#include "adapters/process/spawn_child.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

extern char** environ;

namespace motia::process::detail {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

std::map<std::string, std::string>::const_iterator find_env(const spawn_options& opts,
                                                             std::string_view entry) {
  auto eq = entry.find('=');
  return opts.env.find(std::string(entry.substr(0, eq)));
}

// The parent's environment with opts.env over it, and MOTIA_WORKER_FD over both.
std::vector<std::string> child_environment(const spawn_options& opts) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("MOTIA_WORKER_FD=", 0) == 0 || find_env(opts, entry) != opts.env.end())
      continue;
    out.emplace_back(entry);
  }
  for (const auto& [k, v] : opts.env)
    if (k != "MOTIA_WORKER_FD")
      out.push_back(k + "=" + v);
  out.push_back("MOTIA_WORKER_FD=" + std::to_string(worker_fd));
  return out;
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// execvp's lookup, but with the child's PATH (opts.env may change it) and done
// here, so that "not found" is an error string rather than an exit code 127.
std::optional<std::string> resolve_program(const std::string& name, const spawn_options& opts) {
  if (name.find('/') != std::string::npos)
    return name;
  std::string path;
  if (auto it = opts.env.find("PATH"); it != opts.env.end())
    path = it->second;
  else if (const char* p = std::getenv("PATH"))
    path = p;
  else
    path = "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  for (;;) {
    auto end = path.find(':', begin);
    std::string dir = path.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (is_executable_file(candidate))
      return candidate;
    if (end == std::string::npos)
      return std::nullopt;
    begin = end + 1;
  }
}

/// posix_spawn attributes and file actions, destroyed on every path.
struct spawn_setup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  spawn_setup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~spawn_setup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;

  // Returns 0 or an errno value.
  int prepare(int child_fd, const std::string& cwd) {
    if (int rc = posix_spawn_file_actions_adddup2(&actions, child_fd, worker_fd))
      return rc;
    if (!cwd.empty())
      if (int rc = posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str()))
        return rc;
    // Asio opens sockets without O_CLOEXEC: without this the child would hold
    // HTTP client connections (and the other workers' sockets) open.
    if (int rc = posix_spawn_file_actions_addclosefrom_np(&actions, worker_fd + 1))
      return rc;
    // The child starts with no blocked signals, SIGPIPE and friends at their
    // defaults (ignored ones survive exec), in its own process group so that a
    // terminal's Ctrl-C reaches the runtime, which then drains its workers.
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM})
      sigaddset(&defaults, s);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    return posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                               POSIX_SPAWN_SETPGROUP);
  }
};

} // namespace

pid_t spawn_child(const spawn_options& opts, int child_fd, std::string& err) {
  const std::string& name = opts.argv.front();
  auto program = resolve_program(name, opts);
  if (!program) {
    err = "spawn " + name + ": not found in PATH";
    return -1;
  }
  if (!opts.cwd.empty()) {
    struct stat st {};
    if (::stat(opts.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      err = "spawn " + name + ": working directory " + opts.cwd + " does not exist";
      return -1;
    }
  }
  spawn_setup setup;
  if (int rc = setup.prepare(child_fd, opts.cwd)) {
    err = "spawn " + name + ": " + errno_text(rc);
    return -1;
  }
  std::vector<char*> argv;
  for (const auto& a : opts.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto env = child_environment(opts);
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  // glibc's posix_spawn reports a failed exec through its return value.
  if (int rc = ::posix_spawn(&pid, program->c_str(), &setup.actions, &setup.attr, argv.data(), envp.data())) {
    err = "spawn " + *program + ": " + errno_text(rc);
    return -1;
  }
  return pid;
}

} // namespace motia::process::detail
