#include "motia/state_store.hpp"

#define BOOST_TEST_MODULE state_store
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <thread>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "adapters/rocksdb/database.hpp"
#include "tests/support/rocksdb.hpp"

using motia::json;
using motia::state_store;
namespace fs = std::filesystem;
namespace rocks = motia::rocks;

using motia::test::open_db;
using motia::test::temp_dir;

namespace {

// The conformance suite runs once per fixture; each provides store().
struct memory_kind {
  std::unique_ptr<state_store> s = motia::make_memory_state_store();
  state_store& store() { return *s; }
};

struct rocksdb_kind {
  temp_dir dir; // members are destroyed in reverse: store, db, then dir
  std::unique_ptr<rocks::database> db = open_db(dir.path);
  std::unique_ptr<state_store> s = rocks::make_state_store(*db);
  state_store& store() { return *s; }
};

using store_kinds = boost::mpl::list<memory_kind, rocksdb_kind>;
// The cases write `state_store& s = k.store()`, not `auto&`: that keeps `s`
// non-dependent, so `v.get<T>()` needs no `template` keyword.

std::vector<std::string> strings(std::initializer_list<const char*> l) {
  return {l.begin(), l.end()};
}

} // namespace

BOOST_AUTO_TEST_SUITE(state_store_conformance)

BOOST_AUTO_TEST_CASE_TEMPLATE(get_of_a_missing_key_is_empty, Kind, store_kinds) {
  Kind k;
  BOOST_TEST(!k.store().get("g", "missing").has_value());
  BOOST_TEST(!k.store().del("g", "missing").has_value());
  BOOST_TEST(k.store().get_group("g").empty());
  BOOST_TEST(k.store().keys("g").empty());
  BOOST_TEST(k.store().clear("g") == 0u);
  BOOST_TEST(k.store().groups().empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(set_returns_old_and_new_value_and_overwrites, Kind, store_kinds) {
  Kind k;
  state_store& s = k.store();
  const auto first = s.set("g", "k", 1);
  BOOST_TEST(first.old_value.is_null());
  BOOST_TEST(first.new_value == 1);
  const auto second = s.set("g", "k", "two");
  BOOST_TEST(second.old_value == 1);
  BOOST_TEST(second.new_value == "two");
  BOOST_TEST(s.get("g", "k").value_or(json()) == "two");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(del_returns_the_removed_value, Kind, store_kinds) {
  Kind k;
  state_store& s = k.store();
  s.set("g", "k", json{{"a", 1}});
  BOOST_TEST(s.del("g", "k").value_or(json()) == (json{{"a", 1}}));
  BOOST_TEST(!s.get("g", "k").has_value());
  BOOST_TEST(!s.del("g", "k").has_value());
  BOOST_TEST(s.groups().empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(get_group_is_ordered_by_key_bytes, Kind, store_kinds) {
  Kind k;
  state_store& s = k.store();
  // Byte order: "10" < "9" < "a" < "b" < "\xC3\xA9" (bytes compare unsigned).
  for (const char* key : {"b", "\xC3\xA9", "9", "a", "10"})
    s.set("g", key, key);
  const auto expected = strings({"10", "9", "a", "b", "\xC3\xA9"});
  BOOST_TEST(s.keys("g") == expected, boost::test_tools::per_element());
  std::vector<std::string> values;
  for (const auto& v : s.get_group("g"))
    values.push_back(v.get<std::string>());
  BOOST_TEST(values == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_group_is_isolated_from_one_whose_name_extends_it, Kind,
                              store_kinds) {
  Kind k;
  state_store& s = k.store();
  s.set("a", "x", 1);
  s.set("ab", "x", 2);
  s.set("a", std::string("y\0z", 3), 3); // NUL inside a key is fine
  s.set("", "x", 4);                     // so is the empty group
  BOOST_TEST(s.get_group("a") == (std::vector<json>{1, 3}), boost::test_tools::per_element());
  BOOST_TEST(s.get_group("ab") == std::vector<json>{2}, boost::test_tools::per_element());
  BOOST_TEST(s.keys("a") == (std::vector<std::string>{"x", std::string("y\0z", 3)}),
             boost::test_tools::per_element());
  BOOST_TEST(s.groups() == strings({"", "a", "ab"}), boost::test_tools::per_element());
  BOOST_TEST(s.clear("a") == 2u);
  BOOST_TEST(s.get("ab", "x").value_or(json()) == 2);
  BOOST_TEST(s.groups() == strings({"", "ab"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(clear_removes_every_key_of_the_group, Kind, store_kinds) {
  Kind k;
  state_store& s = k.store();
  for (int i = 0; i < 100; ++i)
    s.set("big", "k" + std::to_string(i), i);
  s.set("other", "k", true);
  BOOST_TEST(s.clear("big") == 100u);
  BOOST_TEST(s.get_group("big").empty());
  BOOST_TEST(s.groups() == strings({"other"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(values_of_every_json_type_round_trip, Kind, store_kinds) {
  Kind k;
  state_store& s = k.store();
  const json values[] = {
    true,
    false,
    0,
    -1,
    json(std::int64_t{-9'000'000'000}),
    json(std::uint64_t{18'000'000'000'000'000'000u}),
    0.1,
    -2.5e300,
    "",
    std::string("nul\0inside \xE2\x82\xAC", 15),
    json::array(),
    json::object(),
    json::binary({0, 255, 7}),
    json{{"nested", {{"list", {1, {{"deep", json::array({nullptr, "x"})}}}}}}, {"n", nullptr}},
  };
  for (std::size_t i = 0; i < std::size(values); ++i) {
    BOOST_TEST_CONTEXT(values[i].dump()) {
      const auto key = "v" + std::to_string(i);
      s.set("types", key, values[i]);
      BOOST_TEST(s.get("types", key).value_or(json("missing")) == values[i]);
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_group_name_with_nul_is_rejected, Kind, store_kinds) {
  Kind k;
  state_store& s = k.store();
  const std::string bad("a\0b", 3);
  BOOST_CHECK_THROW(s.set(bad, "k", 1), motia::store_error);
  BOOST_CHECK_THROW(s.get(bad, "k"), motia::store_error);
  BOOST_CHECK_THROW(s.del(bad, "k"), motia::store_error);
  BOOST_CHECK_THROW(s.get_group(bad), motia::store_error);
  BOOST_CHECK_THROW(s.keys(bad), motia::store_error);
  BOOST_CHECK_THROW(s.clear(bad), motia::store_error);
  BOOST_TEST(s.groups().empty());
}

// Each set() reads and replaces in one step, so across all threads every
// written value is seen as an old value exactly once (or is the final value)
// and null is seen once: no write is lost and none is seen twice.
BOOST_AUTO_TEST_CASE_TEMPLATE(concurrent_sets_of_one_key_each_see_a_distinct_old_value, Kind,
                              store_kinds) {
  Kind k;
  state_store& s = k.store();
  constexpr int threads = 8;
  constexpr int per_thread = 300;
  std::vector<std::vector<json>> olds(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&s, &olds, t] {
      for (int i = 0; i < per_thread; ++i) {
        olds[t].push_back(s.set("counter", "hot", t * per_thread + i).old_value);
        s.set("t" + std::to_string(t), std::to_string(i), i); // unrelated keys in parallel
      }
    });
  for (auto& th : pool)
    th.join();
  std::multiset<long> seen;
  int nulls = 0;
  for (const auto& list : olds)
    for (const auto& v : list)
      v.is_null() ? ++nulls : (seen.insert(v.get<long>()), 0);
  seen.insert(s.get("counter", "hot").value().get<long>());
  BOOST_TEST(nulls == 1);
  BOOST_TEST(seen.size() == std::size_t{threads * per_thread});
  std::set<long> distinct(seen.begin(), seen.end());
  BOOST_TEST(distinct.size() == seen.size());
  BOOST_TEST(s.groups().size() == std::size_t{threads + 1});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(update_applies_ops_atomically_and_refuses_bad_ops, Kind, store_kinds) {
  Kind k;
  state_store& s = k.store();
  auto ch = s.update("g", "k", json::parse(R"([{"type":"increment","path":"n","by":2},
                                              {"type":"set","path":"name","value":"x"}])"));
  BOOST_TEST(ch.old_value.is_null());
  BOOST_TEST((ch.new_value == json::parse(R"({"n":2,"name":"x"})")));
  BOOST_CHECK_THROW(s.update("g", "k", json::parse(R"([{"type":"increment","path":"n"},
                                                       {"type":"increment","path":"name"}])")),
                    std::invalid_argument);
  BOOST_TEST((s.get("g", "k").value_or(json()) == json::parse(R"({"n":2,"name":"x"})")));
  // Concurrent increments of one counter lose nothing (Motia 0.17's get+set lost 66-73 %).
  constexpr int threads = 8, per_thread = 250;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&s] {
      for (int i = 0; i < per_thread; ++i)
        s.update("g", "counter", json::parse(R"([{"type":"increment","path":"hits"}])"));
    });
  for (auto& th : pool)
    th.join();
  BOOST_TEST(s.get("g", "counter").value()["hits"].template get<int>() == threads * per_thread);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rocksdb_state_store)

BOOST_AUTO_TEST_CASE(data_survives_close_and_reopen) {
  temp_dir dir;
  {
    auto db = open_db(dir.path, rocks::durability::strict);
    auto s = rocks::make_state_store(*db);
    s->set("orders", "o-1", json{{"qty", 2}});
    s->set("orders", "o-2", json{{"qty", 5}});
    s->set("users", "u-1", "ada");
    s->del("orders", "o-2");
  }
  auto db = open_db(dir.path);
  auto s = rocks::make_state_store(*db);
  BOOST_TEST(s->get("orders", "o-1").value_or(json()) == (json{{"qty", 2}}));
  BOOST_TEST(!s->get("orders", "o-2").has_value());
  BOOST_TEST(s->groups() == strings({"orders", "users"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(reopen_opens_existing_and_unknown_column_families) {
  temp_dir dir;
  {
    auto db = open_db(dir.path);
    // A column family a newer version might add.
    rocksdb::ColumnFamilyHandle* h = nullptr;
    BOOST_REQUIRE(db->db()->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "future", &h).ok());
    BOOST_REQUIRE(db->db()->DestroyColumnFamilyHandle(h).ok());
  }
  auto db = open_db(dir.path);
  for (const auto name : rocks::column_families)
    BOOST_TEST(db->cf(name) != nullptr, name);
  BOOST_TEST(db->cf("future") != nullptr);
  BOOST_TEST(db->cf("nonexistent") == nullptr);
}

BOOST_AUTO_TEST_CASE(a_second_open_of_an_open_dir_fails_with_a_readable_error) {
  temp_dir dir;
  auto db = open_db(dir.path);
  std::string err;
  BOOST_TEST(!rocks::database::open({dir.path}, err));
  BOOST_TEST(err.find("data dir " + dir.path.string() +
                      " is in use by another motia-actors process?") != std::string::npos,
             "error was: " << err);
}

BOOST_AUTO_TEST_CASE(an_unusable_dir_fails_with_a_readable_error) {
  temp_dir dir;
  const fs::path file = dir.path / "file";
  std::fclose(std::fopen(file.c_str(), "w"));
  std::string err;
  BOOST_TEST(!rocks::database::open({file / "db"}, err));
  BOOST_TEST(err.find("cannot create data dir") != std::string::npos, "error was: " << err);
}

BOOST_AUTO_TEST_CASE(write_options_sync_only_in_strict_mode) {
  temp_dir strict_dir, process_dir;
  BOOST_TEST(open_db(strict_dir.path, rocks::durability::strict)->write_options().sync);
  BOOST_TEST(!open_db(process_dir.path, rocks::durability::process)->write_options().sync);
}

BOOST_AUTO_TEST_SUITE_END()
