#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "motia/step.hpp"

namespace motia {

/// Options of one run; unset fields come from the project config file
/// (`motia-actors.json`) or the documented defaults (docs/configuration.md).
struct run_options {
  std::filesystem::path project_dir = ".";
  std::optional<std::uint16_t> port;          ///< 0 picks a free port
  std::optional<std::string> host;
  std::optional<std::filesystem::path> data_dir;
  bool quiet = false; ///< no startup summary (tests)
};

/// The runtime, embeddable. `motia-actors` is `app{}.main(argc, argv)`; a
/// program with native steps adds them first.
///
/// Thread-safety: not thread-safe; drive one app from one thread. `stop` may be
/// called from any thread (and from a signal-safe context via `main`).
class app {
public:
  app();
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  /// Registers a native step. REQUIRES: called before start/main.
  void add_step(step_definition def);

  /// Registers a native stream. REQUIRES: called before start/main.
  void add_stream(stream_definition def);
  /// Sets the project's stream authentication hook (native). REQUIRES: called
  /// before start/main; refused at start if a worker file also defines one.
  void set_stream_auth(stream_authenticator auth);
  /// The command line: `run`, `steps`, `--help`, `--version`. Returns the exit
  /// code. Handles SIGINT/SIGTERM by draining and stopping.
  int main(int argc, char** argv);

  /// Starts the runtime for `opts` and returns once it serves, or returns a
  /// readable reason why it cannot start (nothing is left running then).
  std::optional<std::string> start(const run_options& opts);

  /// The HTTP port actually bound. REQUIRES: start succeeded.
  std::uint16_t port() const;

  /// The state store of the running app. REQUIRES: start succeeded.
  state_store& state();
  /// The streams of the running app. REQUIRES: start succeeded.
  stream_access& streams();

  /// Drains in-flight work and stops everything. Idempotent.
  void stop();

  /// Blocks until stop() is called (from another thread or a signal).
  void wait();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace motia
