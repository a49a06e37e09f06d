#include <csignal>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>

#include "actors/worker.hpp"
#include "adapters/process/io_runtime.hpp"
#include "adapters/process/worker_process.hpp"
#include "core/log.hpp"
#include "core/msgpack_writer.hpp"
#include "runtime/runtime_env.hpp"
#include "runtime/worker_calls.hpp"

namespace motia {

namespace {

using clock = std::chrono::steady_clock;

struct proxy_state {
  std::shared_ptr<runtime_env> env;
  worker_spec spec;
  std::shared_ptr<process::worker_process> proc;
  bool ready = false;
  bool published = false;
  std::uint64_t ping_id = 0;
  clock::time_point last_pong = clock::now();
  std::vector<caf::typed_response_promise<done_atom>> drains;
  static inline const char* name = "motia.worker_proxy";
};

using self_ptr = worker_actor::stateful_pointer<proxy_state>;

json log_fields(const proxy_state& st) {
  return {{"component", "worker"}, {"lang", to_string(st.spec.language)}, {"worker", st.spec.index},
          {"pid", st.proc ? st.proc->pid() : 0}};
}

void send_frame(proxy_state& st, const json& msg) {
  if (st.proc)
    st.proc->send_framed(std::move(msgpack_writer::frame().raw(payload::from_json(msg))).finish());
}

void withdraw(proxy_state& st) {
  if (st.published)
    st.env->workers.withdraw(st.spec.language, st.proc.get());
  st.published = false;
}

// The process is gone or unusable: its connection already failed what was
// in flight; exit so the supervisor restarts us with a fresh process.
void die(self_ptr self, const std::string& reason) {
  auto& st = self->state;
  auto f = log_fields(st);
  f["reason"] = reason;
  log::error("worker lost", f);
  withdraw(st);
  if (!st.ready)
    st.env->registrations.fail(st.spec.language, reason);
  if (st.proc)
    st.proc->close();
  for (auto& rp : st.drains)
    rp.deliver(done_atom::value);
  st.drains.clear();
  self->quit(make_error(errc::worker_died, reason));
}

void send_init(proxy_state& st) {
  json init = {{"t", "init"}, {"root", st.spec.root}, {"files", st.spec.files}};
  if (!st.spec.stream_files.empty())
    init["streamFiles"] = st.spec.stream_files;
  // Names of other languages' streams are known once a snapshot exists: a
  // restarted worker gets them all, a first one its own.
  auto snap = st.env->snapshot.current();
  init["streams"] = snap ? json(snap->stream_names()) : json::array();
  if (!st.spec.auth_file.empty())
    init["auth"] = st.spec.auth_file;
  send_frame(st, init);
}

void on_register(self_ptr self, const json& msg) {
  auto& st = self->state;
  st.ready = true;
  worker_registration reg;
  reg.language = st.spec.language;
  reg.steps = msg.value("steps", json::array());
  reg.errors = msg.value("errors", json::array());
  reg.streams = msg.value("streams", json::array());
  reg.auth = msg.value("auth", false);
  st.env->registrations.offer(std::move(reg));
  st.env->workers.publish(st.spec.language, st.proc);
  st.published = true;
  auto f = log_fields(st);
  f["steps"] = msg.value("steps", json::array()).size();
  log::debug("worker ready", f);
  self->delayed_send(self, st.spec.settings.heartbeat_interval, ping_atom::value);
}

void on_frame(self_ptr self, const payload& frame) {
  auto& st = self->state;
  json msg;
  try {
    msg = frame.to_json();
  } catch (const std::exception& e) {
    return die(self, std::string("protocol error: ") + e.what());
  }
  if (!msg.is_object() || !msg.contains("t") || !msg["t"].is_string())
    return die(self, "protocol error: a frame is not a map with a string 't'");
  auto t = msg["t"].get<std::string>();
  if (t == "pong")
    st.last_pong = clock::now();
  else if (t == "hello" && !st.ready)
    send_init(st);
  else if (t == "register" && !st.ready)
    on_register(self, msg);
  else if (t == "bye")
    withdraw(st); // it drains: no new invocations; it exits when done
  else
    die(self, "protocol error: unexpected message type '" + t + "'");
}

void start_process(self_ptr self, io::io_runtime& io) {
  auto& st = self->state;
  process::spawn_options opts;
  opts.argv = st.spec.argv;
  opts.cwd = st.spec.root;
  opts.max_frame = st.spec.max_frame;
  opts.window = st.spec.settings.window;
  opts.env["MOTIA_PROJECT_ROOT"] = st.spec.root;
  opts.env["MOTIA_WORKER_MAX_FRAME"] = std::to_string(st.spec.max_frame);
  auto weak = self->address();
  auto env = st.env;
  // The connection exists before the process can send anything, but its
  // callbacks may run before `proc` is set here: they look it up through this.
  auto conn = std::make_shared<std::weak_ptr<process::worker_process>>();
  process::connection_callbacks cbs;
  cbs.on_frame = [env, conn, weak](payload&& f) {
    auto c = conn->lock();
    if (c && serve_worker_frame(env, c, f))
      return;
    if (auto a = caf::actor_cast<worker_actor>(weak))
      caf::anon_send(a, frame_atom::value, std::move(f));
  };
  cbs.on_close = [env, weak](const std::string& r, std::vector<process::lost_invocation>&& lost) {
    for (auto& l : lost)
      env->quarantine.record(l.step, l.input);
    if (auto a = caf::actor_cast<worker_actor>(weak))
      caf::anon_send(a, closed_atom::value, r);
  };
  cbs.on_exit = [weak](int code, int sig) {
    if (auto a = caf::actor_cast<worker_actor>(weak))
      caf::anon_send(a, exited_atom::value, code, sig);
  };
  std::string err;
  st.proc = process::spawn(io, opts, std::move(cbs), err);
  if (!st.proc)
    return die(self, "cannot start worker: " + err);
  *conn = st.proc;
  self->attach_functor([proc = st.proc] {
    proc->close();
    proc->kill(SIGTERM);
  });
  self->delayed_send(self, st.spec.settings.start_timeout, timeout_atom::value);
}

worker_actor::behavior_type proxy_impl(self_ptr self, std::shared_ptr<runtime_env> env, io::io_runtime* io,
                                       worker_spec spec) {
  auto& st = self->state;
  st.env = std::move(env);
  st.spec = std::move(spec);
  self->set_default_handler([env = st.env](caf::scheduled_actor*, caf::message_view& m) -> caf::result<caf::message> {
    log_unexpected(*env, "worker", caf::to_string(m.content()));
    return caf::sec::unexpected_message;
  });
  self->attach_functor([self] { withdraw(self->state); });
  start_process(self, *io);
  return {
    [self](frame_atom, const payload& f) { on_frame(self, f); },
    [self](closed_atom, const std::string& reason) { die(self, "connection closed: " + reason); },
    [self](exited_atom, int code, int sig) {
      die(self, sig ? fmt::format("process killed by signal {}", sig)
                    : fmt::format("process exited with code {}", code));
    },
    [self](timeout_atom) {
      auto& st = self->state;
      if (!st.ready)
        die(self, fmt::format("worker did not register within {} ms", st.spec.settings.start_timeout.count()));
    },
    [self](ping_atom) {
      auto& st = self->state;
      auto silent = clock::now() - st.last_pong;
      if (silent > st.spec.settings.heartbeat_timeout) {
        st.proc->kill(SIGKILL);
        return die(self, fmt::format("worker missed its heartbeats for {} ms",
                                     std::chrono::duration_cast<std::chrono::milliseconds>(silent).count()));
      }
      send_frame(st, {{"t", "ping"}, {"id", ++st.ping_id}});
      self->delayed_send(self, st.spec.settings.heartbeat_interval, ping_atom::value);
    },
    [self](drain_atom) -> caf::typed_response_promise<done_atom> {
      auto& st = self->state;
      auto rp = self->make_response_promise<done_atom>();
      withdraw(st);
      st.drains.push_back(rp);
      send_frame(st, {{"t", "drain"}});
      return rp;
    },
  };
}

} // namespace

worker_actor spawn_worker_proxy(caf::actor_system& sys, std::shared_ptr<runtime_env> env, io::io_runtime& io,
                                worker_spec spec) {
  return sys.spawn(proxy_impl, std::move(env), &io, std::move(spec));
}

} // namespace motia
