// The same small flow written in JavaScript, TypeScript and Python (real
// Node and Python workers) answers the same HTTP responses and leaves the
// same state; a mixed project passes one flow across all three.
#include "motia/app.hpp"

#define BOOST_TEST_MODULE parity
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <map>
#include <regex>

#include "tests/support/http_client.hpp"
#include "tests/support/project.hpp"

using motia::json;
using motia::test::eventually;
using motia::test::http_request;
using motia::test::temp_project;

namespace {

const char* body_schema =
  R"({ type: 'object', required: ['qty'], properties: { qty: { type: 'integer', minimum: 1 } } })";

// POST /items/:id {qty} -> emits item.saved; the event step stores the item
// and counts it atomically; GET /items/:id reads both.
void write_js(const temp_project& p, const std::string& ext) {
  const bool ts = ext == "ts";
  const std::string head = ts ? "import type { Handlers } from 'motia'\nexport const config = " : "exports.config = ";
  const std::string handler = ts ? "export const handler = " : "exports.handler = ";
  p.write("steps/save." + std::string(ts ? "step.ts" : "step.js"),
          head + "{ type: 'api', name: 'save', path: '/items/:id', method: 'POST', emits: ['item.saved'], bodySchema: "
            + body_schema + " }\n" + handler
            + "async (req, ctx) => {\n"
              "  const item = { id: req.pathParams.id, qty: req.body.qty, tag: req.queryParams.tag ?? null }\n"
              "  await ctx.emit({ topic: 'item.saved', data: item })\n"
              "  return { status: 201, body: item }\n}\n");
  p.write("steps/store." + std::string(ts ? "step.ts" : "step.js"),
          head + "{ type: 'event', name: 'store', subscribes: ['item.saved'], emits: [] }\n" + handler
            + "async (item" + (ts ? ": { id: string; qty: number }" : "") + ", ctx) => {\n"
              "  await ctx.state.set('items', item.id, item)\n"
              "  await ctx.state.update('stats', 'all', [{ type: 'increment', path: 'count' },\n"
              "                                          { type: 'increment', path: 'qty', by: item.qty }])\n}\n");
  p.write("steps/read." + std::string(ts ? "step.ts" : "step.js"),
          head + "{ type: 'api', name: 'read', path: '/items/:id', method: 'GET', emits: [] }\n" + handler
            + "async (req, ctx) => {\n"
              "  const item = await ctx.state.get('items', req.pathParams.id)\n"
              "  if (!item) return { status: 404, body: { error: 'no such item' } }\n"
              "  return { status: 200, body: { item, stats: await ctx.state.get('stats', 'all') } }\n}\n");
}

void write_python(const temp_project& p) {
  p.write("steps/save_step.py", R"(config = {"type": "api", "name": "save", "path": "/items/:id", "method": "POST",
          "emits": ["item.saved"],
          "bodySchema": {"type": "object", "required": ["qty"], "properties": {"qty": {"type": "integer", "minimum": 1}}}}

async def handler(req, context):
    item = {"id": req["pathParams"]["id"], "qty": req["body"]["qty"], "tag": req["queryParams"].get("tag")}
    await context.emit({"topic": "item.saved", "data": item})
    return {"status": 201, "body": item}
)");
  p.write("steps/store_step.py", R"(config = {"type": "event", "name": "store", "subscribes": ["item.saved"], "emits": []}

async def handler(item, context):
    await context.state.set("items", item["id"], item)
    await context.state.update("stats", "all", [{"type": "increment", "path": "count"},
                                                {"type": "increment", "path": "qty", "by": item["qty"]}])
)");
  p.write("steps/read_step.py", R"(config = {"type": "api", "name": "read", "path": "/items/:id", "method": "GET", "emits": []}

async def handler(req, context):
    item = await context.state.get("items", req["pathParams"]["id"])
    if not item:
        return {"status": 404, "body": {"error": "no such item"}}
    return {"status": 200, "body": {"item": item, "stats": await context.state.get("stats", "all")}}
)");
}

struct outcome {
  std::vector<std::string> responses; ///< "status body" per request, trace ids removed
  json state;
};

outcome run_flow(const temp_project& p) {
  motia::app app;
  auto err = app.start({p.dir, 0, std::nullopt, std::nullopt, true});
  BOOST_REQUIRE_MESSAGE(!err, err.value_or(""));
  auto port = app.port();
  outcome o;
  auto record = [&](const motia::test::http_result& r) {
    // Trace ids differ per run; everything else must match.
    static const std::regex trace(R"("traceId":"[0-9a-f-]{36}")");
    o.responses.push_back(std::to_string(r.status) + " " + std::regex_replace(r.body, trace, R"("traceId":"-")"));
  };
  record(http_request(port, "POST", "/items/a?tag=red", R"({"qty":2})"));
  record(http_request(port, "POST", "/items/b", R"({"qty":3})"));
  record(http_request(port, "POST", "/items/c", R"({"qty":0})"));  // bodySchema: 400
  record(http_request(port, "POST", "/items/c", R"({"qty":)"));    // bad JSON: 400
  BOOST_REQUIRE(eventually([&] {
    auto s = app.state().get("stats", "all");
    return s && (*s)["count"] == 2;
  }));
  record(http_request(port, "GET", "/items/a"));
  record(http_request(port, "GET", "/items/zzz"));
  record(http_request(port, "PUT", "/items/a"));
  o.state = {{"items", app.state().get_group("items")}, {"stats", app.state().get_group("stats")}};
  app.stop();
  return o;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_same_flow_in_javascript_typescript_and_python_behaves_the_same) {
  std::map<std::string, outcome> results;
  {
    temp_project p;
    write_js(p, "js");
    results["javascript"] = run_flow(p);
  }
  {
    temp_project p;
    write_js(p, "ts");
    results["typescript"] = run_flow(p);
  }
  {
    temp_project p;
    write_python(p);
    results["python"] = run_flow(p);
  }
  auto& js = results["javascript"];
  BOOST_REQUIRE_EQUAL(js.responses.size(), 7u);
  BOOST_CHECK_EQUAL(js.responses[0], R"(201 {"id":"a","qty":2,"tag":"red"})");
  BOOST_CHECK(js.responses[2].rfind("400 ", 0) == 0 && js.responses[2].find("invalid_body") != std::string::npos);
  BOOST_CHECK(js.responses[3].rfind("400 ", 0) == 0 && js.responses[3].find("bad_json") != std::string::npos);
  BOOST_CHECK_EQUAL(js.responses[4], R"(200 {"item":{"id":"a","qty":2,"tag":"red"},"stats":{"count":2,"qty":5}})");
  BOOST_CHECK_EQUAL(js.responses[5], R"(404 {"error":"no such item"})");
  BOOST_CHECK(js.responses[6].rfind("405 ", 0) == 0);
  for (auto& lang : {"typescript", "python"}) {
    auto& r = results[lang];
    BOOST_REQUIRE_EQUAL(r.responses.size(), js.responses.size());
    for (std::size_t i = 0; i < r.responses.size(); ++i)
      BOOST_CHECK_MESSAGE(r.responses[i] == js.responses[i],
                          lang << " request " << i << ": " << r.responses[i] << " vs " << js.responses[i]);
    BOOST_CHECK_MESSAGE(r.state == js.state, lang << " state " << r.state.dump() << " vs " << js.state.dump());
  }
}

BOOST_AUTO_TEST_CASE(the_polyglot_example_passes_one_flow_through_typescript_python_and_javascript) {
  temp_project p;
  std::filesystem::copy(std::filesystem::path(MOTIA_SOURCE_DIR) / "examples/polyglot", p.dir,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  motia::app app;
  auto err = app.start({p.dir, 0, std::nullopt, std::nullopt, true});
  BOOST_REQUIRE_MESSAGE(!err, err.value_or(""));
  auto r = http_request(app.port(), "POST", "/reviews", R"({"id":"r1","text":"great and fast","stars":4})");
  BOOST_REQUIRE_EQUAL(r.status, 202);
  BOOST_REQUIRE(eventually([&] {
    auto v = app.state().get("reviews", "r1");
    return v && (*v)["status"] == "scored";
  }));
  BOOST_CHECK_EQUAL((*app.state().get("reviews", "r1"))["score"], 100);
  auto get = http_request(app.port(), "GET", "/reviews/r1");
  BOOST_CHECK_EQUAL(get.status, 200);
  BOOST_CHECK((json::parse(get.body)["stats"] == json{{"points", 100}, {"scored", 1}}));
  auto bad = http_request(app.port(), "POST", "/reviews", R"({"id":"r2","stars":9})");
  BOOST_CHECK_EQUAL(bad.status, 400);
  BOOST_CHECK(bad.body.find("/stars") != std::string::npos);
  app.stop();
}

BOOST_AUTO_TEST_CASE(step_files_that_fail_to_load_are_named_with_file_and_line_in_every_language) {
  temp_project p;
  p.write("steps/broken.step.ts", "export const config = { type: 'api', name: 'a', path: '/a', method: 'GET' }\n"
                                  "export const handler = async ( => {}\n");
  p.write("steps/broken_step.py", "config = {'type': 'event', 'name': 'b', 'subscribes': ['x']}\n\n"
                                  "def handler(data, context)\n    pass\n");
  p.write("steps/fine.step.js", "exports.config = { type: 'api', name: 'c', path: '/c', method: 'GET' }\n"
                                "exports.handler = async () => ({ status: 200, body: {} })\n");
  motia::app app;
  auto err = app.start({p.dir, 0, std::nullopt, std::nullopt, true});
  BOOST_REQUIRE(err.has_value());
  BOOST_TEST_MESSAGE(*err);
  BOOST_CHECK_MESSAGE(err->find("broken.step.ts:2") != std::string::npos, *err);
  BOOST_CHECK_MESSAGE(err->find("broken_step.py:3") != std::string::npos, *err);
  BOOST_CHECK(err->find("fine.step.js") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_python_worker_killed_mid_call_is_restarted_and_the_call_retried) {
  temp_project p;
  p.write("steps/kick.step.js", R"(
exports.config = { type: 'api', name: 'kick', path: '/kick', method: 'POST', emits: ['job'] }
exports.handler = async (req, ctx) => { await ctx.emit({ topic: 'job', data: { id: 'j' } }); return { status: 202, body: {} } }
)");
  p.write("steps/job_step.py", R"(import asyncio, os

config = {"type": "event", "name": "job", "subscribes": ["job"], "emits": [],
          "infrastructure": {"queue": {"maxRetries": 3, "backoffType": "fixed", "backoffDelayMs": 20}}}

async def handler(data, context):
    if context.attempt == 1:
        await context.state.set("job", "pid", os.getpid())
        await asyncio.sleep(30)
    await context.state.set("job", "done", {"attempt": context.attempt, "pid": os.getpid()})
)");
  motia::app app;
  auto err = app.start({p.dir, 0, std::nullopt, std::nullopt, true});
  BOOST_REQUIRE_MESSAGE(!err, err.value_or(""));
  BOOST_REQUIRE_EQUAL(http_request(app.port(), "POST", "/kick", "{}").status, 202);
  BOOST_REQUIRE(eventually([&] { return app.state().get("job", "pid").has_value(); }));
  auto pid = app.state().get("job", "pid")->get<int>();
  BOOST_REQUIRE(::kill(pid, SIGKILL) == 0);
  BOOST_REQUIRE(eventually([&] { return app.state().get("job", "done").has_value(); }, std::chrono::seconds(20)));
  auto done = *app.state().get("job", "done");
  BOOST_CHECK_EQUAL(done["attempt"], 2);
  BOOST_CHECK(done["pid"].get<int>() != pid); // a new worker process ran the retry
  app.stop();
}
