#include "actors/native_context.hpp"

#include <fmt/format.h>

#include "actors/messages.hpp"
#include "core/log.hpp"

namespace motia {

native_context::native_context(runtime_services& svc, const step_config& cfg,
                               std::string trace_id, unsigned attempt, std::string message_id,
                               std::vector<queued_event>& staged)
    : svc_(svc), cfg_(cfg), trace_id_(std::move(trace_id)), attempt_(attempt),
      message_id_(std::move(message_id)), staged_(staged) {}

void native_context::emit(const std::string& topic, json data,
                          const std::string& message_group_id) {
  auto err =
    emit_from_step(svc_, cfg_, topic, std::move(data), message_group_id, trace_id_, staged_);
  if (!err.empty())
    throw step_error(err);
}

void native_context::log(std::string_view level, std::string_view msg, const json& fields) {
  write_step_log(level, msg, fields, trace_id_, cfg_);
}

void write_step_log(std::string_view level, std::string_view msg, const json& fields,
                    const std::string& trace_id, const step_config& cfg) {
  auto lvl = log::parse_level(level);
  if (!log::enabled(lvl))
    return;
  json f = fields.is_object() ? fields : json::object();
  f["traceId"] = trace_id;
  f["step"] = cfg.name;
  f["flows"] = cfg.flows;
  log::write(lvl, msg, f);
}

std::string emit_from_step(runtime_services& svc, const step_config& cfg, const std::string& topic,
                           json data, const std::string& message_group_id,
                           const std::string& trace_id, std::vector<queued_event>& out) {
  if (topic.empty())
    return "emit needs a non-empty topic";
  if (!cfg.may_emit(topic))
    return fmt::format("step '{}' emitted topic '{}' which is not in its 'emits'", cfg.name, topic);
  auto entries = svc.topics->deliveries(topic, std::move(data), trace_id, message_group_id);
  if (entries.empty())
    log::debug("emitted topic has no subscribers",
               {{"topic", topic}, {"step", cfg.name}, {"traceId", trace_id}});
  for (auto& e : entries)
    out.push_back(std::move(e));
  svc.metrics->emits++;
  return {};
}

} // namespace motia
