#include "runtime/worker_calls.hpp"

#include <fmt/format.h>

#include "adapters/process/worker_process.hpp"
#include "core/queue.hpp"
#include "core/blocking_pool.hpp"
#include "core/log.hpp"
#include "core/msgpack_writer.hpp"
#include "runtime/native_context.hpp"
#include "runtime/runtime_env.hpp"
#include "runtime/streams.hpp"

namespace motia {

namespace {

using conn_ptr = std::shared_ptr<process::worker_process>;

std::string str_field(const payload& p, std::string_view key) {
  auto v = p.find(key);
  auto s = v ? v->as_string() : std::nullopt;
  return s ? std::string(*s) : std::string();
}

void reply_ok(const conn_ptr& conn, std::uint64_t id, const payload& value) {
  auto w = msgpack_writer::frame();
  w.map(4).str("t").str("reply").str("id").uint(id).str("ok").boolean(true).str("value").raw(value);
  conn->send_framed(std::move(w).finish());
}

void reply_error(const conn_ptr& conn, std::uint64_t id, std::string_view code, std::string_view message) {
  auto w = msgpack_writer::frame();
  w.map(4).str("t").str("reply").str("id").uint(id).str("ok").boolean(false);
  w.str("error").map(2).str("code").str(code).str("message").str(message);
  conn->send_framed(std::move(w).finish());
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

// state.* and stream.* block on the store: they run on the storage threads.
void serve_store_call(const std::shared_ptr<runtime_env>& env, const conn_ptr& conn, std::uint64_t id,
                      std::string op, payload args) {
  env->pool->post([env, conn, id, op = std::move(op), args = std::move(args)] {
    try {
      json a = args.to_json();
      json value = op.rfind("stream.", 0) == 0 ? stream_call(*env->streams, op, a) : state_call(*env->state, op, a);
      reply_ok(conn, id, payload::from_json(value));
    } catch (const unknown_stream& e) {
      reply_error(conn, id, "unknown_stream", e.what());
    } catch (const bad_update& e) {
      reply_error(conn, id, "bad_update", e.what());
    } catch (const step_error& e) {
      reply_error(conn, id, "bad_input", e.what());
    } catch (const std::invalid_argument& e) {
      reply_error(conn, id, "bad_input", e.what());
    } catch (const std::exception& e) {
      reply_error(conn, id, "storage_error", e.what());
    }
  });
}

void serve_emit(const std::shared_ptr<runtime_env>& env, const conn_ptr& conn, std::uint64_t id,
                std::uint64_t inv, const process::invocation_view& view, const payload& args) {
  auto snap = std::static_pointer_cast<const project_snapshot>(view.owner);
  auto& from = static_cast<const step_info*>(view.context)->cfg;
  auto data = args.find("data");
  std::vector<queued_event> rows;
  auto err = make_deliveries(*env, *snap, from, str_field(args, "topic"), data ? *data : payload{},
                             str_field(args, "messageGroupId"), view.trace_id, rows);
  if (err) {
    if (code_of(err) == errc::overloaded)
      conn->mark_overloaded(inv);
    return reply_error(conn, id, to_string(code_of(err)), message_of(err));
  }
  if (rows.empty())
    return reply_ok(conn, id, payload{});
  // The worker's `await emit` resolves once the deliveries are in the WAL.
  queue_write w;
  w.enqueue = std::move(rows);
  w.done = [env, conn, id](std::vector<queued_event>& enqueued, const error& e) {
    if (e)
      return reply_error(conn, id, "storage_error", describe(e));
    env->metrics.deliveries += enqueued.size();
    reply_ok(conn, id, payload{});
  };
  env->queue->submit(std::move(w));
}

void serve_call(const std::shared_ptr<runtime_env>& env, const conn_ptr& conn, const payload& frame) {
  auto idv = frame.find("id");
  auto id = idv ? idv->as_uint().value_or(0) : 0;
  auto invv = frame.find("inv");
  auto inv = invv ? invv->as_uint().value_or(0) : 0;
  process::invocation_view view;
  if (!conn->find(inv, view) || !view.context)
    return reply_error(conn, id, "unavailable", "the invocation this call belongs to has finished");
  auto op = str_field(frame, "op");
  auto args = frame.find("args");
  if (!args)
    return reply_error(conn, id, "bad_input", "call 'args' must be a map");
  if (op == "emit")
    return serve_emit(env, conn, id, inv, view, *args);
  if (op.rfind("state.", 0) == 0 || op.rfind("stream.", 0) == 0)
    return serve_store_call(env, conn, id, std::move(op), std::move(*args));
  reply_error(conn, id, "bad_input", fmt::format("unknown op '{}'", op));
}

void serve_log(const conn_ptr& conn, const payload& frame) {
  auto level = str_field(frame, "level");
  auto text = str_field(frame, "msg");
  auto f = frame.find("fields");
  json fields = f ? f->to_json() : json::object();
  if (!fields.is_object())
    fields = json::object();
  auto invv = frame.find("inv");
  process::invocation_view view;
  if (invv && conn->find(invv->as_uint().value_or(0), view) && view.context)
    return write_step_log(level.empty() ? "info" : level, text, fields, view.trace_id,
                          static_cast<const step_info*>(view.context)->cfg);
  fields["component"] = "worker";
  fields["pid"] = conn->pid();
  log::write(log::parse_level(level.empty() ? "info" : level), text, fields);
}

} // namespace

bool serve_worker_frame(const std::shared_ptr<runtime_env>& env, const conn_ptr& conn, const payload& frame) {
  auto t = frame.find("t");
  auto type = t ? t->as_string() : std::nullopt;
  if (type == std::string_view("call")) {
    serve_call(env, conn, frame);
    return true;
  }
  if (type == std::string_view("log")) {
    serve_log(conn, frame);
    return true;
  }
  return false;
}

} // namespace motia
