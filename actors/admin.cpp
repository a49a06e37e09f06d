#include "actors/admin.hpp"

#include <caf/send.hpp>
#include <fmt/format.h>

#include "actors/http_response.hpp"
#include "actors/messages.hpp"
#include "actors/services.hpp"
#include "adapters/rocksdb/queue_store.hpp"
#include "core/log.hpp"
#include "core/router.hpp"

namespace motia {

namespace {

constexpr std::string_view prefix = "/_motia/";

http::response json_response(unsigned status, const json& body) {
  http::response r;
  r.status = status;
  r.headers.emplace_back("content-type", "application/json");
  r.body = body.dump();
  return r;
}

std::string query_value(const http::request& req, const std::string& name) {
  for (auto& [k, v] : parse_query(req.query))
    if (k == name)
      return v;
  return {};
}

std::string header_value(const http::request& req, const std::string& name) {
  for (auto& [k, v] : req.headers)
    if (k == name)
      return v;
  return {};
}

class admin {
public:
  admin(runtime_services& svc, rocks::queue_store& queue) : svc_(svc), queue_(queue) {}

  bool handle(http::request& req, http::responder_ptr& out) {
    if (req.path.compare(0, prefix.size(), prefix) != 0)
      return false;
    auto& p = *svc_.project;
    if (!p.admin_enabled) {
      out->send(error_response(404, "not_found", "the admin API is disabled"));
      return true;
    }
    if (!p.admin_token.empty() && header_value(req, "authorization") != "Bearer " + p.admin_token) {
      out->send(error_response(401, "unauthorized", "the admin API needs 'authorization: Bearer <admin.token>'"));
      return true;
    }
    std::vector<std::string> parts;
    std::string rest = req.path.substr(prefix.size());
    for (std::size_t start = 0; start <= rest.size();) {
      auto slash = rest.find('/', start);
      parts.push_back(rest.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
      if (slash == std::string::npos)
        break;
      start = slash + 1;
    }
    route(req, parts, out);
    return true;
  }

private:
  void route(http::request& req, const std::vector<std::string>& parts, http::responder_ptr& out) {
    const auto& m = req.method;
    const auto n = parts.size();
    if (n == 1 && parts[0] == "health" && m == "GET")
      return out->send(json_response(200, {{"status", "ok"}}));
    if (n == 1 && parts[0] == "metrics" && m == "GET") {
      json body = svc_.metrics->to_json();
      body["queue"] = {{"pending", queue_.pending_count()},
                       {"deadLetters", queue_.dead_letter_count()}};
      return out->send(json_response(200, body));
    }
    if (n >= 1 && parts[0] == "dlq") {
      if (n == 1 && m == "GET")
        return list(req, out);
      if (n == 1 && m == "DELETE")
        return purge_many(req, out);
      if (n == 2 && parts[1] == "redrive" && m == "POST")
        return redrive_many(req, out);
      if (n == 2 || (n == 3 && parts[2] == "redrive")) {
        auto id = parse_dead_letter_id(parts[1]);
        if (!id)
          return out->send(error_response(400, "bad_id", "dead-letter ids are decimal numbers"));
        if (n == 2 && m == "GET")
          return show(*id, out);
        if (n == 2 && m == "DELETE")
          return purge_one(*id, out);
        if (n == 3 && m == "POST")
          return redrive_one(*id, out);
      }
      return out->send(error_response(405, "method_not_allowed",
                                      fmt::format("{} is not allowed on {}", m, req.path)));
    }
    out->send(error_response(404, "not_found", fmt::format("no admin route {}", req.path)));
  }

  std::size_t limit_of(const http::request& req) {
    auto l = query_value(req, "limit");
    if (auto v = parse_dead_letter_id(l); v && *v > 0)
      return static_cast<std::size_t>(std::min<std::uint64_t>(*v, 10'000));
    return 100;
  }

  void list(const http::request& req, http::responder_ptr& out) {
    auto items = queue_.dead_letters(query_value(req, "step"), limit_of(req));
    json arr = json::array();
    for (auto& e : items)
      arr.push_back(to_json(e));
    out->send(json_response(200, {{"items", std::move(arr)}, {"count", items.size()}}));
  }

  void show(std::uint64_t id, http::responder_ptr& out) {
    auto e = queue_.dead_letter(id);
    if (!e)
      return out->send(error_response(404, "not_found", fmt::format("no dead letter {}", id)));
    out->send(json_response(200, to_json(*e)));
  }

  // Only dead letters of an event step that still exists can be redriven.
  std::string check_redrivable(const queued_event& e) {
    auto it = svc_.steps.find(e.step);
    if (it == svc_.steps.end() || it->second.kind != step_kind::event)
      return fmt::format("dead letter {} belongs to step '{}', which is not an event step of this project",
                         e.seq, e.step);
    return {};
  }

  void redrive(std::vector<std::uint64_t> ids, http::responder_ptr out) {
    rocks::queue_write w;
    w.redrive = std::move(ids);
    auto& svc = svc_;
    w.done = [&svc, out](std::vector<queued_event>& enqueued, const std::string& err) {
      if (!err.empty())
        return out->send(error_response(503, "storage_error", err));
      auto n = enqueued.size();
      log::info("dead letters redriven", {{"count", n}});
      // Straight to each step (the step may no longer subscribe to the topic).
      for (auto& [step, batch] : split_deliveries(std::move(enqueued), &queued_event::step))
        if (auto slot = svc.step_slots.find(step); slot != svc.step_slots.end())
          if (auto a = slot->second->get())
            caf::anon_send(a, event_atom::value, delivery_batch(batch));
      out->send(json_response(200, {{"redriven", n}}));
    };
    queue_.submit(std::move(w));
  }

  void redrive_one(std::uint64_t id, http::responder_ptr& out) {
    auto e = queue_.dead_letter(id);
    if (!e)
      return out->send(error_response(404, "not_found", fmt::format("no dead letter {}", id)));
    if (auto why = check_redrivable(*e); !why.empty())
      return out->send(error_response(409, "step_gone", why));
    redrive({id}, out);
  }

  void redrive_many(const http::request& req, http::responder_ptr& out) {
    std::vector<std::uint64_t> ids;
    for (auto& e : queue_.dead_letters(query_value(req, "step"), SIZE_MAX))
      if (check_redrivable(e).empty())
        ids.push_back(e.seq);
    if (ids.empty())
      return out->send(json_response(200, {{"redriven", 0}}));
    redrive(std::move(ids), out);
  }

  void purge(std::vector<std::uint64_t> ids, http::responder_ptr out) {
    auto n = ids.size();
    rocks::queue_write w;
    w.purge = std::move(ids);
    w.done = [out, n](std::vector<queued_event>&, const std::string& err) {
      if (!err.empty())
        return out->send(error_response(503, "storage_error", err));
      log::info("dead letters purged", {{"count", n}});
      out->send(json_response(200, {{"purged", n}}));
    };
    queue_.submit(std::move(w));
  }

  void purge_one(std::uint64_t id, http::responder_ptr& out) {
    if (!queue_.dead_letter(id))
      return out->send(error_response(404, "not_found", fmt::format("no dead letter {}", id)));
    purge({id}, out);
  }

  void purge_many(const http::request& req, http::responder_ptr& out) {
    std::vector<std::uint64_t> ids;
    for (auto& e : queue_.dead_letters(query_value(req, "step"), SIZE_MAX))
      ids.push_back(e.seq);
    purge(std::move(ids), out);
  }

  runtime_services& svc_;
  rocks::queue_store& queue_;
};

} // namespace

admin_handler make_admin_handler(runtime_services& svc, rocks::queue_store& queue) {
  auto a = std::make_shared<admin>(svc, queue);
  return [a](http::request& req, http::responder_ptr& out) { return a->handle(req, out); };
}

} // namespace motia
