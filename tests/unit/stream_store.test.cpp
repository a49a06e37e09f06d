#include "adapters/rocksdb/stream_store.hpp"

#define BOOST_TEST_MODULE stream_store
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "adapters/rocksdb/database.hpp"
#include "tests/support/rocksdb.hpp"

using motia::json;
namespace rocks = motia::rocks;

using motia::test::open_db;
using motia::test::temp_dir;

namespace {

// A store on a real DB with a frozen clock (tests move it by hand) and a
// listener that records every announced message.
struct fixture {
  temp_dir dir; // members are destroyed in reverse: store, db, then dir
  std::unique_ptr<rocks::database> db = open_db(dir.path);
  std::atomic<std::int64_t> now{1000};
  std::mutex events_mutex;
  std::vector<rocks::stream_event> events;
  std::unique_ptr<rocks::stream_store> store = make_store();

  std::unique_ptr<rocks::stream_store> make_store() {
    auto s = std::make_unique<rocks::stream_store>(*db, [this] { return now.load(); });
    s->set_listener([this](rocks::stream_event&& e) {
      std::lock_guard<std::mutex> guard(events_mutex);
      events.push_back(std::move(e));
    });
    return s;
  }

  void reopen() {
    store.reset();
    db.reset();
    db = open_db(dir.path);
    store = make_store();
  }

  json message(std::size_t i) const { return json::parse(*events.at(i).message); }
  std::int64_t ts(std::size_t i) const { return message(i).at("timestamp").get<std::int64_t>(); }
  std::int64_t last_ts() const { return ts(events.size() - 1); }

  // The raw value of row `stream 0 group 0 id` in column family `streams`.
  std::string raw_value(const std::string& key) {
    std::string v;
    BOOST_REQUIRE(db->db()->Get(rocksdb::ReadOptions(), db->cf("streams"), key, &v).ok());
    return v;
  }
};

std::string row_key(const std::string& stream, const std::string& group, const std::string& id) {
  return stream + '\0' + group + '\0' + id;
}

std::int64_t big_endian_ts(const std::string& value) {
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < 8; ++i)
    u = (u << 8) | static_cast<unsigned char>(value.at(i));
  return static_cast<std::int64_t>(u);
}

// The keys of a parsed message, for exact shape checks.
std::vector<std::string> keys_of(const json& j) {
  std::vector<std::string> out;
  for (const auto& [k, v] : j.items())
    out.push_back(k);
  return out;
}

using strings = std::vector<std::string>;

} // namespace

BOOST_FIXTURE_TEST_SUITE(stream_store, fixture)

BOOST_AUTO_TEST_CASE(set_announces_create_then_update_with_the_item_and_its_id) {
  const json first = store->set("todo", "inbox", "t1", json{{"title", "milk"}, {"id", "other"}});
  BOOST_TEST(first == (json{{"title", "milk"}, {"id", "t1"}}));
  store->set("todo", "inbox", "t1", json{{"title", "bread"}});
  BOOST_REQUIRE_EQUAL(events.size(), 2u);

  const json created = message(0);
  BOOST_TEST(keys_of(created) == (strings{"event", "groupId", "id", "streamName", "timestamp"}),
             boost::test_tools::per_element());
  BOOST_TEST(created.at("timestamp") == 1000);
  BOOST_TEST(created.at("streamName") == "todo");
  BOOST_TEST(created.at("groupId") == "inbox");
  BOOST_TEST(created.at("id") == "t1");
  BOOST_TEST(created.at("event") == (json{{"type", "create"}, {"data", first}}));

  const json updated = message(1);
  BOOST_TEST(updated.at("timestamp") == 1001);
  BOOST_TEST(updated.at("event").at("type") == "update");
  BOOST_TEST(updated.at("event").at("data") == (json{{"title", "bread"}, {"id", "t1"}}));

  BOOST_TEST(events[1].stream == "todo");
  BOOST_TEST(events[1].group == "inbox");
  BOOST_TEST(events[1].id == "t1");
  BOOST_TEST(store->get("todo", "inbox", "t1").value_or(json()) == updated["event"]["data"]);
}

BOOST_AUTO_TEST_CASE(names_are_json_escaped_in_messages) {
  const std::string name = "a\"b\\c\n\xC3\xA9";
  store->set(name, name, name, json::object());
  const json m = message(0);
  BOOST_TEST(m.at("streamName") == name);
  BOOST_TEST(m.at("groupId") == name);
  BOOST_TEST(m.at("id") == name);
  BOOST_TEST(m.at("event").at("data").at("id") == name);
}

BOOST_AUTO_TEST_CASE(get_group_is_ordered_by_id_and_isolated_from_longer_group_names) {
  for (const char* id : {"b", "10", "a", "9"})
    store->set("s", "a", id, json{{"n", id}});
  store->set("s", "ab", "x", json::object());
  store->set("sa", "b", "y", json::object()); // "s" 0 "a" vs "sa" 0 "b"
  std::vector<std::string> ids;
  for (const auto& item : store->get_group("s", "a"))
    ids.push_back(item.at("id").get<std::string>());
  BOOST_TEST(ids == (strings{"10", "9", "a", "b"}), boost::test_tools::per_element());
  BOOST_TEST(store->get_group("s", "ab") == (json::array({json{{"id", "x"}}})));
  BOOST_TEST(store->get_group("s", "b") == json::array());
  BOOST_TEST(store->get_group("s", "none") == json::array());
  BOOST_TEST(!store->get("s", "ab", "a").has_value());
}

BOOST_AUTO_TEST_CASE(del_announces_and_returns_the_removed_item) {
  store->set("s", "g", "i", json{{"v", 1}});
  const auto removed = store->del("s", "g", "i");
  BOOST_TEST(removed.value_or(json()) == (json{{"v", 1}, {"id", "i"}}));
  BOOST_REQUIRE_EQUAL(events.size(), 2u);
  const json m = message(1);
  BOOST_TEST(m.at("id") == "i");
  BOOST_TEST(m.at("event") == (json{{"type", "delete"}, {"data", *removed}}));
  BOOST_TEST(!store->get("s", "g", "i").has_value());
  BOOST_TEST(store->get_group("s", "g") == json::array());
}

BOOST_AUTO_TEST_CASE(del_of_a_missing_item_returns_nothing_and_announces_nothing) {
  BOOST_TEST(!store->del("s", "g", "missing").has_value());
  store->set("s", "g", "i", json::object());
  store->del("s", "g", "i");
  BOOST_TEST(!store->del("s", "g", "i").has_value());
  BOOST_TEST(events.size() == 2u);
}

BOOST_AUTO_TEST_CASE(send_to_a_group_has_no_id_key_and_send_to_an_item_has_one) {
  const json event{{"type", "typing"}, {"data", {{"user", "ann"}}}};
  store->send("chat", "room", "", event);
  store->send("chat", "room", "m1", event);
  BOOST_REQUIRE_EQUAL(events.size(), 2u);

  const json group = message(0);
  BOOST_TEST(keys_of(group) == (strings{"event", "groupId", "streamName", "timestamp"}),
             boost::test_tools::per_element());
  BOOST_TEST(group.at("event") == (json{{"type", "event"}, {"event", event}}));
  BOOST_TEST(events[0].id.empty());

  const json item = message(1);
  BOOST_TEST(item.at("id") == "m1");
  BOOST_TEST(item.at("event") == (json{{"type", "event"}, {"event", event}}));
  BOOST_TEST(events[1].id == "m1");
  BOOST_TEST(!store->get("chat", "room", "m1").has_value()); // sends store nothing
}

BOOST_AUTO_TEST_CASE(sync_of_an_item_carries_it_or_null) {
  store->set("s", "g", "i", json{{"v", 1}});
  const json present = json::parse(*store->sync_message("s", "g", "i"));
  BOOST_TEST(keys_of(present) == (strings{"event", "groupId", "id", "streamName", "timestamp"}),
             boost::test_tools::per_element());
  BOOST_TEST(present.at("id") == "i");
  BOOST_TEST(present.at("event") == (json{{"type", "sync"}, {"data", {{"v", 1}, {"id", "i"}}}}));

  const json missing = json::parse(*store->sync_message("s", "g", "nope"));
  BOOST_TEST(missing.at("id") == "nope");
  BOOST_TEST(missing.at("event") == (json{{"type", "sync"}, {"data", nullptr}}));
  BOOST_TEST(events.size() == 1u); // syncs are returned, not announced
}

BOOST_AUTO_TEST_CASE(sync_of_a_group_carries_its_items_by_id) {
  store->set("s", "g", "b", json{{"v", 2}});
  store->set("s", "g", "a", json{{"v", 1}});
  store->set("s", "gx", "c", json{{"v", 3}});
  const json m = json::parse(*store->sync_message("s", "g", ""));
  BOOST_TEST(keys_of(m) == (strings{"event", "groupId", "streamName", "timestamp"}),
             boost::test_tools::per_element());
  const json items = json::array({json{{"v", 1}, {"id", "a"}}, json{{"v", 2}, {"id", "b"}}});
  BOOST_TEST(m.at("event") == (json{{"type", "sync"}, {"data", items}}));
  const json empty = json::parse(*store->sync_message("s", "none", ""));
  BOOST_TEST(empty.at("event") == (json{{"type", "sync"}, {"data", json::array()}}));
  BOOST_TEST(empty.at("timestamp") == 1000);
}

BOOST_AUTO_TEST_CASE(timestamps_of_one_item_increase_within_one_millisecond) {
  store->set("s", "g", "i", json::object());       // 1000 create
  store->set("s", "g", "i", json::object());       // 1001 update
  store->send("s", "g", "i", json{{"type", "t"}}); // 1002 item send
  store->set("s", "g", "other", json::object());   // 1000: another item
  store->send("s", "g", "", json{{"type", "t"}});  // 1000: group sends use the clock
  store->del("s", "g", "i");                       // 1003 delete
  store->set("s", "g", "i", json::object());       // 1004 create after delete
  std::vector<std::int64_t> seen;
  for (std::size_t i = 0; i < events.size(); ++i)
    seen.push_back(ts(i));
  BOOST_TEST(seen == (std::vector<std::int64_t>{1000, 1001, 1002, 1000, 1000, 1003, 1004}),
             boost::test_tools::per_element());
  BOOST_TEST(message(6).at("event").at("type") == "create");

  now = 5000; // the clock wins once it has passed the item's last timestamp
  store->set("s", "g", "i", json::object());
  BOOST_TEST(last_ts() == 5000);
}

BOOST_AUTO_TEST_CASE(an_update_after_an_item_sync_in_the_same_millisecond_is_newer) {
  const json missing = json::parse(*store->sync_message("s", "g", "i"));
  BOOST_TEST(missing.at("timestamp") == 1000);
  store->set("s", "g", "i", json::object());
  BOOST_TEST(last_ts() == 1001);
  const json present = json::parse(*store->sync_message("s", "g", "i"));
  BOOST_TEST(present.at("timestamp") == 1002);
  store->set("s", "g", "i", json::object());
  BOOST_TEST(last_ts() == 1003);
}

BOOST_AUTO_TEST_CASE(group_sync_is_at_least_the_newest_timestamp_of_the_group) {
  for (int n = 0; n < 3; ++n)
    store->set("s", "g", "a", json{{"n", n}}); // 1000, 1001, 1002
  store->set("s", "g", "b", json::object());   // 1000
  BOOST_TEST(json::parse(*store->sync_message("s", "g", "")).at("timestamp") == 1002);
  store->del("s", "g", "a"); // 1003: gone from the DB, still remembered
  BOOST_TEST(json::parse(*store->sync_message("s", "g", "")).at("timestamp") == 1003);
  BOOST_TEST(json::parse(*store->sync_message("s", "h", "")).at("timestamp") == 1000);
  now = 2000;
  BOOST_TEST(json::parse(*store->sync_message("s", "g", "")).at("timestamp") == 2000);
}

BOOST_AUTO_TEST_CASE(stored_timestamps_are_honoured_after_a_reopen) {
  for (int n = 0; n < 3; ++n)
    store->set("s", "g", "i", json{{"n", n}}); // up to 1002
  reopen(); // same frozen clock: only the stored timestamp can order the next change
  BOOST_TEST(store->get("s", "g", "i").value_or(json()) == (json{{"n", 2}, {"id", "i"}}));
  BOOST_TEST(json::parse(*store->sync_message("s", "g", "")).at("timestamp") == 1002);
  BOOST_TEST(json::parse(*store->sync_message("s", "g", "i")).at("timestamp") == 1003);
  store->set("s", "g", "i", json{{"n", 3}});
  BOOST_TEST(last_ts() == 1004);
  BOOST_TEST(message(events.size() - 1).at("event").at("type") == "update");
  store->del("s", "g", "i");
  BOOST_TEST(last_ts() == 1005);
}

BOOST_AUTO_TEST_CASE(items_survive_a_reopen) {
  store->set("s", "g", "a", json{{"v", 1}});
  store->set("s", "g", "b", json{{"v", json::array({1, "x"})}});
  store->set("s", "h", "c", json::object());
  reopen();
  BOOST_TEST(store->get_group("s", "g")
             == json::array(
                 {json{{"v", 1}, {"id", "a"}}, json{{"v", json::array({1, "x"})}, {"id", "b"}}}));
  BOOST_TEST(store->get("s", "h", "c").value_or(json()) == (json{{"id", "c"}}));
}

BOOST_AUTO_TEST_CASE(pruning_the_issued_timestamps_keeps_those_ahead_of_the_clock) {
  now = 900;
  for (int n = 0; n < 3000; ++n) // entries the clock will have passed
    store->set("s", "old", std::to_string(n), json::object());
  now = 1000;
  for (int n = 0; n < 3; ++n)
    store->set("s", "g", "d", json::object()); // 1000..1002
  store->del("s", "g", "d");                   // 1003, only in memory now
  now = 1002;
  for (int n = 0; n < 2000; ++n) // crosses the pruning threshold
    store->set("s", "new", std::to_string(n), json::object());
  store->set("s", "g", "d", json::object());
  BOOST_TEST(last_ts() == 1004);
}

BOOST_AUTO_TEST_CASE(value_is_a_big_endian_timestamp_then_the_item_json) {
  now = 0x0102030405060708;
  store->set("s", "g", "i", json{{"v", 1}});
  const std::string v = raw_value(row_key("s", "g", "i"));
  BOOST_TEST(v.substr(0, 8) == std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  BOOST_TEST(v.substr(8) == R"({"id":"i","v":1})");
}

BOOST_AUTO_TEST_CASE(invalid_arguments_throw_invalid_argument) {
  const std::string nul("a\0b", 3);
  const json ok = json::object();
  const std::vector<std::pair<const char*, std::function<void(rocks::stream_store&)>>> cases = {
      {"set empty stream", [&](auto& s) { s.set("", "g", "i", ok); }},
      {"set empty group", [&](auto& s) { s.set("s", "", "i", ok); }},
      {"set empty id", [&](auto& s) { s.set("s", "g", "", ok); }},
      {"set NUL stream", [&](auto& s) { s.set(nul, "g", "i", ok); }},
      {"set NUL group", [&](auto& s) { s.set("s", nul, "i", ok); }},
      {"set NUL id", [&](auto& s) { s.set("s", "g", nul, ok); }},
      {"set array data", [&](auto& s) { s.set("s", "g", "i", json::array()); }},
      {"set string data", [&](auto& s) { s.set("s", "g", "i", "x"); }},
      {"set null data", [&](auto& s) { s.set("s", "g", "i", json()); }},
      {"set invalid UTF-8", [&](auto& s) { s.set("s", "g", "i", json{{"v", "\xFF"}}); }},
      {"get empty id", [&](auto& s) { s.get("s", "g", ""); }},
      {"del empty id", [&](auto& s) { s.del("s", "g", ""); }},
      {"get_group empty group", [&](auto& s) { s.get_group("s", ""); }},
      {"send array event", [&](auto& s) { s.send("s", "g", "", json::array()); }},
      {"send without type", [&](auto& s) { s.send("s", "g", "", json{{"data", 1}}); }},
      {"send number type", [&](auto& s) { s.send("s", "g", "i", json{{"type", 1}}); }},
      {"send empty type", [&](auto& s) { s.send("s", "g", "i", json{{"type", ""}}); }},
      {"send NUL id", [&](auto& s) { s.send("s", "g", nul, json{{"type", "t"}}); }},
      {"sync empty stream", [&](auto& s) { s.sync_message("", "g", ""); }},
      {"sync NUL group", [&](auto& s) { s.sync_message("s", nul, "i"); }},
  };
  for (const auto& [name, call] : cases) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_CHECK_THROW(call(*store), std::invalid_argument);
    }
  }
  BOOST_TEST(events.empty());
  BOOST_TEST(store->get_group("s", "g") == json::array());
}

BOOST_AUTO_TEST_CASE(concurrent_sets_are_announced_in_order_per_item) {
  store.reset();
  store = std::make_unique<rocks::stream_store>(*db);
  store->set_listener([this](rocks::stream_event&& e) {
    std::lock_guard<std::mutex> guard(events_mutex);
    events.push_back(std::move(e));
  });
  constexpr int threads = 4, sets = 2000, items = 8;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([this, t] {
      for (int n = 0; n < sets; ++n)
        store->set("s", "g", std::to_string(n % items), json{{"t", t}, {"n", n}});
    });
  for (auto& th : pool)
    th.join();
  BOOST_REQUIRE_EQUAL(events.size(), std::size_t(threads * sets));

  std::map<std::string, json> last; // per item: the last announced message
  std::size_t out_of_order = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    json m = message(i);
    const std::string id = m.at("id").get<std::string>();
    if (const auto it = last.find(id);
        it != last.end() && it->second.at("timestamp") >= m.at("timestamp"))
      ++out_of_order;
    last[id] = std::move(m);
  }
  BOOST_TEST(out_of_order == 0u);
  BOOST_REQUIRE_EQUAL(last.size(), std::size_t(items));
  for (const auto& [id, m] : last) {
    BOOST_TEST(store->get("s", "g", id).value_or(json()) == m.at("event").at("data"));
    BOOST_TEST(big_endian_ts(raw_value(row_key("s", "g", id)))
               == m.at("timestamp").get<std::int64_t>());
  }
}

BOOST_AUTO_TEST_SUITE_END()
