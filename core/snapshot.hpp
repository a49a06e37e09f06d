#pragma once

// The loaded project as one immutable value: steps (with compiled schemas and
// native handlers), routes, topic subscriptions, streams and the stream auth
// hook. The runtime holds the current snapshot behind an atomic pointer and
// swaps it whole; whoever loaded a snapshot keeps a consistent view of the
// project for as long as it holds it (a request, an invocation).
//
// Building one is pure: the effectful part (starting workers to read the
// configs of JS/TS and Python files) happens before, and its results come in
// as `worker_registration`s.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "core/json_schema.hpp"
#include "core/project_config.hpp"
#include "core/router.hpp"
#include "core/step_config.hpp"
#include "motia/step.hpp"
#include "motia/stream.hpp"

namespace motia {

/// What one worker registered after loading its files (the `register` frame).
struct worker_registration {
  step_language language = step_language::node;
  json steps = json::array();   ///< [{file, config}]
  json errors = json::array();  ///< [{file, message, line?, stack?}]
  json streams = json::array(); ///< [{file, config: {name, schema?, baseConfig?, canAccess}}]
  bool auth = false;            ///< the stream authenticate hook loaded
};

/// A stream of the project, in any language.
struct stream_info {
  std::string name;
  std::string file; ///< "native:<name>" for native streams
  step_language language = step_language::native;
  json config;      ///< as registered (name, schema?, baseConfig?)
  bool worker_can_access = false; ///< its worker answers `canAccess` invocations
  std::function<bool(const json& subscription, const json& auth_context)> native_can_access;
};

using response_schema_map = std::map<std::string, std::shared_ptr<const json_schema>>;

/// One step as the runtime runs it.
struct step_info {
  step_config cfg;
  std::shared_ptr<const json_schema> input_schema;  ///< event steps with `input`
  std::shared_ptr<const json_schema> body_schema;   ///< api steps with `bodySchema`
  /// api steps with `responseSchema`, by status ("200"), in development mode.
  response_schema_map response_schemas;
  /// The C++ handler of a native step; null for worker steps.
  std::shared_ptr<const step_definition> native;
  /// Partitions of the step's queue (event steps).
  std::uint16_t shards = 1;
};

/// The project's stream authenticate hook.
struct stream_auth_hook {
  stream_authenticator native;     ///< set for a native hook
  std::string file;                ///< the worker file that exports it
  step_language language = step_language::native;
  bool present() const { return native != nullptr || !file.empty(); }
};

class project_snapshot {
public:
  /// Increases by one with each snapshot the runtime installs.
  std::uint64_t generation = 0;
  std::shared_ptr<const project_config> project;
  /// Every step, in load order (native first, then by worker language).
  std::vector<std::shared_ptr<const step_info>> steps;
  std::unordered_map<std::string, stream_info> streams;
  stream_auth_hook auth;
  router routes;
  /// api steps by route index of `routes`.
  std::vector<const step_info*> route_targets;

  /// The step named `name`, or nullptr.
  const step_info* step(std::string_view name) const;
  /// The steps subscribed to `topic` (empty when none).
  const std::vector<const step_info*>& subscribers(std::string_view topic) const;
  /// The sorted names of every stream (for workers' `init`).
  std::vector<std::string> stream_names() const;

private:
  friend struct snapshot_builder;
  std::unordered_map<std::string, const step_info*> by_name_;
  std::map<std::string, std::vector<const step_info*>, std::less<>> by_topic_;
};

using snapshot_ptr = std::shared_ptr<const project_snapshot>;

/// What a project is loaded from.
struct snapshot_inputs {
  std::shared_ptr<const project_config> project;
  std::vector<step_definition> native_steps;
  std::vector<stream_definition> native_streams;
  stream_authenticator native_auth;
  /// The stream auth file found for the project ("" for none): from
  /// motia-actors.json or motia.config.* (find_stream_auth_file).
  std::string auth_file;
  /// One per worker language that loaded files.
  std::vector<worker_registration> registrations;
};

/// Builds the snapshot, or every problem found (file and reason), so that a
/// user sees them all at once. Pure: reads no files, starts nothing.
std::shared_ptr<const project_snapshot> build_snapshot(const snapshot_inputs& in,
                                                       std::vector<config_problem>& problems);

/// The file that holds the project's stream authenticate hook: the
/// `streams.authenticate` file of motia-actors.json, else a motia.config.ts|js
/// that mentions `streamAuth`; "" for none. A configured file that does not
/// exist is a problem.
std::string find_stream_auth_file(const project_config& p, std::vector<config_problem>& problems);

/// The problems as one readable text ("the project has 2 problems:\n  file: why").
std::string describe_problems(const std::vector<config_problem>& problems);

} // namespace motia
