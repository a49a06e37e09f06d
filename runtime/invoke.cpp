#include "runtime/invoke.hpp"

#include "adapters/process/worker_process.hpp"
#include "core/msgpack_writer.hpp"
#include "runtime/runtime_env.hpp"

namespace motia {

std::string invoke_frame(std::uint64_t id, const invoke_args& a) {
  auto w = msgpack_writer::frame();
  w.buffer().reserve(160 + a.input.bytes().size());
  w.map(a.validate_body ? 11 : 10);
  w.str("t").str("invoke");
  w.str("id").uint(id);
  w.str("step").str(a.step);
  w.str("kind").str(a.kind);
  w.str("input").raw(a.input);
  w.str("traceId").str(a.trace_id);
  w.str("attempt").uint(a.attempt);
  w.str("messageId").str(a.message_id);
  w.str("flows");
  if (a.flows) {
    w.array(static_cast<std::uint32_t>(a.flows->size()));
    for (auto& f : *a.flows)
      w.str(f);
  } else {
    w.array(0);
  }
  w.str("deadlineMs").uint(static_cast<std::uint64_t>(std::max<std::int64_t>(a.deadline.count(), 0)));
  if (a.validate_body)
    w.str("validateBody").boolean(true);
  return std::move(w).finish();
}

errc invoke_worker(runtime_env& env, step_language lang, std::size_t& cursor, const invoke_args& a,
                   std::shared_ptr<process::result_sink> sink, std::uint64_t token, call_context ctx) {
  if (env.quarantine.refused(std::string(a.step), a.input))
    return errc::quarantined;
  auto live = env.workers.live(lang);
  if (!live || live->empty())
    return errc::unavailable;
  auto deadline = a.deadline.count() > 0 ? std::chrono::steady_clock::now() + a.deadline
                                         : std::chrono::steady_clock::time_point::max();
  for (std::size_t tries = 0; tries < live->size(); ++tries) {
    auto& w = (*live)[cursor++ % live->size()];
    auto id = w->next_id();
    process::pending_invocation p;
    p.sink = sink;
    p.token = token;
    p.deadline = deadline;
    p.owner = ctx.owner;
    p.context = ctx.step;
    p.trace_id = std::string(a.trace_id);
    p.input = a.input;
    p.step = std::string(a.step);
    if (w->invoke(id, invoke_frame(id, a), std::move(p)))
      return errc::none;
  }
  return errc::unavailable;
}

} // namespace motia

namespace motia {

caf::error error_of(const process::invocation_outcome& out) {
  if (out.code != errc::none)
    return make_error(out.code, out.message);
  if (out.ok)
    return {};
  auto text = [&](std::string_view key) {
    auto v = out.value.find(key);
    auto s = v ? v->as_string() : std::nullopt;
    return s ? std::string(*s) : std::string();
  };
  auto code = text("code");
  // The worker refused without running the handler: not the handler's failure.
  if (code == "draining" || code == "unknown_step")
    return make_error(errc::unavailable, "the worker refused the invocation: " + code);
  auto message = text("message");
  if (message.empty())
    message = "handler failed";
  if (auto stack = text("stack"); !stack.empty())
    message += "\n" + stack;
  return make_error(errc::handler_failed, std::move(message));
}

} // namespace motia
