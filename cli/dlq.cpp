#include "cli/dlq.hpp"

#include <future>

#include <fmt/format.h>

#include "adapters/http/client.hpp"
#include "adapters/rocksdb/database.hpp"
#include "adapters/rocksdb/queue_store.hpp"
#include "core/blocking_pool.hpp"
#include "core/delivery.hpp"
#include "core/project_config.hpp"

namespace motia {

namespace {

std::string when(std::int64_t ms) {
  if (ms <= 0)
    return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void print_list(const json& items, bool as_json) {
  if (as_json) {
    fmt::print("{}\n", items.dump(2));
    return;
  }
  if (items.empty()) {
    fmt::print("no dead letters\n");
    return;
  }
  fmt::print("{:<8} {:<20} {:<20} {:>8}  {:<20}  {}\n", "ID", "STEP", "TOPIC", "ATTEMPTS", "FAILED AT",
             "LAST ERROR");
  for (auto& e : items) {
    auto err = e.value("lastError", std::string{});
    if (auto nl = err.find('\n'); nl != std::string::npos)
      err.resize(nl);
    if (err.size() > 60)
      err = err.substr(0, 57) + "...";
    fmt::print("{:<8} {:<20} {:<20} {:>8}  {:<20}  {}\n", e.value("id", std::string{}),
               e.value("step", std::string{}), e.value("topic", std::string{}), e.value("attempts", 0),
               when(e.value("failedAt", std::int64_t{0})), err);
  }
  fmt::print("{} dead letter{}\n", items.size(), items.size() == 1 ? "" : "s");
}

// The database is free: work on it directly.
int offline(rocks::database& db, const dlq_request& r) {
  blocking_pool pool(1, "motia-dlq");
  rocks::queue_store q(db, pool);
  auto commit = [&q](rocks::queue_write w) {
    std::promise<std::pair<std::size_t, std::string>> p;
    auto n = w.redrive.size() + w.purge.size();
    w.done = [&p, n](std::vector<queued_event>& enq, const error& err) {
      p.set_value({enq.empty() ? n : enq.size(), err ? describe(err) : std::string()});
    };
    q.submit(std::move(w));
    return p.get_future().get();
  };
  if (r.action == "list") {
    json items = json::array();
    for (auto& e : q.dead_letters(r.step, 0, SIZE_MAX))
      items.push_back(to_json(e));
    print_list(items, r.json);
    return 0;
  }
  if (r.action == "show") {
    auto e = q.dead_letter(*parse_dead_letter_id(r.id));
    if (!e) {
      fmt::print(stderr, "motia-actors: no dead letter {}\n", r.id);
      return 1;
    }
    fmt::print("{}\n", to_json(*e).dump(2));
    return 0;
  }
  std::vector<std::uint64_t> ids;
  if (!r.id.empty()) {
    if (!q.dead_letter(*parse_dead_letter_id(r.id))) {
      fmt::print(stderr, "motia-actors: no dead letter {}\n", r.id);
      return 1;
    }
    ids.push_back(*parse_dead_letter_id(r.id));
  } else {
    for (auto& e : q.dead_letters(r.step, 0, SIZE_MAX))
      ids.push_back(e.seq);
  }
  rocks::queue_write w;
  (r.action == "redrive" ? w.redrive : w.purge) = ids;
  auto [n, err] = commit(std::move(w));
  if (!err.empty()) {
    fmt::print(stderr, "motia-actors: {}\n", err);
    return 1;
  }
  if (ids.empty())
    n = 0;
  fmt::print("{} {} dead letter{}{}\n", r.action == "redrive" ? "redriven" : "purged", n, n == 1 ? "" : "s",
             r.action == "redrive" ? " (they run when the runtime starts)" : "");
  return 0;
}

// A runtime holds the database: ask it over its admin API.
int online(const project_config& p, const dlq_request& r) {
  std::string host = p.host == "0.0.0.0" || p.host.empty() ? "127.0.0.1" : p.host == "::" ? "::1" : p.host;
  std::string method = "GET", target = "/_motia/dlq";
  std::string query = r.step.empty() ? "" : "?step=" + r.step;
  if (r.action == "list")
    target += query + (query.empty() ? "?" : "&") + "limit=10000";
  else if (r.action == "show")
    target += "/" + r.id;
  else if (r.action == "redrive")
    method = "POST", target += r.id.empty() ? "/redrive" + query : "/" + r.id + "/redrive";
  else
    method = "DELETE", target += r.id.empty() ? query : "/" + r.id;
  auto res = http::fetch(host, p.port, method, target, {}, p.admin_token);
  if (res.status == 0) {
    fmt::print(stderr, "motia-actors: the data dir is in use, and the runtime's admin API at {}:{} did not answer: {}\n",
               host, p.port, res.error);
    return 1;
  }
  json body = json::parse(res.body, nullptr, false);
  if (res.status != 200) {
    std::string msg = body.is_object() && body.contains("error") ? body["error"].value("message", res.body) : res.body;
    fmt::print(stderr, "motia-actors: {} (HTTP {})\n", msg, res.status);
    return 1;
  }
  if (r.action == "list")
    print_list(body.value("items", json::array()), r.json);
  else if (r.action == "show")
    fmt::print("{}\n", body.dump(2));
  else {
    auto n = body.value(r.action == "redrive" ? "redriven" : "purged", 0);
    fmt::print("{} {} dead letter{}\n", r.action == "redrive" ? "redriven" : "purged", n, n == 1 ? "" : "s");
  }
  return 0;
}

} // namespace

int run_dlq_command(const run_options& opts, const dlq_request& r) {
  const bool mutate = r.action == "redrive" || r.action == "purge";
  if (r.action != "list" && r.action != "show" && !mutate) {
    fmt::print(stderr, "motia-actors: dlq needs an action: list, show, redrive or purge\n");
    return 2;
  }
  if (!r.id.empty() && !parse_dead_letter_id(r.id)) {
    fmt::print(stderr, "motia-actors: --id {} is not a dead-letter id (a number)\n", r.id);
    return 2;
  }
  if (r.action == "show" && r.id.empty()) {
    fmt::print(stderr, "motia-actors: dlq show needs --id ID\n");
    return 2;
  }
  if (mutate && r.id.empty() && r.step.empty() && !r.all) {
    fmt::print(stderr, "motia-actors: dlq {} needs --id ID, --step NAME or --all\n", r.action);
    return 2;
  }
  std::string err;
  auto p = load_project_config(opts.project_dir, err);
  if (!p) {
    fmt::print(stderr, "motia-actors: {}\n", err);
    return 1;
  }
  if (opts.data_dir)
    p->data_dir = std::filesystem::absolute(*opts.data_dir);
  if (opts.port)
    p->port = *opts.port;
  if (opts.host)
    p->host = *opts.host;
  auto db = rocks::database::open({p->data_dir, p->durable_sync ? rocks::durability::strict
                                                                 : rocks::durability::process},
                                  err);
  if (db)
    return offline(*db, r);
  if (err.find("in use") == std::string::npos) {
    fmt::print(stderr, "motia-actors: {}\n", err);
    return 1;
  }
  return online(*p, r);
}

} // namespace motia
