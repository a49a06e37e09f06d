#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "motia/json.hpp"

namespace motia {

enum class step_kind { api, event, cron, noop };
std::string_view to_string(step_kind k) noexcept;

/// The language a step runs in (which worker serves it).
enum class step_language { native, node, python };
std::string_view to_string(step_language l) noexcept;

struct emit_decl {
  std::string topic;
  std::string label;
  bool conditional = false;
};

/// Delivery settings of an event step (Motia's `infrastructure.queue`, or the
/// 1.0 queue trigger's `config`). Defaults are Motia's.
struct queue_settings {
  bool fifo = false;
  unsigned max_retries = 3;
  std::chrono::milliseconds delay{0};                ///< delaySeconds
  std::chrono::milliseconds visibility_timeout{900'000};
  bool exponential = true;                          ///< backoffType
  std::chrono::milliseconds backoff_delay{1000};    ///< backoffDelayMs (first retry)
  unsigned concurrency = 16;                        ///< in-flight invocations
};

/// One validated step config. `raw` keeps the config as given.
struct step_config {
  std::string name;
  std::string description;
  std::string file; ///< where it came from ("native:<name>" for C++ steps)
  step_kind kind = step_kind::noop;
  step_language language = step_language::native;
  std::vector<std::string> flows;
  std::vector<emit_decl> emits;
  std::vector<std::string> virtual_emits;
  std::vector<std::string> virtual_subscribes;
  // api
  std::string method;
  std::string path;
  json body_schema;
  json response_schema;
  bool has_middleware = false;
  // event
  std::vector<std::string> subscribes;
  json input_schema;
  queue_settings queue;
  std::chrono::milliseconds timeout{0}; ///< infrastructure.handler.timeout; 0 = default
  // cron
  std::string cron;
  json raw;

  /// True if the step may emit `topic` (declared, or `emits` empty).
  bool may_emit(std::string_view topic) const;
};

/// Validates one Motia step config (0.17 form, or 1.0 `triggers`/`enqueues`).
/// On failure returns nullopt and sets `err` to a reason that names the field.
std::optional<step_config> parse_step_config(const json& cfg, std::string file,
                                             step_language lang, std::string& err);

/// One problem found in a project: the file it is about and the reason.
struct config_problem {
  std::string file;
  std::string message;
};

/// Checks a whole project's steps together: unique names, unique routes,
/// valid route paths. Returns every problem found (empty when fine).
std::vector<config_problem> validate_project(const std::vector<step_config>& steps);

} // namespace motia
