#include "runtime/admin.hpp"

#include <fmt/format.h>

#include "adapters/rocksdb/database.hpp"
#include "core/queue.hpp"
#include "core/blocking_pool.hpp"
#include "core/log.hpp"
#include "core/router.hpp"
#include "runtime/http_response.hpp"
#include "runtime/runtime_env.hpp"

namespace motia {

namespace {

constexpr std::string_view prefix = "/_motia/";
// Bulk redrive and purge go through the dead letters this many at a time:
// one read and one write per page, so memory stays bounded.
constexpr std::size_t page_size = 1000;

http::response json_response(unsigned status, const json& body) {
  http::response r;
  r.status = status;
  r.headers.emplace_back("content-type", "application/json");
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
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

std::vector<std::string> split_path(const std::string& rest) {
  std::vector<std::string> parts;
  for (std::size_t start = 0; start <= rest.size();) {
    auto slash = rest.find('/', start);
    parts.push_back(rest.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos)
      break;
    start = slash + 1;
  }
  return parts;
}

class admin : public std::enable_shared_from_this<admin> {
public:
  explicit admin(std::shared_ptr<runtime_env> env) : env_(std::move(env)) {}

  bool handle(http::request& req, http::responder_ptr& out) {
    if (req.path.compare(0, prefix.size(), prefix) != 0)
      return false;
    auto snap = env_->snapshot.current();
    if (!snap)
      return out->send(error_response(503, "unavailable", "the runtime is starting")), true;
    auto& p = *snap->project;
    if (!p.admin_enabled)
      return out->send(error_response(404, "not_found", "the admin API is disabled")), true;
    if (!p.admin_token.empty() && header_value(req, "authorization") != "Bearer " + p.admin_token)
      return out->send(error_response(401, "unauthorized",
                                      "the admin API needs 'authorization: Bearer <admin.token>'")),
             true;
    route(req, split_path(req.path.substr(prefix.size())), out);
    return true;
  }

private:
  void route(http::request& req, const std::vector<std::string>& parts, http::responder_ptr& out) {
    const auto& m = req.method;
    const auto n = parts.size();
    if (n == 1 && parts[0] == "health" && m == "GET")
      return out->send(json_response(200, {{"status", "ok"}}));
    if (n == 1 && parts[0] == "metrics" && m == "GET")
      return metrics(out);
    if (n >= 1 && parts[0] == "dlq") {
      if (n == 1 && m == "GET")
        return list(req, out);
      if (n == 1 && m == "DELETE")
        return purge_many(query_value(req, "step"), out);
      if (n == 2 && parts[1] == "redrive" && m == "POST")
        return redrive_many(query_value(req, "step"), out);
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

  // Counters only: no call scans a column family.
  void metrics(http::responder_ptr& out) {
    json body = env_->metrics.to_json();
    std::int64_t pending = 0;
    json depth = json::object();
    for (auto& [step, d] : env_->queue->depths()) {
      pending += d;
      depth[step] = d;
    }
    body["queue"] = {{"pending", pending}, {"deadLetters", env_->queue->dead_letter_count()}, {"depth", depth}};
    if (env_->db) {
      auto m = env_->db->memory();
      body["rocksdb"] = {{"memtableBytes", m.memtables}, {"blockCacheBytes", m.block_cache},
                         {"tableReadersBytes", m.table_readers}, {"budgetBytes", m.budget}};
    }
    out->send(json_response(200, body));
  }

  // Runs `f` on the storage threads (store reads block).
  template <class F>
  void off_thread(F f) {
    env_->pool->post([self = shared_from_this(), f = std::move(f)]() mutable { f(*self); });
  }

  static std::size_t limit_of(const http::request& req) {
    auto l = query_value(req, "limit");
    if (auto v = parse_dead_letter_id(l); v && *v > 0)
      return static_cast<std::size_t>(std::min<std::uint64_t>(*v, 10'000));
    return 100;
  }

  void list(const http::request& req, http::responder_ptr out) {
    auto after = parse_dead_letter_id(query_value(req, "after")).value_or(0);
    off_thread([step = query_value(req, "step"), limit = limit_of(req), after, out](admin& a) {
      auto items = a.env_->queue->dead_letters(step, after, limit);
      json arr = json::array();
      for (auto& e : items)
        arr.push_back(to_json(e));
      json body = {{"items", std::move(arr)}, {"count", items.size()}};
      if (items.size() == limit)
        body["next"] = std::to_string(items.back().seq); // ?after= for the next page
      out->send(json_response(200, body));
    });
  }

  void show(std::uint64_t id, http::responder_ptr out) {
    off_thread([id, out](admin& a) {
      auto e = a.env_->queue->dead_letter(id);
      if (!e)
        return out->send(error_response(404, "not_found", fmt::format("no dead letter {}", id)));
      out->send(json_response(200, to_json(*e)));
    });
  }

  // Only dead letters of an event step that still exists can be redriven.
  std::string check_redrivable(const queued_event& e) {
    auto snap = env_->snapshot.current();
    auto* s = snap ? snap->step(e.step) : nullptr;
    if (!s || s->cfg.kind != step_kind::event)
      return fmt::format("dead letter {} belongs to step '{}', which is not an event step of this project",
                         e.seq, e.step);
    return {};
  }

  void redrive_one(std::uint64_t id, http::responder_ptr out) {
    off_thread([id, out](admin& a) {
      auto e = a.env_->queue->dead_letter(id);
      if (!e)
        return out->send(error_response(404, "not_found", fmt::format("no dead letter {}", id)));
      if (auto why = a.check_redrivable(*e); !why.empty())
        return out->send(error_response(409, "step_gone", why));
      a.write_page({id}, true, [out](std::size_t n, const error& err) {
        if (err)
          return out->send(error_response(503, "storage_error", describe(err)));
        out->send(json_response(200, {{"redriven", n}}));
      });
    });
  }

  void purge_one(std::uint64_t id, http::responder_ptr out) {
    off_thread([id, out](admin& a) {
      if (!a.env_->queue->dead_letter(id))
        return out->send(error_response(404, "not_found", fmt::format("no dead letter {}", id)));
      a.write_page({id}, false, [out](std::size_t n, const error& err) {
        if (err)
          return out->send(error_response(503, "storage_error", describe(err)));
        out->send(json_response(200, {{"purged", n}}));
      });
    });
  }

  // Redrives (or purges) one page of ids; `done(count, error)` on a storage thread.
  template <class Done>
  void write_page(std::vector<std::uint64_t> ids, bool redrive, Done done) {
    auto n = ids.size();
    queue_write w;
    (redrive ? w.redrive : w.purge) = std::move(ids);
    w.done = [n, redrive, done = std::move(done)](std::vector<queued_event>& enqueued, const error& err) {
      // Redriven rows reach their partitions through the queue's listener.
      done(redrive ? enqueued.size() : n, err);
    };
    env_->queue->submit(std::move(w));
  }

  // Walks every dead letter of `step` page by page: read a page (storage
  // thread), write it, then read the next, until none is left.
  void bulk(std::string step, bool redrive, std::uint64_t after, std::size_t so_far, http::responder_ptr out) {
    off_thread([step = std::move(step), redrive, after, so_far, out](admin& a) mutable {
      auto page = a.env_->queue->dead_letters(step, after, page_size);
      std::vector<std::uint64_t> ids;
      for (auto& e : page)
        if (!redrive || a.check_redrivable(e).empty())
          ids.push_back(e.seq);
      auto next = page.empty() ? after : page.back().seq;
      bool last = page.size() < page_size;
      auto finish = [out, redrive](std::size_t total) {
        log::info(redrive ? "dead letters redriven" : "dead letters purged", {{"count", total}});
        out->send(json_response(200, {{redrive ? "redriven" : "purged", total}}));
      };
      if (ids.empty())
        return last ? finish(so_far) : a.bulk(std::move(step), redrive, next, so_far, out);
      a.write_page(std::move(ids), redrive,
                   [self = a.shared_from_this(), step, redrive, next, so_far, last, out,
                    finish](std::size_t n, const error& err) {
                     if (err)
                       return out->send(error_response(503, "storage_error", describe(err)));
                     if (last)
                       return finish(so_far + n);
                     self->bulk(step, redrive, next, so_far + n, out);
                   });
    });
  }

  void redrive_many(std::string step, http::responder_ptr out) { bulk(std::move(step), true, 0, 0, std::move(out)); }
  void purge_many(std::string step, http::responder_ptr out) { bulk(std::move(step), false, 0, 0, std::move(out)); }

  std::shared_ptr<runtime_env> env_;
};

} // namespace

request_filter make_admin_handler(std::shared_ptr<runtime_env> env) {
  auto a = std::make_shared<admin>(std::move(env));
  return [a](http::request& req, http::responder_ptr& out) { return a->handle(req, out); };
}

} // namespace motia
