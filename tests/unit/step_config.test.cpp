#include "core/step_config.hpp"

#define BOOST_TEST_MODULE step_config
#include <boost/test/unit_test.hpp>

using motia::json;
using motia::step_kind;
using motia::step_language;

namespace {

std::optional<motia::step_config> parse(const std::string& text, std::string& err) {
  return motia::parse_step_config(json::parse(text), "steps/x.step.js", step_language::node, err);
}

} // namespace

BOOST_AUTO_TEST_CASE(valid_configs_of_every_kind_and_form_are_accepted) {
  struct row {
    const char* text;
    step_kind kind;
  };
  const row rows[] = {
    {R"({"type":"api","name":"a","path":"/x/:id","method":"get"})", step_kind::api},
    {R"({"type":"event","name":"e","subscribes":["t"],"emits":["u",{"topic":"v","label":"l"}]})",
     step_kind::event},
    {R"({"type":"cron","name":"c","cron":"*/5 * * * *"})", step_kind::cron},
    {R"({"type":"noop","name":"n","virtualEmits":["x"],"virtualSubscribes":["y"]})", step_kind::noop},
    {R"({"name":"h","triggers":[{"type":"http","path":"/h","method":"POST"}],"enqueues":["q"]})",
     step_kind::api},
    {R"({"name":"q","triggers":[{"type":"queue","topic":"a"},{"type":"queue","topic":"b"}]})",
     step_kind::event},
    {R"({"name":"k","triggers":[{"type":"cron","expression":"0 * * * *"}]})", step_kind::cron},
  };
  for (auto& r : rows) {
    std::string err;
    auto cfg = parse(r.text, err);
    BOOST_TEST_CONTEXT(r.text) {
      BOOST_REQUIRE_MESSAGE(cfg, err);
      BOOST_CHECK(cfg->kind == r.kind);
      BOOST_CHECK_EQUAL(cfg->file, "steps/x.step.js");
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_configs_are_refused_with_a_reason_naming_the_field) {
  struct row {
    const char* text;
    const char* reason;
  };
  const row rows[] = {
    {R"([])", "config must be an object"},
    {R"({"type":"api","path":"/x","method":"GET"})", "'name' is required"},
    {R"({"type":"api","name":"","path":"/x","method":"GET"})", "'name' must be a non-empty string"},
    {R"({"type":"event","name":"a\u0000b","subscribes":["t"]})", "'name' must not contain control characters"},
    {R"({"type":"webhook","name":"w"})", "'type' webhook is not one of"},
    {R"({"name":"w"})", "'type' is required"},
    {R"({"type":"api","name":"a","path":"x","method":"GET"})", "must start with '/'"},
    {R"({"type":"api","name":"a","path":"/x/:","method":"GET"})", "'path' /x/:"},
    {R"({"type":"api","name":"a","path":"/x","method":"FETCH"})", "'method' FETCH is not one of"},
    {R"({"type":"api","name":"a","method":"GET"})", "'path' is required"},
    {R"({"type":"event","name":"e"})", "'subscribes' must list at least one topic"},
    {R"({"type":"event","name":"e","subscribes":"t"})", "'subscribes' must be an array"},
    {R"({"type":"event","name":"e","subscribes":["t"],"infrastructure":{"queue":{"type":"lifo"}}})",
     "queue 'type' lifo"},
    {R"({"type":"event","name":"e","subscribes":["t"],"infrastructure":{"queue":{"maxRetries":-1}}})",
     "'maxRetries' must be between"},
    {R"({"type":"cron","name":"c","cron":"61 * * * *"})", "'cron' \"61 * * * *\" is invalid"},
    {R"({"type":"cron","name":"c","cron":"* * * *"})", "is invalid"},
    {R"({"type":"cron","name":"c"})", "'cron' is required"},
    {R"({"type":"noop","name":"n","emits":[5]})", "'emits' entries must be"},
    {R"({"name":"m","triggers":[{"type":"http","path":"/a","method":"GET"},{"type":"cron","expression":"* * * * *"}]})",
     "triggers of different types"},
    {R"({"name":"m","triggers":[{"type":"smtp"}]})", "trigger type 'smtp'"},
  };
  for (auto& r : rows) {
    std::string err;
    auto cfg = parse(r.text, err);
    BOOST_TEST_CONTEXT(r.text) {
      BOOST_CHECK(!cfg);
      BOOST_CHECK_MESSAGE(err.find(r.reason) != std::string::npos, "got: " << err);
    }
  }
}

BOOST_AUTO_TEST_CASE(queue_settings_take_motia_names_and_defaults) {
  std::string err;
  auto d = parse(R"({"type":"event","name":"e","subscribes":["t"]})", err);
  BOOST_REQUIRE(d);
  BOOST_CHECK_EQUAL(d->queue.max_retries, 3u);
  BOOST_CHECK(!d->queue.fifo);
  auto c = parse(R"({"type":"event","name":"e","subscribes":["t"],"infrastructure":{
      "handler":{"timeout":5},
      "queue":{"type":"fifo","maxRetries":7,"delaySeconds":2,"visibilityTimeout":30}}})", err);
  BOOST_REQUIRE_MESSAGE(c, err);
  BOOST_CHECK(c->queue.fifo);
  BOOST_CHECK_EQUAL(c->queue.max_retries, 7u);
  BOOST_CHECK_EQUAL(c->queue.delay.count(), 2000);
  BOOST_CHECK_EQUAL(c->queue.backoff_delay.count(), 2000);
  BOOST_CHECK_EQUAL(c->queue.concurrency, 1u); // fifo defaults to one at a time
  BOOST_CHECK_EQUAL(c->timeout.count(), 5000);
  auto t = parse(R"({"name":"q","triggers":[{"type":"queue","topic":"a",
      "config":{"backoffType":"fixed","backoffDelayMs":250,"concurrency":4}}]})", err);
  BOOST_REQUIRE_MESSAGE(t, err);
  BOOST_CHECK(!t->queue.exponential);
  BOOST_CHECK_EQUAL(t->queue.backoff_delay.count(), 250);
  BOOST_CHECK_EQUAL(t->queue.concurrency, 4u);
}

BOOST_AUTO_TEST_CASE(may_emit_allows_declared_topics_or_anything_when_emits_is_empty) {
  std::string err;
  auto open = parse(R"({"type":"noop","name":"n"})", err);
  auto strict = parse(R"({"type":"noop","name":"n","emits":["a",{"topic":"b"}]})", err);
  BOOST_REQUIRE(open && strict);
  BOOST_CHECK(open->may_emit("anything"));
  BOOST_CHECK(strict->may_emit("a"));
  BOOST_CHECK(strict->may_emit("b"));
  BOOST_CHECK(!strict->may_emit("c"));
}

BOOST_AUTO_TEST_CASE(a_project_with_duplicate_names_or_routes_is_refused) {
  std::string err;
  auto a = parse(R"({"type":"api","name":"a","path":"/users/:id","method":"GET"})", err);
  auto b = parse(R"({"type":"api","name":"a","path":"/other","method":"GET"})", err);
  auto c = parse(R"({"type":"api","name":"c","path":"/users/:uid","method":"GET"})", err);
  auto d = parse(R"({"type":"api","name":"d","path":"/users/:uid","method":"POST"})", err);
  BOOST_REQUIRE(a && b && c && d);
  auto problems = motia::validate_project({*a, *b, *c, *d});
  BOOST_REQUIRE_EQUAL(problems.size(), 2u);
  BOOST_CHECK(problems[0].message.find("step name 'a' is already used") != std::string::npos);
  BOOST_CHECK(problems[1].message.find("route GET /users/:uid") != std::string::npos);
  BOOST_CHECK(motia::validate_project({*a, *d}).empty());
}
