#pragma once

// Emits (shared by native handlers and worker calls) and the context a native
// handler gets.

#include <string>
#include <vector>

#include "core/delivery.hpp"
#include "core/error.hpp"
#include "core/snapshot.hpp"
#include "motia/step.hpp"

namespace motia {

struct runtime_env;

/// The deliveries of one emit by step `from`: checks `emits`, the event's
/// size (`queue.maxEventBytes`) and every subscriber's depth limit
/// (`queue.maxDepth`, errc::overloaded), then appends one row per subscribing
/// step of `snap` to `out` (nothing is written yet). The rows share `data`.
error make_deliveries(runtime_env& env, const project_snapshot& snap, const step_config& from,
                      std::string_view topic, const payload& data, const std::string& message_group_id,
                      const std::string& trace_id, std::vector<queued_event>& out);

/// The context a native handler gets: emit stages deliveries in `staged`
/// (the step actor commits them to the queue when the handler returns, in one
/// batch with the delivery's acknowledgement, so a handler that throws emits
/// nothing), state is the runtime's store, the logger writes with the trace id.
class native_context final : public context, private step_logger {
public:
  native_context(runtime_env& env, const project_snapshot& snap, const step_config& cfg,
                 std::string trace_id, unsigned attempt, std::string message_id,
                 std::vector<queued_event>& staged);

  void emit(const std::string& topic, json data, const std::string& message_group_id) override;
  state_store& state() override;
  stream_access& streams() override;
  step_logger& logger() override { return *this; }
  const std::string& trace_id() const override { return trace_id_; }
  const std::vector<std::string>& flows() const override { return cfg_.flows; }
  const std::string& step_name() const override { return cfg_.name; }
  unsigned attempt() const override { return attempt_; }
  const std::string& message_id() const override { return message_id_; }
  /// An emit was refused for a full queue (api steps answer 503 then).
  bool overloaded() const { return overloaded_; }

private:
  void log(std::string_view level, std::string_view msg, const json& fields) override;

  runtime_env& env_;
  const project_snapshot& snap_;
  const step_config& cfg_;
  std::string trace_id_;
  unsigned attempt_;
  std::string message_id_;
  std::vector<queued_event>& staged_;
  bool overloaded_ = false;
};

/// Writes a handler's log record with the invocation's trace id, step and flows.
void write_step_log(std::string_view level, std::string_view msg, const json& fields,
                    const std::string& trace_id, const step_config& cfg);

} // namespace motia
