#include "motia/app.hpp"

#define BOOST_TEST_MODULE flow
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/project.hpp"

namespace fs = std::filesystem;
using motia::json;
using motia::test::eventually;
using motia::test::http_request;
using motia::test::temp_project;

namespace {

void add_native_flow(motia::app& app) {
  app.add_step({{{"type", "api"}, {"name", "place"}, {"path", "/orders/:id"}, {"method", "POST"},
                 {"emits", {"order.placed"}}},
                [](const motia::api_request& req, motia::context& ctx) {
                  auto id = req.path_params()["id"].get<std::string>();
                  ctx.emit("order.placed", {{"id", id}, {"qty", req.body()["qty"]}});
                  return motia::api_response{202, json::object(), {{"id", id}, {"traceId", ctx.trace_id()}}};
                }});
  for (std::string group : {"ledger", "mail"}) {
    motia::step_definition d;
    d.config = {{"type", "event"}, {"name", "write-" + group}, {"subscribes", {"order.placed"}}};
    d.event = [group](const json& in, motia::context& ctx) {
      ctx.state().set(group, in["id"].get<std::string>(), {{"qty", in["qty"]}, {"trace", ctx.trace_id()}});
    };
    app.add_step(std::move(d));
  }
}

const char* js_api = R"(
exports.config = { type: 'api', name: 'place', path: '/orders/:id', method: 'POST', emits: ['order.placed'] }
exports.handler = async (req, ctx) => {
  await ctx.emit({ topic: 'order.placed', data: { id: req.pathParams.id, qty: req.body.qty } })
  return { status: 202, body: { id: req.pathParams.id, traceId: ctx.traceId } }
}
)";

std::string js_event(const std::string& group) {
  return "exports.config = { type: 'event', name: 'write-" + group
         + "', subscribes: ['order.placed'], emits: [] }\n"
           "exports.handler = async (input, ctx) => {\n"
           "  await ctx.state.set('" + group + "', input.id, { qty: input.qty, trace: ctx.traceId })\n"
           "}\n";
}

void check_flow(motia::app& app) {
  auto r = http_request(app.port(), "POST", "/orders/o-1", R"({"qty": 3})");
  BOOST_REQUIRE_EQUAL(r.status, 202);
  auto body = json::parse(r.body);
  BOOST_CHECK_EQUAL(body["id"], "o-1");
  auto trace = body["traceId"].get<std::string>();
  BOOST_CHECK_EQUAL(trace.size(), 36u);
  // Both subscribers get their own copy, with the request's trace id.
  for (auto group : {"ledger", "mail"}) {
    BOOST_REQUIRE_MESSAGE(eventually([&] { return app.state().get(group, "o-1").has_value(); }),
                          "no state in group " << group);
    auto v = *app.state().get(group, "o-1");
    BOOST_CHECK_EQUAL(v["qty"], 3);
    BOOST_CHECK_EQUAL(v["trace"], trace);
  }
}

} // namespace

BOOST_AUTO_TEST_CASE(native_api_step_emits_to_two_event_steps_that_write_state) {
  temp_project p;
  motia::app app;
  add_native_flow(app);
  auto err = app.start({p.dir, 0, std::nullopt, std::nullopt, true});
  BOOST_REQUIRE_MESSAGE(!err, err.value_or(""));
  check_flow(app);
  app.stop();
}

BOOST_AUTO_TEST_CASE(js_api_step_emits_to_two_js_event_steps_through_a_real_node_worker) {
  temp_project p;
  p.write("steps/place.step.js", js_api);
  p.write("steps/ledger.step.js", js_event("ledger"));
  p.write("steps/mail_step.js", js_event("mail"));
  motia::app app;
  auto err = app.start({p.dir, 0, std::nullopt, std::nullopt, true});
  BOOST_REQUIRE_MESSAGE(!err, err.value_or(""));
  check_flow(app);
  app.stop();
}

BOOST_AUTO_TEST_CASE(state_written_by_steps_survives_a_restart) {
  temp_project p;
  {
    motia::app app;
    add_native_flow(app);
    BOOST_REQUIRE(!app.start({p.dir, 0, std::nullopt, std::nullopt, true}));
    check_flow(app);
  }
  motia::app again;
  add_native_flow(again);
  BOOST_REQUIRE(!again.start({p.dir, 0, std::nullopt, std::nullopt, true}));
  auto v = again.state().get("ledger", "o-1");
  BOOST_REQUIRE(v.has_value());
  BOOST_CHECK_EQUAL((*v)["qty"], 3);
}

BOOST_AUTO_TEST_CASE(an_invalid_project_refuses_to_start_and_names_every_problem) {
  temp_project p;
  p.write("steps/a.step.js", "exports.config = { type: 'api', name: 'dup', path: '/a', method: 'GET' }\n"
                             "exports.handler = async () => ({ status: 200 })\n");
  p.write("steps/b.step.js", "exports.config = { type: 'api', name: 'dup', path: '/b', method: 'GET' }\n"
                             "exports.handler = async () => ({ status: 200 })\n");
  p.write("steps/g.step.js", "exports.config = { type: 'api', name: 'g', path: 'nope', method: 'GET' }\n"
                             "exports.handler = async () => ({ status: 200 })\n");
  p.write("steps/c.step.js", "exports.config = { type: 'cron', name: 'c', cron: '61 * * * *' }\n"
                             "exports.handler = async () => {}\n");
  p.write("steps/d.step.js", "exports.config = { type: 'webhook', name: 'd' }\n"
                             "exports.handler = async () => {}\n");
  p.write("steps/e.step.js", "exports.config = { type: 'event', subscribes: ['x'] }\n");
  p.write("steps/f.step.js", "exports.config = { type: 'noop', name: 'f' \n");
  motia::app app;
  auto err = app.start({p.dir, 0, std::nullopt, std::nullopt, true});
  BOOST_REQUIRE(err);
  BOOST_TEST_MESSAGE(*err);
  for (auto needle : {"g.step.js: 'path' nope must start with '/'", "step name 'dup' is already used", "c.step.js: 'cron'",
                      "d.step.js: 'type' webhook", "e.step.js: failed to load: step config has no `name`", "f.step.js:2: failed to load"})
    BOOST_CHECK_MESSAGE(err->find(needle) != std::string::npos, "missing: " << needle);
}

BOOST_AUTO_TEST_CASE(a_js_handler_past_its_deadline_gets_504_and_the_worker_keeps_serving) {
  temp_project p;
  p.write("motia-actors.json", R"({"http": {"apiTimeoutMs": 300}})");
  p.write("steps/hang.step.js", "exports.config = { type: 'api', name: 'hang', path: '/hang', method: 'GET' }\n"
                                "exports.handler = () => new Promise(() => {})\n");
  p.write("steps/ok.step.js", "exports.config = { type: 'api', name: 'ok', path: '/ok', method: 'GET' }\n"
                              "exports.handler = async () => ({ status: 200, body: { ok: true } })\n");
  motia::app app;
  BOOST_REQUIRE(!app.start({p.dir, 0, std::nullopt, std::nullopt, true}));
  auto t0 = std::chrono::steady_clock::now();
  auto r = http_request(app.port(), "GET", "/hang");
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_CHECK_EQUAL(r.status, 504);
  BOOST_CHECK(r.body.find("handler_timeout") != std::string::npos);
  BOOST_CHECK(took >= std::chrono::milliseconds(300));
  BOOST_CHECK(took < std::chrono::seconds(3));
  BOOST_CHECK_EQUAL(http_request(app.port(), "GET", "/ok").status, 200);
}

BOOST_AUTO_TEST_CASE(a_js_handler_that_throws_answers_500_with_the_trace_id_and_no_internals) {
  temp_project p;
  p.write("steps/boom.step.js", "exports.config = { type: 'api', name: 'boom', path: '/boom', method: 'POST' }\n"
                                "exports.handler = async () => { throw new Error('secret detail') }\n");
  motia::app app;
  BOOST_REQUIRE(!app.start({p.dir, 0, std::nullopt, std::nullopt, true}));
  auto r = http_request(app.port(), "POST", "/boom", "{}");
  BOOST_CHECK_EQUAL(r.status, 500);
  auto body = json::parse(r.body);
  BOOST_CHECK_EQUAL(body["error"]["code"], "handler_failed");
  BOOST_CHECK_EQUAL(body["traceId"].get<std::string>().size(), 36u);
  BOOST_CHECK(r.body.find("secret detail") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_failing_event_handler_is_retried_in_its_mailbox_after_the_backoff) {
  temp_project p;
  motia::app app;
  app.add_step({{{"type", "api"}, {"name", "kick"}, {"path", "/kick"}, {"method", "POST"},
                 {"emits", {"job"}}},
                [](const motia::api_request&, motia::context& ctx) {
                  ctx.emit("job", {{"n", 1}});
                  return motia::api_response{202, json::object(), nullptr};
                }});
  auto attempts = std::make_shared<std::vector<std::pair<unsigned, std::chrono::steady_clock::time_point>>>();
  motia::step_definition flaky;
  flaky.config = {{"name", "flaky"},
                  {"triggers", {{{"type", "queue"}, {"topic", "job"},
                                 {"config", {{"backoffType", "fixed"}, {"backoffDelayMs", 150}}}}}}};
  flaky.event = [attempts](const json&, motia::context& ctx) {
    attempts->emplace_back(ctx.attempt(), std::chrono::steady_clock::now());
    if (ctx.attempt() < 3)
      throw std::runtime_error("not yet");
    ctx.state().set("jobs", "done", ctx.attempt());
  };
  app.add_step(std::move(flaky));
  BOOST_REQUIRE(!app.start({p.dir, 0, std::nullopt, std::nullopt, true}));
  BOOST_REQUIRE_EQUAL(http_request(app.port(), "POST", "/kick", "{}").status, 202);
  BOOST_REQUIRE(eventually([&] { return app.state().get("jobs", "done").has_value(); }));
  BOOST_CHECK_EQUAL(*app.state().get("jobs", "done"), 3);
  app.stop();
  BOOST_REQUIRE_EQUAL(attempts->size(), 3u);
  for (std::size_t i = 1; i < attempts->size(); ++i) {
    BOOST_CHECK_EQUAL((*attempts)[i].first, i + 1);
    BOOST_CHECK((*attempts)[i].second - (*attempts)[i - 1].second >= std::chrono::milliseconds(150));
  }
}
