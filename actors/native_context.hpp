#pragma once

#include <string>
#include <vector>

#include "actors/services.hpp"
#include "motia/step.hpp"

namespace motia {

/// The context a native handler gets: emit stages deliveries in `staged`
/// (the step actor commits them to the queue when the handler returns, in one
/// batch with the delivery's acknowledgement, so a handler that throws emits
/// nothing), state is the runtime's store, the logger writes JSON lines with
/// the trace id.
class native_context final : public context, private step_logger {
public:
  native_context(runtime_services& svc, const step_config& cfg, std::string trace_id,
                 unsigned attempt, std::string message_id, std::vector<queued_event>& staged);

  void emit(const std::string& topic, json data, const std::string& message_group_id) override;
  state_store& state() override { return *svc_.state; }
  stream_access& streams() override { return *svc_.streams; }
  step_logger& logger() override { return *this; }
  const std::string& trace_id() const override { return trace_id_; }
  const std::vector<std::string>& flows() const override { return cfg_.flows; }
  const std::string& step_name() const override { return cfg_.name; }
  unsigned attempt() const override { return attempt_; }
  const std::string& message_id() const override { return message_id_; }

private:
  void log(std::string_view level, std::string_view msg, const json& fields) override;

  runtime_services& svc_;
  const step_config& cfg_;
  std::string trace_id_;
  unsigned attempt_;
  std::string message_id_;
  std::vector<queued_event>& staged_;
};

/// Writes a handler's log record with the invocation's trace id, step and flows.
void write_step_log(std::string_view level, std::string_view msg, const json& fields,
                    const std::string& trace_id, const step_config& cfg);

/// Emits on behalf of step `cfg`: checks `emits`, then appends one delivery
/// per subscribing step to `out` (nothing is written yet). Returns an error
/// text (empty on success).
std::string emit_from_step(runtime_services& svc, const step_config& cfg, const std::string& topic,
                           json data, const std::string& message_group_id,
                           const std::string& trace_id, std::vector<queued_event>& out);

} // namespace motia
