#include "actors/stream_hub.hpp"

#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/error.hpp"
#include "actors/messages.hpp"
#include "actors/services.hpp"
#include "actors/streams.hpp"
#include "adapters/rocksdb/stream_store.hpp"
#include "core/log.hpp"

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

struct hub_state {
  runtime_services* svc = nullptr;
  rocks::stream_store* store = nullptr;
  stream_hub_settings settings;
  std::unordered_map<std::uint64_t, connection> conns;
  /// room -> connection -> number of its subscriptions to the room
  std::unordered_map<std::string, std::unordered_map<connection*, unsigned>> rooms;
  std::uint64_t generation = 0;
  static inline const char* name = "motia.stream_hub";
};

using hub_actor = caf::stateful_actor<hub_state>;

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
    sync = st.store->sync_message(s.stream, s.group, s.id);
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

void on_join(hub_actor* self, ws_subscription& s) {
  auto& st = self->state;
  auto cit = st.conns.find(s.conn);
  if (cit == st.conns.end())
    return;
  auto& c = cit->second;
  auto def = st.svc->streams_by_name.find(s.stream);
  if (def == st.svc->streams_by_name.end())
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
  auto* slot = st.settings.pool_of ? st.settings.pool_of(info.language) : nullptr;
  auto pool = slot ? slot->get() : caf::actor{};
  if (!pool)
    return deny(c, s);
  invocation inv;
  inv.step = s.stream;
  inv.special = "canAccess";
  inv.input = {{"subscription", std::move(subscription)}, {"authContext", c.auth}};
  inv.trace_id = new_trace_id();
  inv.deadline = st.settings.hook_timeout;
  c.pending.insert(s.subscription_id);
  self->request(pool, st.settings.hook_timeout + std::chrono::seconds(1), invoke_atom::value, std::move(inv))
    .then(
      [self, s](invocation_result& r) {
        auto& st = self->state;
        auto it = st.conns.find(s.conn);
        if (it == st.conns.end() || it->second.pending.erase(s.subscription_id) == 0)
          return; // closed or left meanwhile
        bool ok = r.value.is_boolean() ? r.value.get<bool>() : !r.value.is_null();
        ok ? admit(st, it->second, s) : deny(it->second, s);
      },
      [self, s](caf::error& e) {
        auto& st = self->state;
        log::error("canAccess failed; join denied",
                   {{"stream", s.stream}, {"groupId", s.group}, {"error", describe(e)}});
        auto it = st.conns.find(s.conn);
        if (it != st.conns.end() && it->second.pending.erase(s.subscription_id) != 0)
          deny(it->second, s);
      });
}

// One message to every connection subscribed to the event's item or group,
// once per connection even if it holds both.
void fan_out(hub_state& st, const rocks::stream_event& ev) {
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

http::ws_auth_result accepted(const json& context) {
  http::ws_auth_result r;
  r.context = context.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

void on_auth(hub_actor* self, ws_auth_reply& reply) {
  auto& request = reply.request;
  auto& st = self->state;
  auto refuse = [&](unsigned status, std::string message) {
    http::ws_auth_result r;
    r.accepted = false;
    r.status = status;
    r.message = std::move(message);
    reply.done(std::move(r));
  };
  if (st.settings.native_auth) {
    try {
      auto ctx = st.settings.native_auth(request);
      return reply.done(accepted(ctx));
    } catch (const std::exception& e) {
      return refuse(401, e.what());
    }
  }
  auto pool = st.settings.auth_pool ? st.settings.auth_pool->get() : caf::actor{};
  if (!pool)
    return refuse(503, "the authentication hook is not available");
  invocation inv;
  inv.special = "authenticate";
  inv.input = std::move(request);
  inv.trace_id = new_trace_id();
  inv.deadline = st.settings.hook_timeout;
  auto done = std::make_shared<http::ws_auth_done>(std::move(reply.done));
  self->request(pool, st.settings.hook_timeout + std::chrono::seconds(1), invoke_atom::value, std::move(inv))
    .then(
      [done](invocation_result& r) {
        (*done)(accepted(r.value));
      },
      [done](caf::error& e) {
        http::ws_auth_result r;
        r.accepted = false;
        bool refused = e.category() == caf::atom("motia") && e.code() == static_cast<std::uint8_t>(errc::handler_failed);
        r.status = refused ? 401 : 503;
        auto text = describe(e);
        if (auto colon = text.find(": "); refused && colon != std::string::npos)
          text.erase(0, colon + 2);
        text = text.substr(0, text.find('\n')); // no stack trace to the client
        r.message = refused ? text : "the authentication hook is not available: " + text;
        (*done)(std::move(r));
      });
}

caf::behavior hub_impl(hub_actor* self, runtime_services* svc, rocks::stream_store* store,
                       stream_hub_settings settings) {
  auto& st = self->state;
  st.svc = svc;
  st.store = store;
  st.settings = std::move(settings);
  self->set_default_handler(caf::drop);
  return {
    [self](ws_open_atom, http::ws_connection_ptr& conn, std::string& context) {
      auto& c = self->state.conns[conn->id()];
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
    [self](rocks::stream_event& ev) { fan_out(self->state, ev); },
    [self](ws_auth_atom, ws_auth_reply& reply) { on_auth(self, reply); },
  };
}

} // namespace

caf::actor spawn_stream_hub(caf::actor_system& sys, runtime_services& svc, rocks::stream_store& store,
                            stream_hub_settings settings) {
  return sys.spawn(hub_impl, &svc, &store, std::move(settings));
}

} // namespace motia
