// The durable queue through the real runtime: retries with their delays,
// dead letters and the admin API, input validation, FIFO groups with a real
// Node worker, handler timeouts, restarts with pending deliveries.
#include "motia/app.hpp"

#define BOOST_TEST_MODULE queue
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/project.hpp"

using motia::json;
using motia::test::eventually;
using motia::test::http_request;
using motia::test::temp_project;
using clock_type = std::chrono::steady_clock;

namespace {

motia::run_options opts(const temp_project& p) {
  return {p.dir, 0, std::nullopt, std::nullopt, true};
}

// POST /kick {..} emits `topic` with the body as data.
void add_kicker(motia::app& app, const std::string& topic) {
  app.add_step({{{"type", "api"}, {"name", "kick"}, {"path", "/kick"}, {"method", "POST"},
                 {"emits", {topic}}},
                [topic](const motia::api_request& req, motia::context& ctx) {
                  ctx.emit(topic, req.body());
                  return motia::api_response{202, json::object(), nullptr};
                }});
}

json get_json(std::uint16_t port, const std::string& target) {
  auto r = http_request(port, "GET", target);
  BOOST_REQUIRE_MESSAGE(r.status == 200, target << " answered " << r.status << " " << r.body);
  return json::parse(r.body);
}

} // namespace

BOOST_AUTO_TEST_CASE(an_always_failing_handler_is_dead_lettered_after_max_retries_plus_one_attempts) {
  temp_project p;
  motia::app app;
  add_kicker(app, "job");
  struct record {
    std::mutex m;
    std::vector<std::pair<unsigned, clock_type::time_point>> attempts;
    std::atomic<bool> fail{true};
  };
  auto rec = std::make_shared<record>();
  motia::step_definition d;
  d.config = {{"name", "charge"},
              {"triggers", {{{"type", "queue"}, {"topic", "job"},
                             {"config", {{"maxRetries", 2}, {"backoffType", "fixed"},
                                         {"backoffDelayMs", 120}}}}}}};
  d.event = [rec](const json& in, motia::context& ctx) {
    {
      std::lock_guard<std::mutex> g(rec->m);
      rec->attempts.emplace_back(ctx.attempt(), clock_type::now());
    }
    if (rec->fail)
      throw std::runtime_error("card declined");
    ctx.state().set("charges", in["id"].get<std::string>(), ctx.attempt());
  };
  app.add_step(std::move(d));
  BOOST_REQUIRE(!app.start(opts(p)));
  auto port = app.port();
  BOOST_REQUIRE_EQUAL(http_request(port, "POST", "/kick", R"({"id":"c-1"})").status, 202);

  json dlq;
  BOOST_REQUIRE(eventually([&] {
    dlq = get_json(port, "/_motia/dlq");
    return dlq["count"] == 1;
  }));
  {
    std::lock_guard<std::mutex> g(rec->m);
    BOOST_REQUIRE_EQUAL(rec->attempts.size(), 3u); // maxRetries + 1, no more
    for (std::size_t i = 0; i < 3; ++i)
      BOOST_CHECK_EQUAL(rec->attempts[i].first, i + 1);
    for (std::size_t i = 1; i < 3; ++i) {
      auto gap = rec->attempts[i].second - rec->attempts[i - 1].second;
      BOOST_CHECK_MESSAGE(gap >= std::chrono::milliseconds(120) && gap < std::chrono::milliseconds(600),
                          "retry gap " << std::chrono::duration_cast<std::chrono::milliseconds>(gap).count() << " ms");
    }
  }
  auto item = dlq["items"][0];
  BOOST_CHECK_EQUAL(item["step"], "charge");
  BOOST_CHECK_EQUAL(item["topic"], "job");
  BOOST_CHECK_EQUAL(item["attempts"], 3);
  BOOST_CHECK((item["data"] == json{{"id", "c-1"}}));
  BOOST_CHECK(item["lastError"].get<std::string>().find("card declined") != std::string::npos);
  BOOST_CHECK(item["failedAt"].get<std::int64_t>() >= item["enqueuedAt"].get<std::int64_t>());
  auto id = item["id"].get<std::string>();
  BOOST_CHECK_EQUAL(get_json(port, "/_motia/dlq/" + id)["messageId"], item["messageId"]);
  BOOST_CHECK_EQUAL(get_json(port, "/_motia/dlq?step=other")["count"], 0);
  auto metrics = get_json(port, "/_motia/metrics");
  BOOST_CHECK_EQUAL(metrics["steps"]["charge"]["retried"], 2);
  BOOST_CHECK_EQUAL(metrics["steps"]["charge"]["deadLettered"], 1);
  BOOST_CHECK_EQUAL(metrics["queue"]["pending"], 0);

  // Redrive: a new delivery, attempts start again at 1, and this time it works.
  rec->fail = false;
  auto r = http_request(port, "POST", "/_motia/dlq/" + id + "/redrive");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  BOOST_CHECK_EQUAL(json::parse(r.body)["redriven"], 1);
  BOOST_REQUIRE(eventually([&] { return app.state().get("charges", "c-1").has_value(); }));
  BOOST_CHECK_EQUAL(*app.state().get("charges", "c-1"), 1);
  BOOST_CHECK_EQUAL(get_json(port, "/_motia/dlq")["count"], 0);
  BOOST_CHECK_EQUAL(http_request(port, "GET", "/_motia/dlq/" + id).status, 404);
  BOOST_CHECK_EQUAL(http_request(port, "POST", "/_motia/dlq/" + id + "/redrive").status, 404);

  // Purge: fail again, then delete the dead letter.
  rec->fail = true;
  BOOST_REQUIRE_EQUAL(http_request(port, "POST", "/kick", R"({"id":"c-2"})").status, 202);
  BOOST_REQUIRE(eventually([&] { return get_json(port, "/_motia/dlq")["count"] == 1; }));
  auto id2 = get_json(port, "/_motia/dlq")["items"][0]["id"].get<std::string>();
  BOOST_CHECK_EQUAL(http_request(port, "DELETE", "/_motia/dlq/" + id2).status, 200);
  BOOST_CHECK_EQUAL(get_json(port, "/_motia/dlq")["count"], 0);
  BOOST_CHECK_EQUAL(http_request(port, "GET", "/_motia/dlq/abc").status, 400);
  BOOST_CHECK_EQUAL(http_request(port, "GET", "/_motia/nothing").status, 404);
  app.stop();
}

BOOST_AUTO_TEST_CASE(input_that_breaks_the_schema_is_dead_lettered_without_running_the_handler) {
  temp_project p;
  motia::app app;
  add_kicker(app, "signup");
  auto calls = std::make_shared<std::atomic<int>>(0);
  motia::step_definition d;
  d.config = {{"type", "event"},
              {"name", "welcome"},
              {"subscribes", {"signup"}},
              {"input", json::parse(R"({"type":"object","required":["email"],
                                         "properties":{"email":{"type":"string"}}})")}};
  d.event = [calls](const json&, motia::context&) { ++*calls; };
  app.add_step(std::move(d));
  BOOST_REQUIRE(!app.start(opts(p)));
  auto port = app.port();
  BOOST_REQUIRE_EQUAL(http_request(port, "POST", "/kick", R"({"email":42})").status, 202);
  BOOST_REQUIRE_EQUAL(http_request(port, "POST", "/kick", R"({"email":"a@b.c"})").status, 202);
  BOOST_REQUIRE(eventually([&] { return calls->load() == 1; }));
  json dlq;
  BOOST_REQUIRE(eventually([&] { return (dlq = get_json(port, "/_motia/dlq"))["count"] == 1; }));
  auto item = dlq["items"][0];
  BOOST_CHECK_EQUAL(item["attempts"], 0);
  auto err = item["lastError"].get<std::string>();
  BOOST_CHECK_MESSAGE(err.find("/email") != std::string::npos, err);
  BOOST_CHECK_EQUAL(get_json(port, "/_motia/metrics")["steps"]["welcome"]["invalidInput"], 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_CHECK_EQUAL(calls->load(), 1); // never retried
  app.stop();
}

BOOST_AUTO_TEST_CASE(a_native_handler_that_throws_emits_nothing_and_its_retry_emits_once) {
  temp_project p;
  motia::app app;
  add_kicker(app, "in");
  motia::step_definition relay;
  relay.config = {{"name", "relay"},
                  {"triggers", {{{"type", "queue"}, {"topic", "in"},
                                 {"config", {{"backoffType", "fixed"}, {"backoffDelayMs", 10}}}}}},
                  {"enqueues", {"out"}}};
  relay.event = [](const json& in, motia::context& ctx) {
    ctx.emit("out", in);
    if (ctx.attempt() == 1)
      throw std::runtime_error("after the emit");
  };
  app.add_step(std::move(relay));
  auto seen = std::make_shared<std::atomic<int>>(0);
  motia::step_definition sink;
  sink.config = {{"type", "event"}, {"name", "sink"}, {"subscribes", {"out"}}};
  sink.event = [seen](const json&, motia::context&) { ++*seen; };
  app.add_step(std::move(sink));
  BOOST_REQUIRE(!app.start(opts(p)));
  BOOST_REQUIRE_EQUAL(http_request(app.port(), "POST", "/kick", R"({"n":1})").status, 202);
  BOOST_REQUIRE(eventually([&] { return seen->load() >= 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_CHECK_EQUAL(seen->load(), 1);
  app.stop();
}

BOOST_AUTO_TEST_CASE(deliveries_pending_at_stop_run_after_the_next_start) {
  temp_project p;
  constexpr int n = 40;
  std::set<int> done;
  std::mutex m;
  auto add_steps = [&](motia::app& app, std::chrono::milliseconds work) {
    add_kicker(app, "slow");
    motia::step_definition d;
    d.config = {{"type", "event"}, {"name", "worker"}, {"subscribes", {"slow"}}};
    d.event = [&, work](const json& in, motia::context&) {
      std::this_thread::sleep_for(work);
      std::lock_guard<std::mutex> g(m);
      done.insert(in["n"].get<int>());
    };
    app.add_step(std::move(d));
  };
  std::size_t first_run = 0;
  {
    motia::app app;
    add_steps(app, std::chrono::milliseconds(20));
    BOOST_REQUIRE(!app.start(opts(p)));
    for (int i = 0; i < n; ++i)
      BOOST_REQUIRE_EQUAL(http_request(app.port(), "POST", "/kick", json{{"n", i}}.dump()).status, 202);
    app.stop(); // running handlers finish; the rest stays queued
    std::lock_guard<std::mutex> g(m);
    first_run = done.size();
  }
  BOOST_TEST_MESSAGE("handled before stop: " << first_run << " of " << n);
  BOOST_CHECK(first_run < std::size_t(n));
  motia::app app;
  add_steps(app, std::chrono::milliseconds(0));
  BOOST_REQUIRE(!app.start(opts(p)));
  BOOST_REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> g(m);
    return done.size() == std::size_t(n);
  }));
  // Acks are written after the handlers returned: the queue empties shortly.
  BOOST_CHECK(eventually([&] { return get_json(app.port(), "/_motia/metrics")["queue"]["pending"] == 0; }));
  app.stop();
}

BOOST_AUTO_TEST_CASE(fifo_keeps_order_within_each_group_while_groups_run_in_parallel) {
  temp_project p;
  p.write("steps/kick.step.js", R"(
exports.config = { type: 'api', name: 'kick', path: '/kick', method: 'POST', emits: ['ordered'] }
exports.handler = async (req, ctx) => {
  for (const m of req.body.messages)
    await ctx.emit({ topic: 'ordered', data: m, messageGroupId: m.g })
  return { status: 202, body: {} }
}
)");
  p.write("steps/apply.step.js", R"(
exports.config = { type: 'event', name: 'apply', subscribes: ['ordered'], emits: [],
  infrastructure: { queue: { type: 'fifo', concurrency: 4, maxRetries: 3, backoffType: 'fixed', backoffDelayMs: 30 } } }
let failedOnce = false
exports.handler = async (m, ctx) => {
  const start = Date.now()
  await new Promise((r) => setTimeout(r, 15))
  if (m.g === 'a' && m.n === 0 && !failedOnce) { failedOnce = true; throw new Error('first try fails') }
  await ctx.state.set('fifo', `${m.g}-${m.n}`, { g: m.g, n: m.n, start, end: Date.now() })
}
)");
  motia::app app;
  BOOST_REQUIRE(!app.start(opts(p)));
  json msgs = json::array();
  for (int n = 0; n < 6; ++n)
    for (std::string g : {"a", "b", "c", "d"})
      msgs.push_back({{"g", g}, {"n", n}});
  BOOST_REQUIRE_EQUAL(http_request(app.port(), "POST", "/kick", json{{"messages", msgs}}.dump()).status, 202);
  BOOST_REQUIRE(eventually([&] { return app.state().keys("fifo").size() == 24u; }, std::chrono::seconds(20)));
  std::map<std::string, std::vector<json>> by_group;
  for (auto& v : app.state().get_group("fifo"))
    by_group[v["g"].get<std::string>()].push_back(v);
  bool overlap = false;
  for (auto& [g, list] : by_group) {
    std::sort(list.begin(), list.end(), [](const json& x, const json& y) { return x["n"] < y["n"]; });
    for (std::size_t i = 1; i < list.size(); ++i)
      BOOST_CHECK_MESSAGE(list[i]["start"].get<long>() >= list[i - 1]["end"].get<long>(),
                          "group " << g << " message " << i << " started before " << i - 1 << " ended");
  }
  // Different groups ran at the same time.
  auto& a = by_group["a"];
  for (auto& [g, list] : by_group)
    if (g != "a")
      for (auto& x : list)
        for (auto& y : a)
          overlap = overlap || (x["start"].get<long>() < y["end"].get<long>() && y["start"].get<long>() < x["end"].get<long>());
  BOOST_CHECK(overlap);
  app.stop();
}

BOOST_AUTO_TEST_CASE(a_stuck_js_handler_is_cut_at_its_timeout_and_retried) {
  temp_project p;
  p.write("steps/kick.step.js", R"(
exports.config = { type: 'api', name: 'kick', path: '/kick', method: 'POST', emits: ['work'] }
exports.handler = async (req, ctx) => { await ctx.emit({ topic: 'work', data: {} }); return { status: 202, body: {} } }
)");
  p.write("steps/work.step.js", R"(
exports.config = { type: 'event', name: 'work', subscribes: ['work'], emits: [],
  infrastructure: { handler: { timeout: 0.3 }, queue: { maxRetries: 2, backoffType: 'fixed', backoffDelayMs: 50 } } }
exports.handler = async (data, ctx) => {
  if (ctx.attempt === 1) await new Promise(() => {}) // never settles
  await ctx.state.set('work', 'done', { attempt: ctx.attempt })
}
)");
  motia::app app;
  BOOST_REQUIRE(!app.start(opts(p)));
  auto t0 = clock_type::now();
  BOOST_REQUIRE_EQUAL(http_request(app.port(), "POST", "/kick", "{}").status, 202);
  BOOST_REQUIRE(eventually([&] { return app.state().get("work", "done").has_value(); }));
  auto took = clock_type::now() - t0;
  BOOST_CHECK_EQUAL((*app.state().get("work", "done"))["attempt"], 2);
  BOOST_CHECK(took >= std::chrono::milliseconds(300));
  BOOST_CHECK(took < std::chrono::seconds(5));
  app.stop();
}
