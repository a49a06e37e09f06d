#include "core/delivery.hpp"

#define BOOST_TEST_MODULE delivery
#include <boost/test/unit_test.hpp>

#include <set>
#include <vector>

#include "core/json_schema.hpp"
#include "core/state_update.hpp"

using namespace motia;
using namespace std::chrono_literals;

namespace {

std::vector<std::uint64_t> drain(delivery_scheduler& s) {
  std::vector<std::uint64_t> out;
  while (auto seq = s.next())
    out.push_back(*seq);
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(scheduler)

BOOST_AUTO_TEST_CASE(standard_runs_in_arrival_order_up_to_the_concurrency) {
  delivery_scheduler s(2, false);
  for (std::uint64_t i = 1; i <= 5; ++i)
    s.push(i, "");
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{1, 2}), boost::test_tools::per_element());
  BOOST_TEST(s.running() == 2u);
  BOOST_TEST(s.ready() == 3u);
  s.finished("");
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{3}), boost::test_tools::per_element());
  s.retry_wait(""); // a failure frees its slot...
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{4}), boost::test_tools::per_element());
  s.finished("");
  s.retry_ready(3); // ...and its retry goes before new deliveries
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{3}), boost::test_tools::per_element());
  s.finished("");
  s.finished("");
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{5}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fifo_runs_one_per_group_in_order_and_groups_in_parallel) {
  delivery_scheduler s(8, true);
  s.push(1, "a");
  s.push(2, "a");
  s.push(3, "b");
  s.push(4, "a");
  s.push(5, "c");
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{1, 3, 5}), boost::test_tools::per_element());
  s.finished("b");
  BOOST_TEST(drain(s).empty()); // b has nothing left; a is still busy
  s.finished("a");
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{2}), boost::test_tools::per_element());
  s.finished("a");
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fifo_keeps_a_group_blocked_while_its_head_waits_for_a_retry) {
  delivery_scheduler s(8, true);
  s.push(1, "a");
  s.push(2, "a");
  s.push(3, "b");
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{1, 3}), boost::test_tools::per_element());
  s.retry_wait("a");
  BOOST_TEST(drain(s).empty()); // 2 must not overtake 1
  s.retry_ready(1);
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{1}), boost::test_tools::per_element());
  s.finished("a");
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fifo_respects_the_concurrency_across_groups) {
  delivery_scheduler s(2, true);
  s.push(1, "a");
  s.push(2, "b");
  s.push(3, "c");
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{1, 2}), boost::test_tools::per_element());
  s.finished("b");
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_claimed_group_waits_for_its_pending_retry) {
  delivery_scheduler s(4, true);
  s.claim("a"); // loaded from the store with a retry due later
  s.push(2, "a");
  s.push(3, "b");
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{3}), boost::test_tools::per_element());
  s.retry_ready(1);
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{1}), boost::test_tools::per_element());
  s.finished("a");
  BOOST_TEST(drain(s) == (std::vector<std::uint64_t>{2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(retries)

BOOST_AUTO_TEST_CASE(fixed_backoff_is_the_same_every_time) {
  queue_settings q;
  q.exponential = false;
  q.backoff_delay = 250ms;
  for (unsigned n = 1; n <= 5; ++n)
    for (double r : {0.0, 0.5, 1.0})
      BOOST_TEST(retry_delay(q, n, r).count() == 250);
}

BOOST_AUTO_TEST_CASE(exponential_backoff_doubles_with_jitter_and_a_cap) {
  queue_settings q;
  q.exponential = true;
  q.backoff_delay = 1000ms;
  BOOST_TEST(retry_delay(q, 1, 0.5).count() == 1000);
  BOOST_TEST(retry_delay(q, 2, 0.5).count() == 2000);
  BOOST_TEST(retry_delay(q, 3, 0.5).count() == 4000);
  BOOST_TEST(retry_delay(q, 3, 0.0).count() == 3200); // -20 %
  BOOST_TEST(retry_delay(q, 3, 1.0).count() == 4800); // +20 %
  BOOST_TEST(retry_delay(q, 40, 0.5).count() == 3'600'000); // capped at 1 h
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(queue_records_round_trip) {
  queued_event e;
  e.step = "record";
  e.topic = "order.created";
  e.data = payload::from_json({{"id", 7}, {"items", {1, 2}}});
  e.trace_id = "t-1";
  e.message_group_id = "g";
  e.message_id = "m-1";
  e.attempts = 2;
  e.enqueued_at_ms = 1700000000000;
  e.retry_at_ms = 1700000001000;
  e.last_error = "boom";
  queued_event back;
  std::string err;
  BOOST_REQUIRE(decode_queued_event(payload::adopt(encode_queued_event(e)), back, err));
  BOOST_TEST(back.step == e.step);
  BOOST_TEST(back.topic == e.topic);
  BOOST_TEST(back.data.bytes() == e.data.bytes()); // spliced as it was, not re-encoded
  BOOST_TEST(back.trace_id == e.trace_id);
  BOOST_TEST(back.message_group_id == e.message_group_id);
  BOOST_TEST(back.message_id == e.message_id);
  BOOST_TEST(back.attempts == 2u);
  BOOST_TEST(back.enqueued_at_ms == e.enqueued_at_ms);
  BOOST_TEST(back.retry_at_ms == e.retry_at_ms);
  BOOST_TEST(back.last_error == "boom");
  BOOST_TEST(!decode_queued_event(payload::adopt("\x93\x01\x02\x03"), back, err));
  BOOST_TEST(!err.empty());
  BOOST_TEST(!decode_queued_event(payload::adopt(""), back, err));
}

BOOST_AUTO_TEST_CASE(shards_are_stable_and_spread_by_group) {
  BOOST_TEST(shard_of("step", "g-1", 1) == 0);
  BOOST_TEST(shard_of("step", "g-1", 8) == shard_of("step", "g-1", 8));
  // ("ab", "c") and ("a", "bc") are different partitions' keys.
  std::set<std::uint16_t> seen;
  for (int i = 0; i < 200; ++i)
    seen.insert(shard_of("step", "group-" + std::to_string(i), 8));
  BOOST_TEST(seen.size() == 8u);
}

BOOST_AUTO_TEST_SUITE(update_ops)

json applied(json v, const json& ops) {
  std::string err;
  BOOST_REQUIRE_MESSAGE(apply_update_ops(v, ops, err), err);
  return v;
}

std::string fails(json v, const json& ops) {
  std::string err;
  BOOST_TEST(!apply_update_ops(v, ops, err));
  return err;
}

BOOST_AUTO_TEST_CASE(each_op) {
  BOOST_TEST((applied(nullptr, json::parse(R"([{"type":"increment","path":"n"}])")) == json::parse(R"({"n":1})")));
  BOOST_TEST((applied(json::parse(R"({"n":5})"), json::parse(R"([{"type":"decrement","path":"n","by":2}])"))
             == json::parse(R"({"n":3})")));
  BOOST_TEST((applied(json::parse(R"({"n":1.5})"), json::parse(R"([{"type":"increment","path":"n","by":1}])"))
             == json::parse(R"({"n":2.5})")));
  BOOST_TEST((applied(nullptr, json::parse(R"([{"type":"set","path":"a.b","value":[1]}])"))
             == json::parse(R"({"a":{"b":[1]}})")));
  BOOST_TEST((applied(json::parse(R"({"a":{"x":1,"y":2}})"), json::parse(R"([{"type":"merge","path":"a","value":{"y":3,"z":4}}])"))
             == json::parse(R"({"a":{"x":1,"y":3,"z":4}})")));
  BOOST_TEST((applied(json::parse(R"({"a":1,"b":2})"), json::parse(R"([{"type":"remove","path":"a"}])"))
             == json::parse(R"({"b":2})")));
  BOOST_TEST((applied(json::parse(R"({"b":2})"), json::parse(R"([{"type":"remove","path":"x.y"}])"))
             == json::parse(R"({"b":2})"))); // nothing created on the way
  BOOST_TEST((applied(json::parse(R"({"a":1})"), json::parse(R"([{"type":"set","value":7}])")) == json(7)));
  BOOST_TEST((applied(nullptr, json::parse(R"([{"type":"increment","path":"n"},{"type":"increment","path":"n","by":4}])"))
             == json::parse(R"({"n":5})")));
}

BOOST_AUTO_TEST_CASE(ops_that_do_not_fit_are_refused) {
  BOOST_TEST(fails(json::parse(R"({"n":"x"})"), json::parse(R"([{"type":"increment","path":"n"}])")).find("not a number") != std::string::npos);
  BOOST_TEST(fails(json::parse(R"({"a":[1]})"), json::parse(R"([{"type":"merge","path":"a","value":{}}])")).find("not an object") != std::string::npos);
  BOOST_TEST(fails(nullptr, json::parse(R"([{"type":"explode"}])")).find("unknown op") != std::string::npos);
  BOOST_TEST(fails(nullptr, json::parse(R"({"type":"set"})")).find("array") != std::string::npos);
  BOOST_TEST(fails(nullptr, json::parse(R"([{"type":"set","path":"a"}])")).find("value") != std::string::npos);
  BOOST_TEST(fails(json::parse(R"({"a":3})"), json::parse(R"([{"type":"set","path":"a.b","value":1}])")).find("not an object") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(json_schema_validates_and_names_the_path) {
  std::string err;
  auto schema = json_schema::compile(json::parse(R"({
    "type":"object","required":["id","items"],
    "properties":{"id":{"type":"string"},
                  "items":{"type":"array","items":{"type":"object","properties":{"qty":{"type":"integer","minimum":1}}}}}})"),
                                     err);
  BOOST_REQUIRE_MESSAGE(schema, err);
  std::vector<std::string> problems;
  BOOST_TEST(schema->validate(json::parse(R"({"id":"a","items":[{"qty":2}]})"), problems));
  BOOST_TEST(problems.empty());
  BOOST_TEST(!schema->validate(json::parse(R"({"id":"a","items":[{"qty":0}]})"), problems));
  bool named = false;
  for (auto& p : problems)
    named = named || p.find("/items/0/qty") != std::string::npos;
  BOOST_TEST(named, "problems: " << problems.size());
  problems.clear();
  BOOST_TEST(!schema->validate(json::parse(R"({"items":[]})"), problems));
  BOOST_TEST(!problems.empty());
  BOOST_TEST(!json_schema::compile(json("nope"), err));
  BOOST_TEST(!err.empty());
}
