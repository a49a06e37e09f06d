#include "actors/step_actor.hpp"

#include <deque>
#include <random>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "adapters/process/worker_process.hpp"
#include "core/queue.hpp"
#include "core/log.hpp"
#include "runtime/gateway.hpp"
#include "runtime/invoke.hpp"
#include "runtime/native_context.hpp"
#include "runtime/runtime_env.hpp"

namespace motia {

namespace {

struct held_delivery {
  queued_event row;
  bool awaiting_commit = false; ///< succeeded; its emits are being committed
  bool awaiting_worker = false; ///< could not start: no live worker
};

// Worker results of deliveries come back to the step as messages.
class step_sink final : public process::result_sink {
public:
  explicit step_sink(caf::actor_addr self) : self_(std::move(self)) {}
  void on_result(std::uint64_t token, process::invocation_outcome&& out) override {
    if (auto a = caf::actor_cast<step_actor>(self_))
      caf::anon_send(a, invoked_atom::value,
                     invocation_done{token, out.ok ? std::move(out.value) : payload{}, error_of(out)});
  }

private:
  caf::actor_addr self_;
};

// Cron invocations of worker steps: only their failures matter (a log line).
class cron_sink final : public process::result_sink {
public:
  explicit cron_sink(const step_config& cfg) : cfg_(cfg) {}
  void on_result(std::uint64_t, process::invocation_outcome&& out) override {
    if (auto err = error_of(out))
      write_step_log("error", "cron handler failed", {{"error", describe(err)}}, "", cfg_);
  }

private:
  const step_config& cfg_;
};

struct step_state {
  std::shared_ptr<runtime_env> env;
  snapshot_ptr snap;
  const step_info* info = nullptr;
  step_metrics* metrics = nullptr;
  std::unordered_map<std::uint64_t, held_delivery> held;
  std::unique_ptr<delivery_scheduler> sched;
  std::shared_ptr<step_sink> sink;
  std::shared_ptr<cron_sink> crons;
  std::size_t cursor = 0; ///< round-robin over live workers
  bool draining = false;
  std::vector<caf::typed_response_promise<done_atom>> drains;
  bool pump_scheduled = false;
  /// api calls that found no live worker (it is restarting), oldest first:
  /// sent when one registers, or answered 503 after `park_limit`.
  std::deque<std::pair<std::chrono::steady_clock::time_point, api_call>> parked;
  std::mt19937_64 rng{std::random_device{}()};
  static inline const char* name = "motia.step";

  const step_config& cfg() const { return info->cfg; }
  bool native() const { return info->native != nullptr; }
};

using self_ptr = step_actor::stateful_pointer<step_state>;

std::chrono::milliseconds deadline_of(const step_state& st) {
  if (st.cfg().timeout.count() > 0)
    return st.cfg().timeout;
  auto& p = *st.snap->project;
  return st.cfg().kind == step_kind::api ? p.api_timeout : p.event_timeout;
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

call_context context_of(const step_state& st) { return {st.snap, st.info}; }

// -- api ------------------------------------------------------------------------

void answer(step_state& st, api_result r) { st.env->gw->complete(std::move(r)); }

// Commits a native handler's staged emits, then answers. Without emits it
// answers at once, except in strict mode: then an empty synced commit makes
// the handler's state writes durable first.
void commit_then_answer(step_state& st, std::vector<queued_event> staged, api_result r) {
  if (staged.empty() && !st.snap->project->durable_sync)
    return answer(st, std::move(r));
  queue_write w;
  w.enqueue = std::move(staged);
  w.done = [env = st.env, r = std::move(r)](std::vector<queued_event>&, const error& err) mutable {
    if (err) {
      r.value = payload{};
      r.error = make_error(errc::unavailable, "the emitted events could not be stored: " + describe(err));
    }
    env->gw->complete(std::move(r));
  };
  st.env->queue->submit(std::move(w));
}

void run_native_api(step_state& st, api_call& call) {
  std::vector<queued_event> staged;
  native_context ctx(*st.env, *st.snap, st.cfg(), call.trace_id, 1, {}, staged);
  api_request req(call.input);
  api_response resp;
  auto err = run_native([&] { resp = st.info->native->api(req, ctx); });
  api_result r;
  r.request = call.request;
  if (!err.empty()) {
    r.error = make_error(errc::handler_failed, err);
    r.overloaded = ctx.overloaded();
    return answer(st, std::move(r));
  }
  r.value = payload::from_json({{"status", resp.status}, {"headers", resp.headers}, {"body", resp.body}});
  commit_then_answer(st, std::move(staged), std::move(r));
}

// How long an api call waits for a worker that is being restarted, and how
// many may wait per step; past either it is answered 503 at once.
constexpr std::chrono::milliseconds park_limit{5000};
constexpr std::size_t max_parked = 1024;

void unavailable(step_state& st, std::uint64_t request) {
  answer(st, {request, {}, make_error(errc::unavailable, "no worker of this step is up"), false});
}

// Sends an api call to a worker; false when no worker is up.
bool invoke_api(step_state& st, api_call& call) {
  invoke_args a;
  a.step = st.cfg().name;
  a.kind = "api";
  a.input = std::move(call.input);
  a.trace_id = call.trace_id;
  a.flows = &st.cfg().flows;
  a.deadline = deadline_of(st);
  a.validate_body = call.validate_in_worker;
  // The worker's result goes to the gateway directly, not through this actor.
  auto code = invoke_worker(*st.env, st.cfg().language, st.cursor, a, st.env->gw, call.request,
                            context_of(st));
  if (code == errc::quarantined)
    answer(st, {call.request, {}, make_error(code, "this request killed its worker twice and is refused"), false});
  if (code != errc::unavailable)
    return true;
  call.input = std::move(a.input);
  return false;
}

void on_api(self_ptr self, api_call& call) {
  auto& st = self->state;
  if (st.draining)
    return answer(st, {call.request, {}, make_error(errc::unavailable, "the runtime is shutting down"), false});
  if (st.native())
    return run_native_api(st, call);
  if (!st.parked.empty() || !invoke_api(st, call)) {
    // No worker is up: wait for one, briefly (a restart takes a moment).
    if (st.parked.size() >= max_parked)
      return unavailable(st, call.request);
    if (st.parked.empty())
      self->delayed_send(self, park_limit, timeout_atom::value);
    st.parked.emplace_back(std::chrono::steady_clock::now(), std::move(call));
  }
}

// Sends what waits, in order, while workers take it.
void unpark(self_ptr self) {
  auto& st = self->state;
  while (!st.parked.empty() && invoke_api(st, st.parked.front().second))
    st.parked.pop_front();
}

// Answers 503 to calls that waited past the limit.
void expire_parked(self_ptr self) {
  auto& st = self->state;
  unpark(self);
  auto now = std::chrono::steady_clock::now();
  while (!st.parked.empty() && now - st.parked.front().first >= park_limit) {
    unavailable(st, st.parked.front().second.request);
    st.parked.pop_front();
  }
  if (!st.parked.empty())
    self->delayed_send(self, park_limit - (now - st.parked.front().first), timeout_atom::value);
}

// -- deliveries -------------------------------------------------------------------

void pump(self_ptr self);

void check_drained(self_ptr self) {
  auto& st = self->state;
  if (!st.draining || st.sched->running() > 0)
    return;
  for (auto& h : st.held)
    if (h.second.awaiting_commit)
      return;
  for (auto& rp : st.drains)
    rp.deliver(done_atom::value);
  st.drains.clear();
}

void report(step_state& st, delivery_outcome o) {
  auto p = st.env->partitions.get({o.row.step, o.row.shard});
  if (p)
    caf::anon_send(p, std::move(o));
  else // its partition is restarting: the row stays queued and comes again
    log::warn("a delivery's partition is not running; its outcome is dropped and it runs again",
              {{"step", o.row.step}, {"shard", o.row.shard}, {"seq", o.row.seq}});
}

void bury(step_state& st, queued_event row, const std::string& why, bool invalid) {
  row.last_error = why;
  row.failed_at_ms = unix_ms_now();
  write_step_log("error", invalid ? "event input is invalid; dead-lettered"
                                  : "event handler failed after its last attempt; dead-lettered",
                 {{"error", why}, {"attempts", row.attempts}, {"topic", row.topic},
                  {"messageId", row.message_id}, {"deadLetterId", std::to_string(row.seq)}},
                 row.trace_id, st.cfg());
  ++st.metrics->dead_lettered;
  if (invalid)
    ++st.metrics->invalid_input;
  report(st, {outcome::bury, std::move(row), {}, false});
}

// The delivery is over for good here: forget it.
void release(self_ptr self, std::uint64_t seq) {
  auto& st = self->state;
  auto it = st.held.find(seq);
  if (it == st.held.end())
    return;
  st.sched->finished(it->second.row.message_group_id);
  st.held.erase(it);
  pump(self);
  check_drained(self);
}

double unit_draw(step_state& st) { return std::uniform_real_distribution<double>(0.0, 1.0)(st.rng); }

// A failed attempt. `running`: the delivery still holds its scheduler slot;
// otherwise (its commit failed) the slot is free and only its FIFO group is
// taken again. The attempt count reaches the store before the retry waits.
void fail_attempt(self_ptr self, std::uint64_t seq, const std::string& why, bool running) {
  auto& st = self->state;
  auto& h = st.held.at(seq);
  auto& row = h.row;
  h.awaiting_commit = false;
  ++row.attempts;
  row.last_error = why;
  if (row.attempts > st.cfg().queue.max_retries) {
    bury(st, row, why, false);
    if (running)
      return release(self, seq);
    st.held.erase(seq);
    pump(self);
    return check_drained(self);
  }
  auto delay = retry_delay(st.cfg().queue, row.attempts, unit_draw(st));
  row.retry_at_ms = unix_ms_now() + delay.count();
  ++st.metrics->retried;
  write_step_log("warn", "event handler failed, retrying",
                 {{"error", why}, {"attempt", row.attempts}, {"retryInMs", delay.count()},
                  {"topic", row.topic}, {"messageId", row.message_id}},
                 row.trace_id, st.cfg());
  report(st, {outcome::retry, row, {}, false});
  if (running)
    st.sched->retry_wait(row.message_group_id);
  else
    st.sched->claim(row.message_group_id);
  // The wait is measured on the actor clock (monotonic): moving the wall
  // clock does not stall or rush it.
  self->delayed_send(self, delay, retry_atom::value, seq);
  pump(self);
  check_drained(self);
}

void finish(self_ptr self, std::uint64_t seq, const caf::error& err, std::vector<queued_event> staged) {
  auto& st = self->state;
  --st.env->running;
  auto it = st.held.find(seq);
  if (it == st.held.end())
    return;
  if (err)
    return fail_attempt(self, seq, describe(err), true);
  ++st.metrics->succeeded;
  auto& h = it->second;
  if (staged.empty()) {
    report(st, {outcome::ack, h.row, {}, false});
    return release(self, seq);
  }
  // The emits and the ack commit together. The slot (and a FIFO group) is
  // free at once: a partition writes in order, so the next delivery's emits
  // cannot overtake these. The delivery stays held until they landed.
  h.awaiting_commit = true;
  report(st, {outcome::ack, h.row, std::move(staged), true});
  st.sched->finished(h.row.message_group_id);
  pump(self);
}

void start(self_ptr self, std::uint64_t seq) {
  auto& st = self->state;
  auto& h = st.held.at(seq);
  ++st.metrics->started;
  ++st.env->running;
  if (st.native()) {
    std::vector<queued_event> staged;
    native_context ctx(*st.env, *st.snap, st.cfg(), h.row.trace_id, h.row.attempts + 1, h.row.message_id, staged);
    json input = h.row.data.to_json();
    auto err = run_native([&] { st.info->native->event(input, ctx); });
    return finish(self, seq, err.empty() ? caf::error{} : make_error(errc::handler_failed, err), std::move(staged));
  }
  invoke_args a;
  a.step = st.cfg().name;
  a.kind = "event";
  a.input = h.row.data;
  a.trace_id = h.row.trace_id;
  a.attempt = h.row.attempts + 1;
  a.message_id = h.row.message_id;
  a.flows = &st.cfg().flows;
  a.deadline = deadline_of(st);
  auto code = invoke_worker(*st.env, st.cfg().language, st.cursor, a, st.sink, seq, context_of(st));
  if (code == errc::none)
    return;
  --st.env->running;
  --st.metrics->started;
  if (code == errc::quarantined) {
    bury(st, h.row, "quarantined: this event killed its worker twice", false);
    return release(self, seq);
  }
  // No worker is up: not the handler's failure, no attempt spent. It waits
  // (its FIFO group stays blocked) until a worker registers.
  h.awaiting_worker = true;
  st.sched->retry_wait(h.row.message_group_id);
}

void pump(self_ptr self) {
  auto& st = self->state;
  if (st.native()) {
    // Native handlers run inline: a batch per message, then yield to the
    // mailbox (drain, api calls, deliveries) instead of recursing through the
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

void run_native_batch(self_ptr self) {
  auto& st = self->state;
  st.pump_scheduled = false;
  for (int i = 0; i < 16 && !st.draining; ++i)
    if (auto seq = st.sched->next())
      start(self, *seq);
    else
      break;
  pump(self);
}

// The longest a stored retry may still wait: its backoff with the largest
// jitter. A retry time further out means the wall clock went back.
std::chrono::milliseconds max_wait(const step_state& st, unsigned attempts) {
  return retry_delay(st.cfg().queue, attempts, 1.0);
}

void accept(self_ptr self, queued_event row) {
  auto& st = self->state;
  if (st.held.count(row.seq) != 0)
    return; // a partition that restarted delivers again what this step holds
  if (st.info->input_schema) {
    std::vector<std::string> problems;
    if (!st.info->input_schema->validate(row.data.to_json(), problems)) {
      std::string why = "input does not match the step's input schema: ";
      for (std::size_t i = 0; i < problems.size(); ++i)
        why += (i ? "; " : "") + problems[i];
      return bury(st, std::move(row), why, true);
    }
  }
  auto seq = row.seq;
  auto group = row.message_group_id;
  auto wait = std::chrono::milliseconds(row.retry_at_ms - unix_ms_now());
  if (row.retry_at_ms != 0 && wait.count() > 0)
    wait = std::min(wait, max_wait(st, std::max(row.attempts, 1u)));
  st.held.emplace(seq, held_delivery{std::move(row)});
  if (wait.count() > 0) { // a retry still pending when it was read from the store
    st.sched->claim(group);
    self->delayed_send(self, wait, retry_atom::value, seq);
  } else {
    st.sched->push(seq, group);
  }
}

void on_deliver(self_ptr self, delivery_batch& batch) {
  for (auto& row : batch.rows)
    accept(self, std::move(row));
  pump(self);
}

void on_invoked(self_ptr self, invocation_done& d) { finish(self, d.token, d.error, {}); }

void on_committed(self_ptr self, const commit_report& r) {
  auto& st = self->state;
  auto it = st.held.find(r.seq);
  if (it == st.held.end())
    return;
  if (!r.error) {
    st.held.erase(it);
    pump(self);
    return check_drained(self);
  }
  // Nothing of the handler's result was stored: it counts as a failed attempt.
  fail_attempt(self, r.seq, "events could not be stored: " + describe(r.error), false);
}

void on_workers(self_ptr self) {
  auto& st = self->state;
  unpark(self);
  for (auto& [seq, h] : st.held)
    if (h.awaiting_worker) {
      h.awaiting_worker = false;
      st.sched->retry_ready(seq);
    }
  pump(self);
}

// -- cron -----------------------------------------------------------------------

void on_cron(self_ptr self, const cron_tick& tick) {
  auto& st = self->state;
  if (st.draining)
    return;
  if (st.native()) {
    std::vector<queued_event> staged;
    native_context ctx(*st.env, *st.snap, st.cfg(), tick.trace_id, 1, {}, staged);
    auto err = run_native([&] { st.info->native->cron(ctx); });
    if (!err.empty())
      return write_step_log("error", "cron handler failed", {{"error", err}}, tick.trace_id, st.cfg());
    if (staged.empty())
      return;
    queue_write w;
    w.enqueue = std::move(staged);
    w.done = [info = st.info, snap = st.snap, trace = tick.trace_id](std::vector<queued_event>&, const error& e) {
      if (e)
        write_step_log("error", "cron handler's events could not be stored", {{"error", describe(e)}}, trace,
                       info->cfg);
    };
    return st.env->queue->submit(std::move(w));
  }
  invoke_args a;
  a.step = st.cfg().name;
  a.kind = "cron";
  a.trace_id = tick.trace_id;
  a.flows = &st.cfg().flows;
  a.deadline = deadline_of(st);
  if (invoke_worker(*st.env, st.cfg().language, st.cursor, a, st.crons, 0, context_of(st)) != errc::none)
    write_step_log("error", "cron tick skipped: no worker of this step is up", {}, tick.trace_id, st.cfg());
}

step_actor::behavior_type step_impl(self_ptr self, std::shared_ptr<runtime_env> env, snapshot_ptr snap,
                                    const step_info* info) {
  auto& st = self->state;
  st.env = std::move(env);
  st.snap = std::move(snap);
  st.info = info;
  st.metrics = &st.env->metrics.of(info->cfg.name);
  st.sched = std::make_unique<delivery_scheduler>(info->cfg.queue.concurrency, info->cfg.queue.fifo);
  st.sink = std::make_shared<step_sink>(self->address());
  st.crons = std::make_shared<cron_sink>(info->cfg);
  self->set_default_handler([env = st.env](caf::scheduled_actor*, caf::message_view& m) -> caf::result<caf::message> {
    log_unexpected(*env, "step", caf::to_string(m.content()));
    return caf::sec::unexpected_message;
  });
  if (!st.native() && info->cfg.kind != step_kind::noop)
    st.env->workers.subscribe(info->cfg.language, self);
  self->attach_functor([env = st.env, me = step_actor{self}] { env->workers.unsubscribe(me); });
  if (info->cfg.kind == step_kind::event)
    // Every partition delivers what is pending, also what a predecessor held.
    for (std::uint16_t shard = 0; shard < info->shards; ++shard)
      if (auto p = st.env->partitions.get({info->cfg.name, shard}))
        self->send(p, ready_atom::value);
  return {
    [self](api_call& call) { on_api(self, call); },
    [self](deliver_atom, const partition_actor&, delivery_batch& batch) { on_deliver(self, batch); },
    [self](invoked_atom, invocation_done& d) { on_invoked(self, d); },
    [self](committed_atom, const commit_report& r) { on_committed(self, r); },
    [self](retry_atom, std::uint64_t seq) {
      auto& st = self->state;
      if (st.held.count(seq) == 0)
        return;
      st.sched->retry_ready(seq);
      pump(self);
    },
    [self](pump_atom) { run_native_batch(self); },
    [self](workers_atom) { on_workers(self); },
    [self](timeout_atom) { expire_parked(self); },
    [self](const cron_tick& tick) { on_cron(self, tick); },
    [](ready_atom) { return true; },
    [self](drain_atom) -> caf::typed_response_promise<done_atom> {
      auto& st = self->state;
      st.draining = true;
      for (auto& [since, call] : st.parked)
        answer(st, {call.request, {}, make_error(errc::unavailable, "the runtime is shutting down"), false});
      st.parked.clear();
      auto rp = self->make_response_promise<done_atom>();
      st.drains.push_back(rp);
      check_drained(self);
      return rp;
    },
  };
}

} // namespace

step_actor spawn_step_actor(caf::actor_system& sys, std::shared_ptr<runtime_env> env, snapshot_ptr snap,
                            const step_info* info) {
  return sys.spawn(step_impl, std::move(env), std::move(snap), info);
}

} // namespace motia
