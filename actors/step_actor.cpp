#include "actors/step_actor.hpp"

#include <deque>
#include <random>

#include <caf/all.hpp>

#include "actors/error.hpp"
#include "actors/http_response.hpp"
#include "actors/messages.hpp"
#include "actors/native_context.hpp"
#include "actors/services.hpp"
#include "actors/supervisor.hpp"
#include "core/log.hpp"

namespace motia {

namespace {

struct step_state {
  runtime_services* svc = nullptr;
  const step_config* cfg = nullptr;
  const step_definition* native = nullptr; ///< null for worker steps
  actor_slot* pool = nullptr;
  unsigned in_flight = 0;
  std::deque<event_msg> waiting; ///< over the concurrency limit
  std::mt19937_64 rng{std::random_device{}()};
  static inline const char* name = "motia.step";
};

using step_actor = caf::stateful_actor<step_state>;

std::chrono::milliseconds deadline_of(const step_state& st) {
  if (st.cfg->timeout.count() > 0)
    return st.cfg->timeout;
  return st.cfg->kind == step_kind::api ? st.svc->project->api_timeout
                                        : st.svc->project->event_timeout;
}

invocation make_invocation(const step_state& st, json input, const std::string& trace,
                           unsigned attempt, std::string message_id) {
  return invocation{st.cfg->name, st.cfg->kind, std::move(input), trace, attempt,
                    std::move(message_id), st.cfg->flows, deadline_of(st)};
}

// Runs a native handler; returns the error text, empty on success.
template <class F>
std::string run_native(F&& f) {
  try {
    f();
    return {};
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Sends `inv` to the worker pool; `done(result, error)` runs in this actor.
template <class Done>
void run_in_worker(step_actor* self, invocation inv, Done done) {
  auto pool = self->state.pool ? self->state.pool->get() : caf::actor{};
  if (!pool) {
    done(invocation_result{}, make_error(errc::unavailable, "no worker for this step"));
    return;
  }
  // No timeout here: the proxy enforces the deadline with one sweep for all its
  // invocations and fails them all when its process dies. A timer per request
  // would keep every request's state alive for the whole deadline.
  self->request(pool, caf::infinite, invoke_atom::value, std::move(inv))
    .then([done](invocation_result& r) mutable { done(std::move(r), caf::error{}); },
          [done](caf::error& e) mutable { done(invocation_result{}, std::move(e)); });
}

void respond_api(step_actor* self, const http::responder_ptr& responder, const json& value,
                 const caf::error& err, const std::string& trace) {
  auto& cfg = *self->state.cfg;
  if (err) {
    bool timeout = err == make_error(errc::handler_timeout) || err == caf::sec::request_timeout;
    bool down = err == make_error(errc::worker_died) || err == make_error(errc::unavailable);
    write_step_log("error", "api handler failed", {{"error", describe(err)}}, trace, cfg);
    if (timeout)
      return responder->send(error_response(504, "handler_timeout", "the handler did not answer in time", trace));
    if (down)
      return responder->send(error_response(503, "unavailable", "the step's worker is unavailable", trace));
    return responder->send(error_response(500, "handler_failed", "internal server error", trace));
  }
  http::response resp;
  std::string why;
  if (!to_http_response(value, resp, why)) {
    write_step_log("error", "api handler returned an invalid response", {{"error", why}}, trace, cfg);
    return responder->send(error_response(500, "invalid_response", why, trace));
  }
  responder->send(std::move(resp));
}

void handle_api(step_actor* self, api_call& call) {
  auto& st = self->state;
  if (st.native) {
    native_context ctx(*st.svc, *st.cfg, call.trace_id, 1, {});
    api_request req;
    req.path_params = call.request["pathParams"];
    req.query_params = call.request["queryParams"];
    req.body = call.request["body"];
    req.headers = call.request["headers"];
    req.raw_body = call.request["rawBody"].get<std::string>();
    api_response resp;
    auto err = run_native([&] { resp = st.native->api(req, ctx); });
    json value = {{"status", resp.status}, {"headers", resp.headers}, {"body", resp.body}};
    respond_api(self, call.responder, value,
                err.empty() ? caf::error{} : make_error(errc::handler_failed, err), call.trace_id);
    return;
  }
  auto inv = make_invocation(st, std::move(call.request), call.trace_id, 1, {});
  run_in_worker(self, std::move(inv),
                [self, responder = call.responder, trace = call.trace_id](
                  invocation_result r, caf::error e) {
                  respond_api(self, responder, r.value, e, trace);
                });
}

// The same doubling, cap and jitter as supervisor restarts; a fixed backoff is
// the degenerate case (max = min, no jitter).
std::chrono::milliseconds retry_delay(step_state& st, unsigned attempt) {
  constexpr std::chrono::milliseconds cap{3'600'000};
  auto& q = st.cfg->queue;
  supervision_settings s;
  s.backoff_min = std::min(q.backoff_delay, cap);
  s.backoff_max = q.exponential ? cap : s.backoff_min;
  s.jitter = q.exponential ? 0.2 : 0.0;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  return restart_backoff(s, attempt, unit(st.rng));
}

void start_event(step_actor* self, event_msg ev);

void event_done(step_actor* self, event_msg ev, const caf::error& err) {
  auto& st = self->state;
  --st.in_flight;
  if (!err) {
    st.svc->topics->finished();
  } else if (ev.attempt <= st.cfg->queue.max_retries) {
    auto delay = retry_delay(st, ev.attempt);
    write_step_log("warn", "event handler failed, retrying",
                   {{"error", describe(err)}, {"attempt", ev.attempt}, {"retryInMs", delay.count()},
                    {"topic", ev.topic}, {"messageId", ev.message_id}},
                   ev.trace_id, *st.cfg);
    ++ev.attempt;
    self->delayed_send(self, delay, event_atom::value, std::move(ev));
  } else {
    write_step_log("error", "event handler failed after its last attempt",
                   {{"error", describe(err)}, {"attempts", ev.attempt}, {"topic", ev.topic},
                    {"messageId", ev.message_id}, {"data", ev.data}},
                   ev.trace_id, *st.cfg);
    st.svc->topics->finished();
  }
  while (!st.waiting.empty() && st.in_flight < st.cfg->queue.concurrency) {
    auto next = std::move(st.waiting.front());
    st.waiting.pop_front();
    start_event(self, std::move(next));
  }
}

void start_event(step_actor* self, event_msg ev) {
  auto& st = self->state;
  ++st.in_flight;
  if (st.native) {
    native_context ctx(*st.svc, *st.cfg, ev.trace_id, ev.attempt, ev.message_id);
    auto err = run_native([&] { st.native->event(ev.data, ctx); });
    event_done(self, std::move(ev), err.empty() ? caf::error{} : make_error(errc::handler_failed, err));
    return;
  }
  auto inv = make_invocation(st, ev.data, ev.trace_id, ev.attempt, ev.message_id);
  run_in_worker(self, std::move(inv), [self, ev = std::move(ev)](invocation_result, caf::error e) mutable {
    event_done(self, std::move(ev), e);
  });
}

void handle_cron(step_actor* self, const std::string& trace) {
  auto& st = self->state;
  auto report = [self, trace](const caf::error& e) {
    if (e)
      write_step_log("error", "cron handler failed", {{"error", describe(e)}}, trace,
                     *self->state.cfg);
  };
  if (st.native) {
    native_context ctx(*st.svc, *st.cfg, trace, 1, {});
    auto err = run_native([&] { st.native->cron(ctx); });
    report(err.empty() ? caf::error{} : make_error(errc::handler_failed, err));
    return;
  }
  run_in_worker(self, make_invocation(st, nullptr, trace, 1, {}),
                [report](invocation_result, caf::error e) { report(e); });
}

caf::behavior step_impl(step_actor* self, runtime_services* svc, const step_config* cfg,
                        actor_slot* pool) {
  auto& st = self->state;
  st.svc = svc;
  st.cfg = cfg;
  st.pool = pool;
  if (auto it = svc->native.find(cfg->name); it != svc->native.end())
    st.native = &it->second;
  for (auto& topic : cfg->subscribes)
    self->join(svc->topics->group(topic));
  self->set_default_handler(caf::drop);
  return {
    [self](api_atom, api_call& call) { handle_api(self, call); },
    [self](event_atom, event_msg& ev) {
      auto& st = self->state;
      if (st.in_flight < st.cfg->queue.concurrency)
        start_event(self, std::move(ev));
      else
        st.waiting.push_back(std::move(ev));
    },
    [self](cron_atom, const std::string& trace) { handle_cron(self, trace); },
    [](ready_atom) { return true; },
  };
}

} // namespace

caf::actor spawn_step_actor(caf::actor_system& sys, runtime_services& svc, const step_config& cfg,
                            actor_slot* pool) {
  return sys.spawn(step_impl, &svc, &cfg, pool);
}

} // namespace motia
