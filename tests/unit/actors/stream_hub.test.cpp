#include "actors/stream_hub.hpp"

#define BOOST_TEST_MODULE stream_hub
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "adapters/rocksdb/stream_store.hpp"
#include "core/log.hpp"
#include "runtime/runtime_env.hpp"
#include "runtime/ws_bridge.hpp"
#include "tests/support/rocksdb.hpp"

// The hub with a real actor system, a real RocksDB stream store and recording
// connections in place of WebSocket sessions: what each connection is sent,
// in order, is the hub's whole contract.

namespace {

using namespace std::chrono_literals;
using motia::json;

/// Records what the hub sends it. Thread-safety: locks `mu_`.
class fake_connection final : public motia::http::ws_connection {
public:
  explicit fake_connection(std::uint64_t id) : id_(id) {}
  std::uint64_t id() const override { return id_; }
  void send(std::shared_ptr<const std::string> text) override {
    std::lock_guard<std::mutex> g(mu_);
    got_.push_back(json::parse(*text));
  }
  void close(std::uint16_t, std::string) override {}

  std::vector<json> messages() const {
    std::lock_guard<std::mutex> g(mu_);
    return got_;
  }
  /// Waits until `n` messages arrived (or 5 s) and returns them.
  std::vector<json> wait(std::size_t n) const {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (messages().size() >= n)
        break;
      std::this_thread::sleep_for(2ms);
    }
    return messages();
  }

private:
  std::uint64_t id_;
  mutable std::mutex mu_;
  std::vector<json> got_;
};

struct fixture {
  motia::test::temp_dir dir;
  std::unique_ptr<motia::rocks::database> db = motia::test::open_db(dir.path);
  std::shared_ptr<motia::rocks::stream_store> store_ptr = std::make_shared<motia::rocks::stream_store>(*db);
  motia::rocks::stream_store& store = *store_ptr;
  std::shared_ptr<motia::runtime_env> env = std::make_shared<motia::runtime_env>();
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  motia::hub_actor hub;

  explicit fixture(unsigned max_subscriptions = 1024) {
    motia::log::set_threshold(motia::log::level::error);
    auto snap = std::make_shared<motia::project_snapshot>();
    snap->project = std::make_shared<motia::project_config>();
    for (auto name : {"todo", "chat"}) {
      motia::stream_info info;
      info.name = name;
      info.file = std::string("native:") + name;
      snap->streams.emplace(name, info);
    }
    // `chat` lets only group "open" (or an admin) in.
    snap->streams["chat"].native_can_access = [](const json& sub, const json& auth) {
      return sub.value("groupId", "") == "open" || (auth.is_object() && auth.value("role", "") == "admin");
    };
    env->snapshot.install(snap);
    env->stream_store = store_ptr;
    env->ws = std::make_shared<motia::ws_registry>();
    cfg.set("scheduler.max-threads", 2);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    motia::add_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    motia::stream_hub_settings s;
    s.max_subscriptions = max_subscriptions;
    hub = motia::spawn_stream_hub(*sys, env, s);
    store.set_listener([h = hub](motia::rocks::stream_event&& ev) {
      caf::anon_send(h, motia::stream_change{ev.stream, ev.group, ev.id, ev.message});
    });
  }
  ~fixture() {
    store.set_listener({});
    caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
    hub = nullptr;
    sys->await_all_actors_done();
  }

  std::shared_ptr<fake_connection> open(std::uint64_t id, json auth = nullptr) {
    auto c = std::make_shared<fake_connection>(id);
    env->ws->add(c);
    caf::anon_send(hub, motia::ws_open_atom::value, id, auth.dump());
    return c;
  }
  void join(std::uint64_t conn, std::string stream, std::string group, std::string id, std::string sub) {
    caf::anon_send(hub, motia::ws_join_atom::value,
                   motia::ws_subscription{conn, std::move(stream), std::move(group), std::move(id), std::move(sub)});
  }
  void leave(std::uint64_t conn, std::string stream, std::string group, std::string id, std::string sub) {
    caf::anon_send(hub, motia::ws_leave_atom::value,
                   motia::ws_subscription{conn, std::move(stream), std::move(group), std::move(id), std::move(sub)});
  }
  /// A round trip through the hub's mailbox: everything sent before is handled.
  void settle() {
    caf::scoped_actor self{*sys};
    auto probe = open(999999);
    caf::anon_send(hub, motia::ws_join_atom::value, motia::ws_subscription{999999, "todo", "probe", "", "p"});
    probe->wait(1);
    caf::anon_send(hub, motia::ws_close_atom::value, std::uint64_t{999999});
  }
};

std::string event_type(const json& m) { return m["event"]["type"].get<std::string>(); }

} // namespace

BOOST_AUTO_TEST_CASE(join_sends_a_sync_first_then_every_change_of_the_group_or_item) {
  fixture f;
  f.store.set("todo", "g1", "a", {{"text", "first"}});
  auto group = f.open(1);
  auto item = f.open(2);
  f.join(1, "todo", "g1", "", "s1");
  f.join(2, "todo", "g1", "a", "s2");
  auto g = group->wait(1);
  auto i = item->wait(1);
  BOOST_REQUIRE_EQUAL(g.size(), 1u);
  BOOST_TEST(event_type(g[0]) == "sync");
  BOOST_TEST(g[0]["event"]["data"] == json::array({{{"text", "first"}, {"id", "a"}}}));
  BOOST_TEST(!g[0].contains("id"));
  BOOST_REQUIRE_EQUAL(i.size(), 1u);
  BOOST_TEST(event_type(i[0]) == "sync");
  BOOST_TEST(i[0]["id"] == "a");
  BOOST_TEST(i[0]["event"]["data"]["text"] == "first");

  f.store.set("todo", "g1", "a", {{"text", "second"}}); // update: both
  f.store.set("todo", "g1", "b", {{"text", "other"}});  // create of b: the group only
  f.store.del("todo", "g1", "a");                       // delete: both
  f.store.set("todo", "g2", "a", {{"text", "elsewhere"}}); // another group: nobody
  g = group->wait(4);
  i = item->wait(3);
  f.settle();
  g = group->messages();
  i = item->messages();
  BOOST_REQUIRE_EQUAL(g.size(), 4u);
  BOOST_TEST(event_type(g[1]) == "update");
  BOOST_TEST(g[1]["event"]["data"]["text"] == "second");
  BOOST_TEST(event_type(g[2]) == "create");
  BOOST_TEST(g[2]["id"] == "b");
  BOOST_TEST(event_type(g[3]) == "delete");
  BOOST_TEST(g[3]["event"]["data"]["text"] == "second");
  BOOST_REQUIRE_EQUAL(i.size(), 3u);
  BOOST_TEST(event_type(i[1]) == "update");
  BOOST_TEST(event_type(i[2]) == "delete");
  // Each item subscription sees strictly increasing timestamps.
  BOOST_TEST(i[0]["timestamp"].get<std::int64_t>() < i[1]["timestamp"].get<std::int64_t>());
  BOOST_TEST(i[1]["timestamp"].get<std::int64_t>() < i[2]["timestamp"].get<std::int64_t>());
}

BOOST_AUTO_TEST_CASE(a_connection_with_item_and_group_subscriptions_gets_each_change_once) {
  fixture f;
  auto c = f.open(1);
  f.join(1, "todo", "g", "", "group");
  f.join(1, "todo", "g", "x", "item");
  f.join(1, "todo", "g", "x", "item-again"); // two subscriptions on one room
  c->wait(3);
  f.store.set("todo", "g", "x", {{"n", 1}});
  f.store.send("todo", "g", "x", {{"type", "ping"}, {"data", 7}});
  f.store.send("todo", "g", "", {{"type", "hello"}});
  f.settle();
  auto got = c->messages();
  BOOST_REQUIRE_EQUAL(got.size(), 6u);
  BOOST_TEST(event_type(got[3]) == "create");
  BOOST_TEST(event_type(got[4]) == "event");
  BOOST_TEST(got[4]["event"]["event"] == json({{"type", "ping"}, {"data", 7}}));
  BOOST_TEST(got[4]["id"] == "x");
  BOOST_TEST(event_type(got[5]) == "event");
  BOOST_TEST(!got[5].contains("id"));
}

BOOST_AUTO_TEST_CASE(leave_and_close_stop_the_messages) {
  fixture f;
  auto a = f.open(1);
  auto b = f.open(2);
  f.join(1, "todo", "g", "", "s");
  f.join(2, "todo", "g", "", "s"); // subscription ids are per connection
  a->wait(1);
  b->wait(1);
  f.leave(1, "todo", "g", "", "s");
  caf::anon_send(f.hub, motia::ws_close_atom::value, std::uint64_t{2});
  f.settle();
  f.store.set("todo", "g", "x", {{"n", 1}});
  f.settle();
  BOOST_TEST(a->messages().size() == 1u);
  BOOST_TEST(b->messages().size() == 1u);
}

BOOST_AUTO_TEST_CASE(unknown_streams_denied_joins_and_too_many_subscriptions_get_error_events) {
  fixture f(2);
  auto c = f.open(1);
  auto admin = f.open(2, {{"role", "admin"}});
  f.join(1, "nope", "g", "", "s1");
  f.join(1, "chat", "secret", "", "s2");
  f.join(1, "chat", "open", "", "s3");
  f.join(1, "todo", "g", "", "s4");
  f.join(1, "todo", "g", "y", "s5"); // the third subscription
  f.join(2, "chat", "secret", "", "s1");
  auto got = c->wait(5);
  auto adm = admin->wait(1);
  BOOST_REQUIRE_EQUAL(got.size(), 5u);
  auto code = [](const json& m) { return m["event"]["event"]["data"]["code"].get<std::string>(); };
  BOOST_TEST(event_type(got[0]) == "event");
  BOOST_TEST(code(got[0]) == "STREAM_NOT_FOUND");
  BOOST_TEST(got[0]["event"]["event"]["type"] == "error");
  BOOST_TEST(code(got[1]) == "STREAM_ACCESS_DENIED");
  BOOST_TEST(got[1]["streamName"] == "chat");
  BOOST_TEST(got[1]["groupId"] == "secret");
  BOOST_TEST(event_type(got[2]) == "sync");
  BOOST_TEST(event_type(got[3]) == "sync");
  BOOST_TEST(code(got[4]) == "TOO_MANY_SUBSCRIPTIONS");
  BOOST_REQUIRE_EQUAL(adm.size(), 1u);
  BOOST_TEST(event_type(adm[0]) == "sync");
  // The denied subscription receives nothing.
  f.store.set("chat", "secret", "m", {{"text", "hidden"}});
  f.settle();
  BOOST_TEST(c->messages().size() == 5u);
  BOOST_TEST(admin->wait(2).size() == 2u);
}

BOOST_AUTO_TEST_CASE(many_writers_reach_every_subscriber_in_per_item_timestamp_order) {
  fixture f;
  constexpr int subscribers = 50;
  std::vector<std::shared_ptr<fake_connection>> conns;
  for (int i = 1; i <= subscribers; ++i) {
    conns.push_back(f.open(static_cast<std::uint64_t>(i)));
    f.join(static_cast<std::uint64_t>(i), "todo", "g", "", "s");
  }
  for (auto& c : conns)
    c->wait(1);
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&f, w] {
      for (int n = 0; n < 250; ++n)
        f.store.set("todo", "g", "item" + std::to_string(n % 5), {{"writer", w}, {"n", n}});
    });
  for (auto& t : writers)
    t.join();
  f.settle();
  for (auto& c : conns) {
    auto got = c->messages();
    BOOST_REQUIRE_EQUAL(got.size(), 1001u);
    std::map<std::string, std::int64_t> last;
    for (std::size_t k = 1; k < got.size(); ++k) {
      auto id = got[k]["id"].get<std::string>();
      auto ts = got[k]["timestamp"].get<std::int64_t>();
      BOOST_TEST(ts > last[id]);
      last[id] = ts;
    }
  }
}
