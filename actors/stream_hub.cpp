#include "actors/stream_hub.hpp"

#include <unordered_map>
#include <unordered_set>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>

#include "adapters/process/worker_process.hpp"
#include "adapters/rocksdb/stream_store.hpp"
#include "core/log.hpp"
#include "runtime/invoke.hpp"
#include "runtime/runtime_env.hpp"
#include "runtime/streams.hpp"
#include "runtime/ws_bridge.hpp"

namespace motia {

namespace {

using text_ptr = std::shared_ptr<const std::string>;

std::string room_of(const std::string& stream, const std::string& group, const std::string& id) {
  std::string r;
  r.reserve(stream.size() + group.size() + id.size() + 2);
  r.append(stream).push_back('\0');
  r.append(group);
  if (!id.empty())
    r.append(1, '\0').append(id);
  return r;
}

struct connection {
  http::ws_connection_ptr conn;
  json auth = nullptr;
  std::unordered_map<std::string, std::string> subs; ///< subscriptionId -> room
  std::unordered_set<std::string> pending;           ///< joins waiting for canAccess
  std::uint64_t mark = 0;                            ///< fan-out dedup generation
};

// A hook running on a worker: a join's canAccess or an upgrade's authenticate.
struct pending_hook {
  bool join = false;
  ws_subscription sub; ///< join
  std::uint64_t auth = 0; ///< authenticate: the registry's id
};

// Hook results come back to the hub as messages.
class hub_sink final : public process::result_sink {
public:
  explicit hub_sink(caf::actor_addr hub) : hub_(std::move(hub)) {}
  void on_result(std::uint64_t token, process::invocation_outcome&& out) override {
    if (auto a = caf::actor_cast<hub_actor>(hub_))
      caf::anon_send(a, invoked_atom::value,
                     invocation_done{token, out.ok ? std::move(out.value) : payload{}, error_of(out)});
  }

private:
  caf::actor_addr hub_;
};

struct hub_state {
  std::shared_ptr<runtime_env> env;
  stream_hub_settings settings;
  std::shared_ptr<hub_sink> sink;
  std::unordered_map<std::uint64_t, connection> conns;
  /// room -> connection -> number of its subscriptions to the room
  std::unordered_map<std::string, std::unordered_map<connection*, unsigned>> rooms;
  std::uint64_t generation = 0;
  std::unordered_map<std::uint64_t, pending_hook> hooks;
  std::uint64_t next_hook = 0;
  std::size_t cursor = 0;
  static inline const char* name = "motia.stream_hub";
};

using self_ptr = hub_actor::stateful_pointer<hub_state>;

void unsubscribe(hub_state& st, connection& c, const std::string& sub_id) {
  auto it = c.subs.find(sub_id);
  if (it == c.subs.end())
    return;
  auto room = st.rooms.find(it->second);
  if (room != st.rooms.end()) {
    auto member = room->second.find(&c);
    if (member != room->second.end() && --member->second == 0)
      room->second.erase(member);
    if (room->second.empty())
      st.rooms.erase(room);
  }
  c.subs.erase(it);
}

// Access granted: the sync goes out first, then the connection is in the room,
// in one step of the hub, so no change falls between the two.
void admit(hub_state& st, connection& c, const ws_subscription& s) {
  text_ptr sync;
  try {
    sync = st.env->stream_store->sync_message(s.stream, s.group, s.id);
  } catch (const std::exception& e) {
    c.conn->send(stream_error_event(s.stream, s.group, s.id, "STREAM_ERROR", e.what()));
    return;
  }
  unsubscribe(st, c, s.subscription_id); // a re-used subscriptionId moves
  c.conn->send(std::move(sync));
  auto room = room_of(s.stream, s.group, s.id);
  ++st.rooms[room][&c];
  c.subs.emplace(s.subscription_id, std::move(room));
}

void deny(connection& c, const ws_subscription& s) {
  c.conn->send(stream_error_event(s.stream, s.group, s.id, "STREAM_ACCESS_DENIED", "Access denied"));
}

// Runs a hook on a worker of `lang`; false when none is up.
bool run_hook(self_ptr self, step_language lang, std::string_view kind, std::string_view name, json input,
              pending_hook hook) {
  auto& st = self->state;
  auto token = ++st.next_hook;
  invoke_args a;
  a.step = name;
  a.kind = kind;
  a.input = payload::from_json(input);
  auto trace = new_trace_id();
  a.trace_id = trace;
  a.deadline = st.settings.hook_timeout;
  st.hooks.emplace(token, std::move(hook));
  if (invoke_worker(*st.env, lang, st.cursor, a, st.sink, token, {}) == errc::none)
    return true;
  st.hooks.erase(token);
  return false;
}

void on_join(self_ptr self, ws_subscription& s) {
  auto& st = self->state;
  auto cit = st.conns.find(s.conn);
  if (cit == st.conns.end())
    return;
  auto& c = cit->second;
  auto snap = st.env->snapshot.current();
  auto def = snap ? snap->streams.find(s.stream) : decltype(snap->streams.end()){};
  if (!snap || def == snap->streams.end())
    return c.conn->send(stream_error_event(s.stream, s.group, s.id, "STREAM_NOT_FOUND",
                                           fmt::format("no stream named '{}'", s.stream)));
  if (c.subs.size() + c.pending.size() >= st.settings.max_subscriptions && !c.subs.count(s.subscription_id))
    return c.conn->send(stream_error_event(
      s.stream, s.group, s.id, "TOO_MANY_SUBSCRIPTIONS",
      fmt::format("a connection may hold at most {} subscriptions", st.settings.max_subscriptions)));
  json subscription = {{"groupId", s.group}};
  if (!s.id.empty())
    subscription["id"] = s.id;
  auto& info = def->second;
  if (info.native_can_access) {
    bool ok = false;
    try {
      ok = info.native_can_access(subscription, c.auth);
    } catch (const std::exception& e) {
      log::error("canAccess failed; join denied", {{"stream", s.stream}, {"groupId", s.group}, {"error", e.what()}});
    }
    return ok ? admit(st, c, s) : deny(c, s);
  }
  if (!info.worker_can_access)
    return admit(st, c, s);
  c.pending.insert(s.subscription_id);
  pending_hook hook{true, s, 0};
  if (!run_hook(self, info.language, "canAccess", s.stream,
                {{"subscription", std::move(subscription)}, {"authContext", c.auth}}, std::move(hook))) {
    c.pending.erase(s.subscription_id);
    deny(c, s);
  }
}

http::ws_auth_result accepted(const json& context) {
  http::ws_auth_result r;
  r.context = context.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

http::ws_auth_result refused(unsigned status, std::string message) {
  http::ws_auth_result r;
  r.accepted = false;
  r.status = status;
  r.message = std::move(message);
  return r;
}

void on_auth(self_ptr self, ws_auth_request& req) {
  auto& st = self->state;
  auto snap = st.env->snapshot.current();
  if (!snap || !snap->auth.present())
    return st.env->ws->complete_auth(req.id, accepted(nullptr));
  if (snap->auth.native) {
    try {
      return st.env->ws->complete_auth(req.id, accepted(snap->auth.native(req.request.to_json())));
    } catch (const std::exception& e) {
      return st.env->ws->complete_auth(req.id, refused(401, e.what()));
    }
  }
  if (!run_hook(self, snap->auth.language, "authenticate", "", req.request.to_json(), pending_hook{false, {}, req.id}))
    st.env->ws->complete_auth(req.id, refused(503, "the authentication hook is not available"));
}

void on_hook_done(self_ptr self, invocation_done& d) {
  auto& st = self->state;
  auto it = st.hooks.find(d.token);
  if (it == st.hooks.end())
    return;
  auto hook = std::move(it->second);
  st.hooks.erase(it);
  if (!hook.join) {
    if (!d.error)
      return st.env->ws->complete_auth(hook.auth, accepted(d.value.to_json()));
    bool handler = code_of(d.error) == errc::handler_failed;
    auto text = message_of(d.error);
    text = text.substr(0, text.find('\n')); // no stack trace to the client
    return st.env->ws->complete_auth(
      hook.auth, handler ? refused(401, text) : refused(503, "the authentication hook is not available: " + describe(d.error)));
  }
  auto& s = hook.sub;
  auto cit = st.conns.find(s.conn);
  if (cit == st.conns.end() || cit->second.pending.erase(s.subscription_id) == 0)
    return; // closed or left meanwhile
  bool ok = false;
  if (d.error) {
    log::error("canAccess failed; join denied",
               {{"stream", s.stream}, {"groupId", s.group}, {"error", describe(d.error)}});
  } else {
    json v = d.value.to_json();
    ok = v.is_boolean() ? v.get<bool>() : !v.is_null();
  }
  ok ? admit(st, cit->second, s) : deny(cit->second, s);
}

// One message to every connection subscribed to the change's item or group,
// once per connection even if it holds both.
void fan_out(hub_state& st, const stream_change& ev) {
  auto gen = ++st.generation;
  auto deliver = [&](const std::string& room) {
    auto it = st.rooms.find(room);
    if (it == st.rooms.end())
      return;
    for (auto& [c, count] : it->second) {
      if (c->mark == gen)
        continue;
      c->mark = gen;
      c->conn->send(ev.message);
    }
  };
  deliver(room_of(ev.stream, ev.group, {}));
  if (!ev.id.empty())
    deliver(room_of(ev.stream, ev.group, ev.id));
}

hub_actor::behavior_type hub_impl(self_ptr self, std::shared_ptr<runtime_env> env, stream_hub_settings settings) {
  auto& st = self->state;
  st.env = std::move(env);
  st.settings = settings;
  st.sink = std::make_shared<hub_sink>(self->address());
  self->set_default_handler([env = st.env](caf::scheduled_actor*, caf::message_view& m) -> caf::result<caf::message> {
    log_unexpected(*env, "stream_hub", caf::to_string(m.content()));
    return caf::sec::unexpected_message;
  });
  return {
    [self](ws_open_atom, std::uint64_t id, std::string& context) {
      auto& st = self->state;
      auto conn = st.env->ws->get(id);
      if (!conn)
        return; // closed before the hub heard of it
      auto& c = st.conns[id];
      c.conn = std::move(conn);
      c.auth = json::parse(context, nullptr, false);
      if (c.auth.is_discarded())
        c.auth = nullptr;
    },
    [self](ws_join_atom, ws_subscription& s) { on_join(self, s); },
    [self](ws_leave_atom, ws_subscription& s) {
      auto& st = self->state;
      auto it = st.conns.find(s.conn);
      if (it == st.conns.end())
        return;
      it->second.pending.erase(s.subscription_id);
      unsubscribe(st, it->second, s.subscription_id);
    },
    [self](ws_close_atom, std::uint64_t id) {
      auto& st = self->state;
      auto it = st.conns.find(id);
      if (it == st.conns.end())
        return;
      while (!it->second.subs.empty())
        unsubscribe(st, it->second, it->second.subs.begin()->first);
      st.conns.erase(it);
    },
    [self](ws_auth_atom, ws_auth_request& req) { on_auth(self, req); },
    [self](invoked_atom, invocation_done& d) { on_hook_done(self, d); },
    [self](const stream_change& ev) { fan_out(self->state, ev); },
  };
}

} // namespace

hub_actor spawn_stream_hub(caf::actor_system& sys, std::shared_ptr<runtime_env> env, stream_hub_settings settings) {
  return sys.spawn(hub_impl, std::move(env), settings);
}

} // namespace motia
