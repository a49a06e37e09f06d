#pragma once

#include <cstdint>
#include <string_view>

namespace motia {

/// Every error the runtime reports. Values are stable: they travel inside
/// `caf::error` (category atom "motia") and appear in logs and admin output.
enum class errc : std::uint8_t {
  none = 0,
  /// A step config is missing a field, has a wrong type or an unknown value.
  invalid_config = 1,
  /// Two steps declare the same name, or two api steps the same route.
  duplicate_step = 2,
  /// A cron expression does not parse.
  invalid_cron = 3,
  /// A step file could not be loaded by its worker (syntax or import error).
  step_load_failed = 4,
  /// The handler threw, rejected or returned an error.
  handler_failed = 5,
  /// The handler did not finish before its deadline.
  handler_timeout = 6,
  /// The worker process that ran the invocation died or closed its connection.
  worker_died = 7,
  /// A worker frame broke the protocol (bad length, not msgpack, unknown type).
  protocol_error = 8,
  /// A frame or body is larger than the configured limit.
  too_large = 9,
  /// A handler emitted a topic its step does not declare in `emits`.
  undeclared_emit = 10,
  /// Storage (RocksDB) failed an operation.
  storage_error = 11,
  /// Input is not valid (malformed JSON, wrong shape).
  bad_input = 12,
  /// No step or worker can take the work right now (shutting down, no worker).
  unavailable = 13,
  /// The project config file is invalid.
  invalid_project = 14,
  /// A step's queue is at its depth limit (`queue.maxDepth`): the emit is
  /// refused so the queue stops growing (api steps answer 503 with Retry-After).
  overloaded = 15,
  /// The input killed its worker twice and is refused from now on.
  quarantined = 16,
  /// A write of a queue partition carried an epoch that has moved on (cluster).
  fenced = 17,
};

/// A short stable name for `e`, e.g. "handler_timeout".
std::string_view to_string(errc e) noexcept;

} // namespace motia
