#include "actors/protocol.hpp"

#define BOOST_TEST_MODULE protocol
#include <boost/test/unit_test.hpp>

#include <functional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "core/error.hpp"

// Every message type of the actor protocol goes through CAF's binary
// serializer and back, inside a caf::message as it would cross a node: by its
// registered name, with every field. Equality is checked by serializing the
// copy again (the bytes must match) and by reading fields back.

namespace {

using namespace motia;

queued_event sample_row() {
  queued_event e;
  e.seq = 42;
  e.step = "charge";
  e.shard = 3;
  e.topic = "order.placed";
  e.data = payload::from_json({{"id", "o-1"}, {"qty", 2}, {"nested", {{"a", {1, 2, 3}}}}});
  e.trace_id = "trace-1";
  e.message_group_id = "customer-7";
  e.message_id = "m-1";
  e.attempts = 2;
  e.enqueued_at_ms = 1700000000000;
  e.retry_at_ms = 1700000001000;
  e.last_error = "boom\nat line 3";
  e.failed_at_ms = 1700000002000;
  return e;
}

struct round_trip_case {
  const char* name;
  std::function<caf::message()> make;
  std::function<void(const caf::message&)> check;
};

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  fixture() {
    cfg.set("logger.verbosity", caf::atom("quiet"));
    add_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  std::vector<char> save(const caf::message& m) {
    std::vector<char> buf;
    caf::binary_serializer sink{*sys, buf};
    auto err = sink(const_cast<caf::message&>(m));
    BOOST_REQUIRE_MESSAGE(!err, "serialize: " << caf::to_string(err));
    return buf;
  }
  caf::message load(const std::vector<char>& buf) {
    caf::message m;
    caf::binary_deserializer source{*sys, buf};
    auto err = source(m);
    BOOST_REQUIRE_MESSAGE(!err, "deserialize: " << caf::to_string(err));
    return m;
  }
};

void same_row(const queued_event& a, const queued_event& b) {
  BOOST_TEST(a.seq == b.seq);
  BOOST_TEST(a.step == b.step);
  BOOST_TEST(a.shard == b.shard);
  BOOST_TEST(a.topic == b.topic);
  BOOST_TEST(a.data.bytes() == b.data.bytes());
  BOOST_TEST(a.trace_id == b.trace_id);
  BOOST_TEST(a.message_group_id == b.message_group_id);
  BOOST_TEST(a.message_id == b.message_id);
  BOOST_TEST(a.attempts == b.attempts);
  BOOST_TEST(a.enqueued_at_ms == b.enqueued_at_ms);
  BOOST_TEST(a.retry_at_ms == b.retry_at_ms);
  BOOST_TEST(a.last_error == b.last_error);
  BOOST_TEST(a.failed_at_ms == b.failed_at_ms);
}

std::vector<round_trip_case> cases() {
  return {
    {"api_call",
     [] {
       return caf::make_message(api_call{7, 2, "hello", payload::from_json({{"body", {{"a", 1}}}}), "t", true});
     },
     [](const caf::message& m) {
       auto& x = m.get_as<api_call>(0);
       BOOST_TEST(x.request == 7u);
       BOOST_TEST(x.node == 2u);
       BOOST_TEST(x.step == "hello");
       BOOST_TEST(x.input.to_json()["body"]["a"] == 1);
       BOOST_TEST(x.validate_in_worker);
     }},
    {"api_result with an error",
     [] { return caf::make_message(api_result{9, payload{}, make_error(errc::handler_timeout, "late"), true}); },
     [](const caf::message& m) {
       auto& x = m.get_as<api_result>(0);
       BOOST_TEST(x.request == 9u);
       BOOST_TEST((code_of(x.error) == errc::handler_timeout));
       BOOST_TEST(message_of(x.error) == "late");
       BOOST_TEST(x.overloaded);
     }},
    {"delivery_batch",
     [] { return caf::make_message(rows_atom::value, delivery_batch{"charge", 3, {sample_row(), sample_row()}}); },
     [](const caf::message& m) {
       auto& x = m.get_as<delivery_batch>(1);
       BOOST_TEST(x.step == "charge");
       BOOST_TEST(x.shard == 3);
       BOOST_REQUIRE(x.rows.size() == 2u);
       same_row(x.rows[1], sample_row());
     }},
    {"delivery_outcome",
     [] { return caf::make_message(delivery_outcome{outcome::bury, sample_row(), {sample_row()}, true}); },
     [](const caf::message& m) {
       auto& x = m.get_as<delivery_outcome>(0);
       BOOST_TEST((x.what == outcome::bury));
       same_row(x.row, sample_row());
       BOOST_TEST(x.emits.size() == 1u);
       BOOST_TEST(x.report);
     }},
    {"commit_report",
     [] { return caf::make_message(committed_atom::value, commit_report{5, make_error(errc::storage_error, "disk")}); },
     [](const caf::message& m) {
       auto& x = m.get_as<commit_report>(1);
       BOOST_TEST(x.seq == 5u);
       BOOST_TEST((code_of(x.error) == errc::storage_error));
     }},
    {"scan_result",
     [] { return caf::make_message(scanned_atom::value, scan_result{{sample_row()}, true, 4}); },
     [](const caf::message& m) {
       auto& x = m.get_as<scan_result>(1);
       BOOST_TEST(x.rows.size() == 1u);
       BOOST_TEST(x.complete);
       BOOST_TEST(x.generation == 4u);
     }},
    {"invocation_done",
     [] { return caf::make_message(invoked_atom::value, invocation_done{11, payload::from_json({{"status", 200}}), {}}); },
     [](const caf::message& m) {
       auto& x = m.get_as<invocation_done>(1);
       BOOST_TEST(x.token == 11u);
       BOOST_TEST(x.value.to_json()["status"] == 200);
       BOOST_TEST(!x.error);
     }},
    {"cron_tick",
     [] { return caf::make_message(cron_tick{"trace-c", 1700000060000}); },
     [](const caf::message& m) {
       auto& x = m.get_as<cron_tick>(0);
       BOOST_TEST(x.trace_id == "trace-c");
       BOOST_TEST(x.at_ms == 1700000060000);
     }},
    {"ws_subscription",
     [] { return caf::make_message(ws_join_atom::value, ws_subscription{3, "todo", "g", "i", "s1"}); },
     [](const caf::message& m) {
       auto& x = m.get_as<ws_subscription>(1);
       BOOST_TEST(x.conn == 3u);
       BOOST_TEST(x.stream == "todo");
       BOOST_TEST(x.id == "i");
       BOOST_TEST(x.subscription_id == "s1");
     }},
    {"ws_auth_request",
     [] { return caf::make_message(ws_auth_atom::value, ws_auth_request{8, payload::from_json({{"url", "/?t=1"}})}); },
     [](const caf::message& m) {
       auto& x = m.get_as<ws_auth_request>(1);
       BOOST_TEST(x.id == 8u);
       BOOST_TEST(x.request.to_json()["url"] == "/?t=1");
     }},
    {"stream_change",
     [] {
       return caf::make_message(stream_change{"todo", "g", "i", std::make_shared<const std::string>("{\"x\":1}")});
     },
     [](const caf::message& m) {
       auto& x = m.get_as<stream_change>(0);
       BOOST_TEST(x.stream == "todo");
       BOOST_REQUIRE(x.message);
       BOOST_TEST(*x.message == "{\"x\":1}");
     }},
  };
}

} // namespace

BOOST_FIXTURE_TEST_CASE(every_message_type_round_trips_through_the_binary_serializer, fixture) {
  for (auto& c : cases()) {
    BOOST_TEST_CONTEXT(c.name) {
      auto m = c.make();
      auto bytes = save(m);
      auto back = load(bytes);
      BOOST_REQUIRE(back.size() == m.size());
      c.check(back);
      BOOST_TEST((save(back) == bytes)); // nothing lost or added on the way
    }
  }
}

BOOST_FIXTURE_TEST_CASE(a_payload_is_carried_as_its_bytes_not_re_encoded, fixture) {
  // Key order and encodings chosen by a worker survive the trip.
  std::string raw("\x82\xa1z\x01\xa1" "a\xcd\x00\x05", 10); // {"z":1,"a":5 as uint16}
  auto back = load(save(caf::make_message(invocation_done{1, payload::adopt(raw), {}})));
  BOOST_TEST(back.get_as<invocation_done>(0).value.bytes() == raw);
}
