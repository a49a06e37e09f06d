#include "actors/step_actor.hpp"

#include <map>
#include <memory>
#include <random>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/error.hpp"
#include "actors/http_response.hpp"
#include "actors/messages.hpp"
#include "actors/native_context.hpp"
#include "actors/services.hpp"
#include "actors/supervisor.hpp"
#include "adapters/rocksdb/queue_store.hpp"
#include "core/json_schema.hpp"
#include "core/log.hpp"

namespace motia {

namespace {

struct step_state {
  runtime_services* svc = nullptr;
  const step_config* cfg = nullptr;
  const step_definition* native = nullptr; ///< null for worker steps
  actor_slot* pool = nullptr;
  step_metrics* metrics = nullptr;
  std::shared_ptr<const json_schema> input_schema; ///< event steps with `input`
  std::shared_ptr<const json_schema> body_schema;  ///< api steps with `bodySchema`
  /// api steps with `responseSchema`, by status ("200"), in development mode.
  std::shared_ptr<const std::map<std::string, std::shared_ptr<const json_schema>>> response_schemas;
  /// Deliveries this actor holds (waiting, running, waiting for a retry), by
  /// seq. The queue in RocksDB is the truth; this is its working set.
  std::unordered_map<std::uint64_t, queued_event> held;
  std::unique_ptr<delivery_scheduler> sched;
  /// Highest seq taken (from a publish or a scan): a published entry at or
  /// below it is already held or done.
  std::uint64_t cursor = 0;
  /// False while the store may hold entries above `cursor` that were not
  /// published to this actor (at start, or after the working set was full):
  /// publishes are then ignored and the store is scanned instead.
  bool caught_up = false;
  std::size_t max_held = 1024;
  bool draining = false;
  bool pump_scheduled = false; ///< native steps: a pump_atom is on its way
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
                    std::move(message_id), st.cfg->flows, deadline_of(st), {}};
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

// Commits a native handler's staged emits, then runs `then(error)` on the
// queue's writer thread. Without emits, runs it at once, except in strict
// mode: then an empty commit syncs the WAL first, so the handler's state
// writes are durable before anything is acknowledged.
template <class Then>
void commit_staged(runtime_services& svc, std::vector<queued_event> staged, Then then) {
  if (staged.empty() && !svc.project->durable_sync)
    return then(std::string{});
  rocks::queue_write w;
  w.enqueue = std::move(staged);
  svc.topics->commit(std::move(w), std::move(then));
}

using response_schema_map = std::map<std::string, std::shared_ptr<const json_schema>>;

// Development mode: a response whose body breaks the step's responseSchema
// for its status is logged (the client still gets it, as in Motia).
void check_response(const response_schema_map& schemas, const json& value,
                    const std::string& trace, const step_config& cfg) {
  if (!value.is_object() || !value.contains("status") || !value["status"].is_number_integer())
    return;
  auto it = schemas.find(std::to_string(value["status"].get<long long>()));
  if (it == schemas.end())
    return;
  std::vector<std::string> problems;
  if (!it->second->validate(value.contains("body") ? value["body"] : json(), problems))
    write_step_log("warn", "response does not match the step's responseSchema",
                   {{"status", value["status"]}, {"problems", problems}}, trace, cfg);
}

void respond_with(const http::responder_ptr& responder, const json& value,
                  const std::string& trace, const step_config& cfg,
                  const response_schema_map* schemas = nullptr) {
  if (schemas)
    check_response(*schemas, value, trace, cfg);
  http::response resp;
  std::string why;
  if (!to_http_response(value, resp, why)) {
    write_step_log("error", "api handler returned an invalid response", {{"error", why}}, trace, cfg);
    return responder->send(error_response(500, "invalid_response", why, trace));
  }
  responder->send(std::move(resp));
}

void respond_api(step_actor* self, const http::responder_ptr& responder, const json& value,
                 const caf::error& err, const std::string& trace) {
  auto& cfg = *self->state.cfg;
  if (err) {
    bool timeout = err == make_error(errc::handler_timeout) || err == caf::sec::request_timeout;
    bool down = err == make_error(errc::worker_died) || err == make_error(errc::unavailable)
                || err == caf::sec::request_receiver_down;
    write_step_log("error", "api handler failed", {{"error", describe(err)}}, trace, cfg);
    if (timeout)
      return responder->send(error_response(504, "handler_timeout", "the handler did not answer in time", trace));
    if (down)
      return responder->send(error_response(503, "unavailable", "the step's worker is unavailable", trace));
    return responder->send(error_response(500, "handler_failed", "internal server error", trace));
  }
  respond_with(responder, value, trace, cfg, self->state.response_schemas.get());
}

void handle_api(step_actor* self, api_call& call) {
  auto& st = self->state;
  if (st.body_schema) {
    std::vector<std::string> problems;
    if (!st.body_schema->validate(call.request["body"], problems))
      return call.responder->send(error_response(400, "invalid_body",
                                                 "the request body does not match the step's bodySchema",
                                                 call.trace_id, problems));
  }
  if (st.native) {
    std::vector<queued_event> staged;
    native_context ctx(*st.svc, *st.cfg, call.trace_id, 1, {}, staged);
    api_request req;
    req.path_params = call.request["pathParams"];
    req.query_params = call.request["queryParams"];
    req.body = call.request["body"];
    req.headers = call.request["headers"];
    req.raw_body = call.request["rawBody"].get<std::string>();
    api_response resp;
    auto err = run_native([&] { resp = st.native->api(req, ctx); });
    json value = {{"status", resp.status}, {"headers", resp.headers}, {"body", resp.body}};
    if (!err.empty()) {
      respond_api(self, call.responder, value, make_error(errc::handler_failed, err), call.trace_id);
      return;
    }
    // The response goes out once the emitted events are durable: a client
    // that got its 200 never loses the events behind it.
    commit_staged(*st.svc, std::move(staged),
                  [responder = call.responder, value = std::move(value), trace = call.trace_id,
                   cfg = st.cfg, schemas = st.response_schemas](const std::string& e) {
                    if (e.empty())
                      return respond_with(responder, value, trace, *cfg, schemas.get());
                    write_step_log("error", "emitted events could not be stored",
                                   {{"error", e}}, trace, *cfg);
                    responder->send(error_response(503, "unavailable",
                                                   "the emitted events could not be stored", trace));
                  });
    return;
  }
  auto inv = make_invocation(st, std::move(call.request), call.trace_id, 1, {});
  run_in_worker(self, std::move(inv),
                [self, responder = call.responder, trace = call.trace_id](
                  invocation_result r, caf::error e) {
                  auto& st = self->state;
                  if (e || !st.svc->project->durable_sync)
                    return respond_api(self, responder, r.value, e, trace);
                  // Strict: the handler's state writes reach the disk first.
                  commit_staged(*st.svc, {}, [responder, value = std::move(r.value), trace,
                                              cfg = st.cfg, schemas = st.response_schemas](const std::string& err) {
                    if (err.empty())
                      return respond_with(responder, value, trace, *cfg, schemas.get());
                    responder->send(error_response(503, "unavailable", "the state could not be stored", trace));
                  });
                });
}

void pump(step_actor* self);
void load(step_actor* self);

// Takes more from the store once the working set has room again.
void refill(step_actor* self) {
  auto& st = self->state;
  if (!st.caught_up && st.held.size() <= st.max_held / 2)
    load(self);
}

double unit_draw(step_state& st) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(st.rng);
}

// Moves a delivery to the dead-letter store (one atomic write) and forgets it.
void bury(step_actor* self, queued_event e, const std::string& why, bool invalid) {
  auto& st = self->state;
  e.last_error = why;
  e.failed_at_ms = unix_ms_now();
  write_step_log("error", invalid ? "event input is invalid; dead-lettered"
                                  : "event handler failed after its last attempt; dead-lettered",
                 {{"error", why}, {"attempts", e.attempts}, {"topic", e.topic},
                  {"messageId", e.message_id}, {"deadLetterId", std::to_string(e.seq)}},
                 e.trace_id, *st.cfg);
  st.metrics->dead_lettered++;
  if (invalid)
    st.metrics->invalid_input++;
  rocks::queue_write w;
  w.bury.push_back(std::move(e));
  w.done = [](std::vector<queued_event>&, const std::string& err) {
    if (!err.empty()) // still in `queue`: delivered again after a restart
      log::error("dead-lettering failed; the delivery stays queued", {{"error", err}});
  };
  st.svc->topics->queue().submit(std::move(w));
}

// Takes a delivery into the working set (or dead-letters invalid input).
void accept(step_actor* self, queued_event e) {
  auto& st = self->state;
  if (st.held.count(e.seq) != 0)
    return;
  if (st.input_schema) {
    std::vector<std::string> problems;
    if (!st.input_schema->validate(e.data, problems)) {
      std::string why = "input does not match the step's input schema: ";
      for (std::size_t i = 0; i < problems.size(); ++i)
        why += (i ? "; " : "") + problems[i];
      return bury(self, std::move(e), why, true);
    }
  }
  auto seq = e.seq;
  auto group = e.message_group_id;
  auto wait = e.retry_at_ms - unix_ms_now();
  st.held.emplace(seq, std::move(e));
  if (wait > 0) { // a retry still pending when it was loaded from the store
    st.sched->claim(group);
    self->delayed_send(self, std::chrono::milliseconds(wait), retry_atom::value, seq);
  } else {
    st.sched->push(seq, group);
  }
}

void finish(step_actor* self, std::uint64_t seq, const caf::error& err,
            std::vector<queued_event> staged);

void start(step_actor* self, std::uint64_t seq) {
  auto& st = self->state;
  auto& e = st.held.at(seq);
  st.metrics->started++;
  st.svc->topics->running++;
  if (st.native) {
    std::vector<queued_event> staged;
    native_context ctx(*st.svc, *st.cfg, e.trace_id, e.attempts + 1, e.message_id, staged);
    auto err = run_native([&] { st.native->event(e.data, ctx); });
    finish(self, seq, err.empty() ? caf::error{} : make_error(errc::handler_failed, err),
           std::move(staged));
    return;
  }
  auto inv = make_invocation(st, e.data, e.trace_id, e.attempts + 1, e.message_id);
  run_in_worker(self, std::move(inv), [self, seq](invocation_result, caf::error err) {
    finish(self, seq, err, {});
  });
}

// The delivery is over for good: forget it and take more from the store.
void release(step_actor* self, std::uint64_t seq) {
  auto& st = self->state;
  auto it = st.held.find(seq);
  if (it == st.held.end())
    return;
  st.sched->finished(it->second.message_group_id);
  st.held.erase(it);
  refill(self);
  pump(self);
}

// A failed attempt. `running`: the delivery still holds its scheduler slot
// (a handler failure); otherwise the slot was freed already (its commit did
// not land) and only its FIFO group is taken again. After the last attempt
// the delivery is dead-lettered; before it, the attempt count, error and
// retry time are persisted, then the retry waits in this actor's mailbox.
void fail_attempt(step_actor* self, std::uint64_t seq, const std::string& why, bool running) {
  auto& st = self->state;
  auto& e = st.held.at(seq);
  ++e.attempts;
  e.last_error = why;
  if (e.attempts > st.cfg->queue.max_retries) {
    bury(self, e, why, false);
    if (running)
      return release(self, seq);
    st.held.erase(seq);
    refill(self);
    return pump(self);
  }
  auto delay = retry_delay(st.cfg->queue, e.attempts, unit_draw(st));
  e.retry_at_ms = unix_ms_now() + delay.count();
  st.metrics->retried++;
  write_step_log("warn", "event handler failed, retrying",
                 {{"error", why}, {"attempt", e.attempts}, {"retryInMs", delay.count()},
                  {"topic", e.topic}, {"messageId", e.message_id}},
                 e.trace_id, *st.cfg);
  // The attempt count is persisted before the retry, so a crash cannot reset it.
  rocks::queue_write w;
  w.update.push_back(e);
  st.svc->topics->queue().submit(std::move(w));
  if (running)
    st.sched->retry_wait(e.message_group_id);
  else
    st.sched->claim(e.message_group_id);
  self->delayed_send(self, delay, retry_atom::value, seq);
  pump(self);
}

void finish(step_actor* self, std::uint64_t seq, const caf::error& err,
            std::vector<queued_event> staged) {
  auto& st = self->state;
  st.svc->topics->running--;
  auto it = st.held.find(seq);
  if (it == st.held.end())
    return;
  auto& e = it->second;
  if (!err) {
    st.metrics->succeeded++;
    rocks::queue_write w;
    w.ack.emplace_back(st.cfg->name, seq);
    if (staged.empty()) {
      // In strict mode the ack's sync also covers the handler's state writes;
      // the slot need not wait for it (a lost ack means one more delivery).
      w.must_sync = st.svc->project->durable_sync;
      st.svc->topics->queue().submit(std::move(w));
      return release(self, seq);
    }
    // The emits and the ack commit together. The slot (and a FIFO group) is
    // free at once: commits keep submission order, so the next delivery's
    // emits cannot overtake these. The delivery stays held until committed.
    w.enqueue = std::move(staged);
    auto me = caf::actor_cast<caf::actor>(self);
    st.svc->topics->commit(std::move(w), [me, seq](const std::string& e) {
      caf::anon_send(me, committed_atom::value, seq, e);
    });
    st.sched->finished(e.message_group_id);
    return pump(self);
  }
  fail_attempt(self, seq, describe(err), true);
}

void pump(step_actor* self) {
  auto& st = self->state;
  if (st.native) {
    // Native handlers run inline: a few per message, then yield to the
    // mailbox (drain, api calls, publishes) instead of recursing through the
    // whole backlog.
    if (!st.pump_scheduled && !st.draining && st.sched->ready() > 0) {
      st.pump_scheduled = true;
      self->send(self, pump_atom::value);
    }
    return;
  }
  while (!st.draining)
    if (auto seq = st.sched->next())
      start(self, *seq);
    else
      break;
}

void run_native_batch(step_actor* self) {
  auto& st = self->state;
  st.pump_scheduled = false;
  for (int i = 0; i < 16 && !st.draining; ++i)
    if (auto seq = st.sched->next())
      start(self, *seq);
    else
      break;
}

// Takes pending entries above the cursor from the store into the working set.
void load(step_actor* self) {
  auto& st = self->state;
  if (st.held.size() >= st.max_held)
    return;
  const auto want = st.max_held - st.held.size();
  auto entries = st.svc->topics->queue().pending(st.cfg->name, st.cursor, want);
  st.caught_up = entries.size() < want;
  for (auto& e : entries) {
    st.cursor = std::max(st.cursor, e.seq);
    accept(self, std::move(e));
  }
}

void on_published(step_actor* self, const delivery_batch& batch) {
  auto& st = self->state;
  for (auto& e : *batch) {
    if (e.step != st.cfg->name || e.seq <= st.cursor)
      continue;
    if (!st.caught_up)
      continue; // the next scan finds it in the store
    if (st.held.size() >= st.max_held) {
      st.caught_up = false;
      continue;
    }
    st.cursor = e.seq;
    accept(self, e);
  }
  pump(self);
}

void handle_cron(step_actor* self, const std::string& trace) {
  auto& st = self->state;
  auto report = [cfg = st.cfg, trace](const std::string& e) {
    if (!e.empty())
      write_step_log("error", "cron handler failed", {{"error", e}}, trace, *cfg);
  };
  if (st.native) {
    std::vector<queued_event> staged;
    native_context ctx(*st.svc, *st.cfg, trace, 1, {}, staged);
    auto err = run_native([&] { st.native->cron(ctx); });
    if (!err.empty())
      return report(err);
    commit_staged(*st.svc, std::move(staged), report);
    return;
  }
  run_in_worker(self, make_invocation(st, nullptr, trace, 1, {}),
                [report](invocation_result, caf::error e) {
                  if (e)
                    report(describe(e));
                });
}

caf::behavior step_impl(step_actor* self, runtime_services* svc, const step_config* cfg,
                        actor_slot* pool) {
  auto& st = self->state;
  st.svc = svc;
  st.cfg = cfg;
  st.pool = pool;
  st.metrics = svc->metrics->of(cfg->name);
  st.sched = std::make_unique<delivery_scheduler>(cfg->queue.concurrency, cfg->queue.fifo);
  st.max_held = std::max<std::size_t>(1024, 4 * cfg->queue.concurrency);
  if (auto it = svc->native.find(cfg->name); it != svc->native.end())
    st.native = &it->second;
  if (cfg->kind == step_kind::event && cfg->input_schema.is_object()) {
    std::string err;
    st.input_schema = json_schema::compile(cfg->input_schema, err);
    if (!st.input_schema)
      write_step_log("warn", "the step's input schema cannot be used; input is not validated",
                     {{"error", err}}, "", *cfg);
  }
  if (cfg->kind == step_kind::api && cfg->body_schema.is_object()) {
    std::string err;
    st.body_schema = json_schema::compile(cfg->body_schema, err);
    if (!st.body_schema)
      write_step_log("warn", "the step's bodySchema cannot be used; bodies are not validated",
                     {{"error", err}}, "", *cfg);
  }
  if (cfg->kind == step_kind::api && cfg->response_schema.is_object() && svc->project->development) {
    auto m = std::make_shared<response_schema_map>();
    for (auto& [status, schema] : cfg->response_schema.items()) {
      std::string err;
      if (auto compiled = json_schema::compile(schema, err))
        (*m)[status] = compiled;
      else
        write_step_log("warn", "a responseSchema entry cannot be used", {{"status", status}, {"error", err}},
                       "", *cfg);
    }
    st.response_schemas = std::move(m);
  }
  for (auto& topic : cfg->subscribes)
    self->join(svc->topics->group(topic));
  // After joining: whatever was committed before is found by this scan, what
  // is committed after arrives as a publish.
  if (cfg->kind == step_kind::event) {
    load(self);
    pump(self);
  }
  self->set_default_handler(caf::drop);
  return {
    [self](api_atom, api_call& call) { handle_api(self, call); },
    [self](event_atom, const delivery_batch& batch) { on_published(self, batch); },
    [self](retry_atom, std::uint64_t seq) {
      auto& st = self->state;
      if (st.held.count(seq) == 0)
        return;
      st.sched->retry_ready(seq);
      pump(self);
    },
    [self](committed_atom, std::uint64_t seq, const std::string& err) {
      auto& st = self->state;
      auto it = st.held.find(seq);
      if (it == st.held.end())
        return;
      if (err.empty()) {
        st.held.erase(it);
        refill(self);
        return pump(self);
      }
      // Nothing of the handler's result was stored: it counts as a failed attempt.
      fail_attempt(self, seq, "events could not be stored: " + err, false);
    },
    [self](pump_atom) { run_native_batch(self); },
    [self](cron_atom, const std::string& trace) { handle_cron(self, trace); },
    [self](drain_atom) { self->state.draining = true; },
    [](ready_atom) { return true; },
  };
}

} // namespace

caf::actor spawn_step_actor(caf::actor_system& sys, runtime_services& svc, const step_config& cfg,
                            actor_slot* pool) {
  return sys.spawn(step_impl, &svc, &cfg, pool);
}

} // namespace motia
