#include <csignal>
#include <deque>
#include <unordered_map>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/error.hpp"
#include "actors/messages.hpp"
#include "actors/native_context.hpp"
#include "actors/services.hpp"
#include "actors/streams.hpp"
#include "actors/worker.hpp"
#include "adapters/process/io_runtime.hpp"
#include "adapters/process/worker_process.hpp"
#include "adapters/rocksdb/queue_store.hpp"
#include "bindings/protocol/frame.hpp"
#include "core/log.hpp"

namespace motia {

namespace {

using clock = std::chrono::steady_clock;

struct in_flight {
  caf::response_promise rp;
  const step_config* cfg = nullptr;
  std::string trace_id;
  clock::time_point deadline = clock::time_point::max();
};

// How often deadlines are checked: a handler is cut at most this much late.
constexpr std::chrono::milliseconds sweep_interval{100};

struct proxy_state {
  runtime_services* svc = nullptr;
  worker_spec spec;
  actor_slot* pool = nullptr;
  std::shared_ptr<process::worker_process> proc;
  bool ready = false;
  std::uint64_t next_id = 0;
  std::unordered_map<std::uint64_t, in_flight> pending;
  std::deque<std::pair<invocation, caf::response_promise>> queued;
  bool sweeping = false; ///< a deadline sweep is scheduled
  std::uint64_t ping_id = 0;
  clock::time_point last_pong = clock::now();
  static inline const char* name = "motia.worker_proxy";
};

using proxy_actor = caf::stateful_actor<proxy_state>;

json log_fields(const proxy_state& st) {
  return {{"component", "worker"}, {"lang", st.spec.lang}, {"worker", st.spec.index},
          {"pid", st.proc ? st.proc->pid() : 0}};
}

void send_frame(proxy_actor* self, const json& msg) {
  if (self->state.proc)
    self->state.proc->send(protocol::encode(msg));
}

// The process is gone or unusable: fail everything so callers can retry, then
// exit so the supervisor restarts us with a fresh process.
void die(proxy_actor* self, const std::string& reason) {
  auto& st = self->state;
  auto f = log_fields(st);
  f["reason"] = reason;
  f["inFlight"] = st.pending.size();
  log::error("worker lost", f);
  for (auto& [id, p] : st.pending)
    p.rp.deliver(make_error(errc::worker_died, reason));
  st.pending.clear();
  for (auto& q : st.queued)
    q.second.deliver(make_error(errc::worker_died, reason));
  st.queued.clear();
  self->quit(make_error(errc::worker_died, reason));
}

void pump(proxy_actor* self);

void dispatch(proxy_actor* self, invocation& inv, caf::response_promise rp) {
  auto& st = self->state;
  auto id = ++st.next_id;
  auto cfg_it = st.svc->steps.find(inv.step);
  bool special = !inv.special.empty();
  json frame = {{"t", "invoke"},      {"id", id},
                {"step", inv.step},   {"kind", special ? std::string_view(inv.special) : to_string(inv.kind)},
                {"input", inv.input}, {"traceId", inv.trace_id},
                {"attempt", inv.attempt}, {"messageId", inv.message_id},
                {"flows", inv.flows}, {"deadlineMs", inv.deadline.count()}};
  if (!st.proc->send(protocol::encode(frame))) {
    rp.deliver(make_error(errc::unavailable, "worker connection is closed or its queue is full"));
    return;
  }
  auto deadline = inv.deadline.count() > 0 ? clock::now() + inv.deadline : clock::time_point::max();
  st.pending.emplace(id, in_flight{std::move(rp),
                                   special || cfg_it == st.svc->steps.end() ? nullptr : &cfg_it->second,
                                   inv.trace_id, deadline});
  // One timer per proxy, not per invocation: per-invocation timers stay in
  // CAF's clock until they fire, which under load is memory and CPU for nothing.
  if (!st.sweeping) {
    st.sweeping = true;
    self->delayed_send(self, sweep_interval, timeout_atom::value, std::uint64_t{1});
  }
}

// Fails the invocations past their deadline; keeps sweeping while any is pending.
void sweep_deadlines(proxy_actor* self) {
  auto& st = self->state;
  auto now = clock::now();
  for (auto it = st.pending.begin(); it != st.pending.end();) {
    if (it->second.deadline <= now) {
      it->second.rp.deliver(make_error(errc::handler_timeout, "handler did not finish before its deadline"));
      it = st.pending.erase(it);
    } else {
      ++it;
    }
  }
  st.sweeping = !st.pending.empty();
  if (st.sweeping)
    self->delayed_send(self, sweep_interval, timeout_atom::value, std::uint64_t{1});
  pump(self);
}

void pump(proxy_actor* self) {
  auto& st = self->state;
  while (st.ready && !st.queued.empty() && st.pending.size() < st.spec.settings.window) {
    auto [inv, rp] = std::move(st.queued.front());
    st.queued.pop_front();
    dispatch(self, inv, std::move(rp));
  }
}

void on_result(proxy_actor* self, json& msg) {
  auto& st = self->state;
  auto it = st.pending.find(msg.value("id", std::uint64_t{0}));
  if (it == st.pending.end())
    return; // timed out already
  auto p = std::move(it->second);
  st.pending.erase(it);
  if (msg.value("ok", false)) {
    p.rp.deliver(invocation_result{std::move(msg["value"])});
  } else {
    auto& e = msg["error"];
    // The worker refused without running the handler: not the handler's failure.
    auto code = e.is_object() ? e.value("code", std::string{}) : std::string{};
    if (code == "draining" || code == "unknown_step") {
      p.rp.deliver(make_error(errc::unavailable, "worker refused the invocation: " + code));
      pump(self);
      return;
    }
    std::string text = e.is_object() ? e.value("message", std::string{"handler failed"}) : "handler failed";
    if (e.is_object() && e.contains("stack") && e["stack"].is_string())
      text += "\n" + e["stack"].get<std::string>();
    p.rp.deliver(make_error(errc::handler_failed, text));
  }
  pump(self);
}

// An update op that does not fit the stored value (answered `bad_update`).
struct bad_update : step_error {
  using step_error::step_error;
};

json state_call(state_store& store, const std::string& op, const json& args) {
  auto group = args.value("group", std::string{});
  auto key = args.value("key", std::string{});
  if (group.empty())
    throw step_error("state calls need a non-empty 'group'");
  if (op == "state.get") {
    auto v = store.get(group, key);
    return v ? *v : json(nullptr);
  }
  if (op == "state.set") {
    if (!args.contains("value") || args["value"].is_null())
      throw step_error("state.set needs a non-null 'value' (use state.delete to remove)");
    auto ch = store.set(group, key, args["value"]);
    return {{"old_value", ch.old_value}, {"new_value", ch.new_value}};
  }
  if (op == "state.delete") {
    auto v = store.del(group, key);
    return v ? *v : json(nullptr);
  }
  if (op == "state.getGroup")
    return store.get_group(group);
  if (op == "state.update") {
    try {
      auto ch = store.update(group, key, args.contains("ops") ? args["ops"] : json());
      return {{"old_value", ch.old_value}, {"new_value", ch.new_value}};
    } catch (const std::invalid_argument& e) {
      throw bad_update(e.what());
    }
  }
  if (op == "state.clear") {
    store.clear(group);
    return nullptr;
  }
  throw step_error("unknown op '" + op + "'");
}

void on_call(proxy_actor* self, json& msg) {
  auto& st = self->state;
  auto id = msg.value("id", std::uint64_t{0});
  auto reply_error = [&](std::string_view code, const std::string& message) {
    send_frame(self, {{"t", "reply"}, {"id", id}, {"ok", false},
                      {"error", {{"code", code}, {"message", message}}}});
  };
  auto inv = st.pending.find(msg.value("inv", std::uint64_t{0}));
  if (inv == st.pending.end() || !inv->second.cfg)
    return reply_error("unavailable", "the invocation this call belongs to has finished");
  auto op = msg.value("op", std::string{});
  auto& args = msg["args"];
  if (!args.is_object())
    return reply_error("bad_input", "call 'args' must be a map");
  if (op == "emit") {
    auto topic = args.value("topic", std::string{});
    auto group = args.value("messageGroupId", std::string{});
    std::vector<queued_event> entries;
    auto err = emit_from_step(*st.svc, *inv->second.cfg, topic, std::move(args["data"]), group,
                              inv->second.trace_id, entries);
    if (!err.empty())
      return reply_error(topic.empty() ? "bad_input" : "undeclared_emit", err);
    if (entries.empty())
      return send_frame(self, {{"t", "reply"}, {"id", id}, {"ok", true}, {"value", nullptr}});
    // The worker's `await emit` resolves once the deliveries are in the WAL.
    rocks::queue_write w;
    w.enqueue = std::move(entries);
    auto me = caf::actor_cast<caf::actor>(self);
    st.svc->topics->commit(std::move(w), [me, id](const std::string& e) {
      caf::anon_send(me, emitted_atom::value, id, e);
    });
    return;
  }
  if (op.rfind("stream.", 0) == 0) {
    try {
      auto value = stream_call(*st.svc->streams, op, args);
      return send_frame(self, {{"t", "reply"}, {"id", id}, {"ok", true}, {"value", std::move(value)}});
    } catch (const unknown_stream& e) {
      return reply_error("unknown_stream", e.what());
    } catch (const std::invalid_argument& e) {
      return reply_error("bad_input", e.what());
    } catch (const std::exception& e) {
      return reply_error("storage_error", e.what());
    }
  }
  try {
    auto value = state_call(*st.svc->state, op, args);
    send_frame(self, {{"t", "reply"}, {"id", id}, {"ok", true}, {"value", std::move(value)}});
  } catch (const bad_update& e) {
    reply_error("bad_update", e.what());
  } catch (const step_error& e) {
    reply_error("bad_input", e.what());
  } catch (const std::exception& e) {
    reply_error("storage_error", e.what());
  }
}

void on_log(proxy_actor* self, json& msg) {
  auto& st = self->state;
  auto level = msg.value("level", std::string{"info"});
  auto text = msg.value("msg", std::string{});
  json fields = msg.contains("fields") && msg["fields"].is_object() ? msg["fields"] : json::object();
  auto inv = st.pending.find(msg.value("inv", std::uint64_t{0}));
  if (inv != st.pending.end() && inv->second.cfg)
    return write_step_log(level, text, fields, inv->second.trace_id, *inv->second.cfg);
  auto worker = log_fields(st); // items() of a temporary would dangle in the loop
  for (auto& [k, v] : worker.items())
    fields[k] = v;
  log::write(log::parse_level(level), text, fields);
}

void on_register(proxy_actor* self, json& msg) {
  auto& st = self->state;
  st.ready = true;
  worker_registration reg{msg.value("steps", json::array()), msg.value("errors", json::array()),
                          msg.value("streams", json::array()), msg.value("auth", false)};
  if (auto pool = st.pool->get())
    self->send(pool, worker_up_atom::value, caf::actor_cast<caf::actor>(self), std::move(reg));
  auto f = log_fields(st);
  f["steps"] = msg.value("steps", json::array()).size();
  log::debug("worker ready", f);
  self->delayed_send(self, st.spec.settings.heartbeat_interval, ping_atom::value);
  pump(self);
}

void send_init(proxy_actor* self) {
  auto& st = self->state;
  json init = {{"t", "init"}, {"root", st.svc->project->root.string()}, {"files", st.spec.files}};
  if (!st.spec.stream_files.empty())
    init["streamFiles"] = st.spec.stream_files;
  // Names of other languages' streams are known once every worker registered:
  // a restarted worker gets them all, a first one the native ones.
  auto names = std::atomic_load(&st.svc->stream_names);
  init["streams"] = names ? json(*names) : json::array();
  if (!st.spec.auth_file.empty())
    init["auth"] = st.spec.auth_file;
  send_frame(self, init);
}

void on_frame(proxy_actor* self, const std::string& bytes) {
  auto& st = self->state;
  std::string err;
  auto msg = protocol::decode(bytes, err);
  if (!msg)
    return die(self, "protocol error: " + err);
  auto t = (*msg)["t"].get<std::string>();
  if (t == "result")
    on_result(self, *msg);
  else if (t == "call")
    on_call(self, *msg);
  else if (t == "log")
    on_log(self, *msg);
  else if (t == "pong")
    st.last_pong = clock::now();
  else if (t == "hello" && !st.ready)
    send_init(self);
  else if (t == "register" && !st.ready)
    on_register(self, *msg);
  else if (t == "bye")
    return;
  else
    die(self, "protocol error: unexpected message type '" + t + "'");
}

void start_process(proxy_actor* self, io::io_runtime& io) {
  auto& st = self->state;
  process::spawn_options opts;
  opts.argv = st.spec.argv;
  opts.cwd = st.svc->project->root.string();
  opts.max_frame = st.svc->project->max_frame;
  opts.env["MOTIA_PROJECT_ROOT"] = st.svc->project->root.string();
  opts.env["MOTIA_WORKER_MAX_FRAME"] = std::to_string(st.svc->project->max_frame);
  auto weak = self->address();
  auto to_self = [weak](auto&&... xs) {
    if (auto a = caf::actor_cast<caf::actor>(weak))
      caf::anon_send(a, std::forward<decltype(xs)>(xs)...);
  };
  process::connection_callbacks cbs;
  cbs.on_frame = [to_self](std::string&& f) { to_self(frame_atom::value, std::move(f)); };
  cbs.on_close = [to_self](const std::string& r) { to_self(closed_atom::value, r); };
  cbs.on_exit = [to_self](int code, int sig) { to_self(exited_atom::value, code, sig); };
  std::string err;
  st.proc = process::spawn(io, opts, std::move(cbs), err);
  if (!st.proc)
    return die(self, "cannot start worker: " + err);
  self->attach_functor([proc = st.proc] {
    proc->close();
    proc->kill(SIGTERM);
  });
  self->delayed_send(self, st.spec.settings.start_timeout, timeout_atom::value, std::uint64_t{0});
}

caf::behavior proxy_impl(proxy_actor* self, runtime_services* svc, io::io_runtime* io,
                         worker_spec spec, actor_slot* pool) {
  auto& st = self->state;
  st.svc = svc;
  st.spec = std::move(spec);
  st.pool = pool;
  self->set_default_handler(caf::drop);
  start_process(self, *io);
  return {
    [self](invoke_atom, invocation& inv) {
      auto rp = self->make_response_promise();
      self->state.queued.emplace_back(std::move(inv), rp);
      pump(self);
      return rp;
    },
    [self](frame_atom, const std::string& bytes) { on_frame(self, bytes); },
    [self](emitted_atom, std::uint64_t call_id, const std::string& err) {
      if (err.empty())
        return send_frame(self, {{"t", "reply"}, {"id", call_id}, {"ok", true}, {"value", nullptr}});
      send_frame(self, {{"t", "reply"}, {"id", call_id}, {"ok", false},
                        {"error", {{"code", "storage_error"}, {"message", err}}}});
    },
    [self](closed_atom, const std::string& reason) { die(self, "connection closed: " + reason); },
    [self](exited_atom, int code, int sig) {
      die(self, sig ? fmt::format("process killed by signal {}", sig)
                    : fmt::format("process exited with code {}", code));
    },
    [self](timeout_atom, std::uint64_t what) {
      auto& st = self->state;
      if (what == 1)
        return sweep_deadlines(self);
      if (!st.ready) // what == 0: the start-up deadline
        die(self, fmt::format("worker did not register within {} ms",
                              st.spec.settings.start_timeout.count()));
    },
    [self](ping_atom) {
      auto& st = self->state;
      auto silent = clock::now() - st.last_pong;
      if (silent > st.spec.settings.heartbeat_timeout) {
        st.proc->kill(SIGKILL);
        return die(self, fmt::format("worker missed its heartbeats for {} ms",
                                     std::chrono::duration_cast<std::chrono::milliseconds>(silent).count()));
      }
      send_frame(self, {{"t", "ping"}, {"id", ++st.ping_id}});
      self->delayed_send(self, st.spec.settings.heartbeat_interval, ping_atom::value);
    },
  };
}

} // namespace

caf::actor spawn_worker_proxy(caf::actor_system& sys, runtime_services& svc, io::io_runtime& io,
                              worker_spec spec, actor_slot* pool) {
  return sys.spawn(proxy_impl, &svc, &io, std::move(spec), pool);
}

} // namespace motia
