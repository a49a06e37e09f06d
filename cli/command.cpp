// The command line of motia-actors (and of every program that embeds the
// runtime through motia::app::main): argument parsing, the commands, signals.

#include <csignal>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "cli/dlq.hpp"
#include "cli/summary.hpp"
#include "core/log.hpp"
#include "motia/app.hpp"
#include "runtime/app_impl.hpp"

namespace motia {

namespace {

constexpr const char* usage_text = R"(motia-actors — a runtime for Motia-style backends

Usage:
  motia-actors run [DIR] [--port N] [--host H] [--data-dir D] [--quiet]
      Serve the project in DIR (default: .). Stops on SIGINT/SIGTERM after
      draining in-flight work.
  motia-actors steps [DIR] [--json]
      List the project's steps and their wiring (routes, topics, schedules).
  motia-actors dlq list|show|redrive|purge [DIR] [--id ID] [--step NAME] [--all] [--json]
      Dead letters: events whose handler failed its last attempt or whose
      input broke the step's schema. Works on the data dir directly, or
      through the running runtime's admin API when it holds the data dir.
  motia-actors --help | --version

Settings come from DIR/motia-actors.json (see docs/configuration.md); the
flags override them.
)";

struct cli_args {
  std::string command;
  run_options opts;
  dlq_request dlq;
  bool json = false;
  std::string error;
};

cli_args parse_args(int argc, char** argv) {
  cli_args a;
  std::vector<std::string> args(argv + 1, argv + argc);
  bool have_dir = false;
  for (std::size_t i = 0; i < args.size() && a.error.empty(); ++i) {
    auto& s = args[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= args.size()) {
        a.error = fmt::format("{} needs a value", flag);
        return {};
      }
      return args[++i];
    };
    if (s == "--help" || s == "-h" || s == "help")
      a.command = "help";
    else if (s == "--version" || s == "-V")
      a.command = "version";
    else if (s == "--json")
      a.json = true;
    else if (s == "--quiet" || s == "-q")
      a.opts.quiet = true;
    else if (s == "--port" || s == "-p") {
      auto v = value("--port");
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (a.error.empty() && (v.empty() || *end || n < 0 || n > 65535))
        a.error = fmt::format("--port {} is not a port number (0-65535)", v);
      a.opts.port = static_cast<std::uint16_t>(n);
    } else if (s == "--host")
      a.opts.host = value("--host");
    else if (s == "--data-dir")
      a.opts.data_dir = value("--data-dir");
    else if (s == "--id")
      a.dlq.id = value("--id");
    else if (s == "--step")
      a.dlq.step = value("--step");
    else if (s == "--all")
      a.dlq.all = true;
    else if (!s.empty() && s[0] == '-')
      a.error = fmt::format("unknown option {}", s);
    else if (a.command.empty())
      a.command = s;
    else if (a.command == "dlq" && a.dlq.action.empty())
      a.dlq.action = s;
    else if (!have_dir) {
      a.opts.project_dir = s;
      have_dir = true;
    } else
      a.error = fmt::format("unexpected argument {}", s);
  }
  if (a.command.empty() && a.error.empty())
    a.command = "help";
  return a;
}

// SIGINT/SIGTERM are blocked in every thread and taken by sigwait here, so no
// handler runs inside library code. A second signal during the drain exits at once.
int wait_for_signal(runtime& rt, sigset_t& set) {
  std::thread sig([&] {
    int sig = 0;
    sigwait(&set, &sig);
    log::info("signal received, draining", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    rt.notify_stop();
    sigwait(&set, &sig);
    std::fputs("second signal: exiting without draining\n", stderr);
    std::_Exit(130);
  });
  sig.detach();
  rt.wait_fatal_or_stop();
  auto fatal = rt.fatal();
  rt.stop();
  if (fatal) {
    log::error("runtime stopped: a supervisor gave up", {{"reason", *fatal}});
    return 1;
  }
  log::info("stopped cleanly");
  return 0;
}

} // namespace

int app::main(int argc, char** argv) {
  auto a = parse_args(argc, argv);
  if (!a.error.empty()) {
    fmt::print(stderr, "motia-actors: {}\n\n{}", a.error, usage_text);
    return 2;
  }
  if (a.command == "help") {
    fmt::print("{}", usage_text);
    return 0;
  }
  if (a.command == "version") {
    fmt::print("motia-actors {}\n", MOTIA_VERSION);
    return 0;
  }
  if (a.command == "dlq") {
    a.dlq.json = a.json;
    return run_dlq_command(a.opts, a.dlq);
  }
  if (a.command != "run" && a.command != "steps") {
    fmt::print(stderr, "motia-actors: unknown command '{}'\n\n{}", a.command, usage_text);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  impl_->make_runtime();
  auto& rt = *impl_->rt;
  if (a.command == "steps") {
    auto err = rt.load(a.opts);
    if (err) {
      fmt::print(stderr, "motia-actors: {}\n", *err);
      return 1;
    }
    print_steps(rt, a.json);
    rt.stop();
    return 0;
  }
  auto err = rt.load(a.opts);
  if (!err)
    err = rt.serve();
  if (err) {
    fmt::print(stderr, "motia-actors: cannot start: {}\n", *err);
    rt.stop();
    return 1;
  }
  if (!a.opts.quiet)
    print_summary(rt);
  return wait_for_signal(rt, set);
}

} // namespace motia
