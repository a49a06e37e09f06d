#include "runtime/native_context.hpp"

#include <fmt/format.h>

#include "core/queue.hpp"
#include "core/log.hpp"
#include "runtime/runtime_env.hpp"

namespace motia {

error make_deliveries(runtime_env& env, const project_snapshot& snap, const step_config& from,
                      std::string_view topic, const payload& data, const std::string& message_group_id,
                      const std::string& trace_id, std::vector<queued_event>& out) {
  if (topic.empty())
    return make_error(errc::bad_input, "emit needs a non-empty topic");
  if (!from.may_emit(topic))
    return make_error(errc::undeclared_emit,
                      fmt::format("step '{}' emitted topic '{}' which is not in its 'emits'", from.name, topic));
  auto& p = *snap.project;
  if (data.bytes().size() > p.max_event_bytes)
    return make_error(errc::too_large, fmt::format("the event is {} bytes, over queue.maxEventBytes ({})",
                                                   data.bytes().size(), p.max_event_bytes));
  auto& subs = snap.subscribers(topic);
  if (subs.empty()) {
    log::debug("emitted topic has no subscribers", {{"topic", topic}, {"step", from.name}, {"traceId", trace_id}});
    ++env.metrics.emits;
    return {};
  }
  if (p.queue_max_depth > 0 && env.queue)
    for (auto* s : subs)
      if (env.queue->depth(s->cfg.name) >= static_cast<std::int64_t>(p.queue_max_depth)) {
        ++env.metrics.overloaded;
        return make_error(errc::overloaded,
                          fmt::format("the queue of step '{}' is full ({} pending, queue.maxDepth)",
                                      s->cfg.name, p.queue_max_depth));
      }
  auto id = new_message_id();
  for (auto* s : subs) {
    queued_event e;
    e.step = s->cfg.name;
    e.shard = shard_of(e.step, message_group_id.empty() ? id : message_group_id, s->shards);
    e.topic = std::string(topic);
    e.data = data;
    e.trace_id = trace_id;
    e.message_group_id = message_group_id;
    e.message_id = id;
    out.push_back(std::move(e));
  }
  ++env.metrics.emits;
  return {};
}

native_context::native_context(runtime_env& env, const project_snapshot& snap, const step_config& cfg,
                               std::string trace_id, unsigned attempt, std::string message_id,
                               std::vector<queued_event>& staged)
    : env_(env), snap_(snap), cfg_(cfg), trace_id_(std::move(trace_id)), attempt_(attempt),
      message_id_(std::move(message_id)), staged_(staged) {}

void native_context::emit(const std::string& topic, json data, const std::string& message_group_id) {
  auto err = make_deliveries(env_, snap_, cfg_, topic, payload::from_json(data), message_group_id,
                             trace_id_, staged_);
  if (!err)
    return;
  overloaded_ = overloaded_ || code_of(err) == errc::overloaded;
  throw step_error(message_of(err));
}

state_store& native_context::state() { return *env_.state; }

stream_access& native_context::streams() { return *env_.streams; }

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

} // namespace motia
