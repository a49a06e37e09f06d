#include "actors/step_actor.hpp"

#define BOOST_TEST_MODULE step_actor
#include <boost/test/unit_test.hpp>

#include <deque>
#include <map>
#include <set>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/partition_actor.hpp"
#include "adapters/process/worker_process.hpp"
#include "adapters/rocksdb/queue_store.hpp"
#include "core/blocking_pool.hpp"
#include "core/log.hpp"
#include "runtime/runtime_env.hpp"
#include "tests/support/rocksdb.hpp"

// The step actor and its partition, deterministically: CAF's test_coordinator
// runs every message on this thread, the storage pool runs its tasks inline,
// RocksDB is real, and a fake worker connection records each invocation and
// answers when the test says so. Time only moves when the test moves it.

namespace {

using namespace std::chrono_literals;
using namespace motia;

// A worker connection that keeps every invocation until the test answers it.
class fake_worker final : public process::worker_process {
public:
  struct call {
    std::uint64_t id;
    payload frame;
    process::pending_invocation p;
    unsigned attempt() const { return static_cast<unsigned>(frame.find("attempt")->as_uint().value_or(0)); }
    json input() const { return frame.find("input")->to_json(); }
  };

  bool send(std::string) override { return true; }
  bool send_framed(std::string) override { return true; }
  std::uint64_t next_id() override { return ++ids_; }
  bool invoke(std::uint64_t id, std::string frame, process::pending_invocation p) override {
    if (closed)
      return false;
    calls.push_back({id, payload::adopt(frame.substr(4)), std::move(p)});
    return true;
  }
  bool find(std::uint64_t, process::invocation_view&) override { return false; }
  void mark_overloaded(std::uint64_t) override {}
  std::size_t in_flight() override { return calls.size(); }
  void kill(int) override {}
  void close() override { closed = true; }
  int pid() const override { return 1; }

  // Finishes the oldest invocation (or the one of `input` n), as the worker would.
  void answer(std::size_t i, bool ok) {
    auto c = std::move(calls.at(i));
    calls.erase(calls.begin() + static_cast<std::ptrdiff_t>(i));
    process::invocation_outcome out;
    out.ok = ok;
    out.value = ok ? payload{} : payload::from_json({{"message", "boom"}});
    c.p.sink->on_result(c.p.token, std::move(out));
  }

  std::deque<call> calls;
  bool closed = false;

private:
  std::uint64_t ids_ = 0;
};

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  test::temp_dir dir;
  std::unique_ptr<rocks::database> db = test::open_db(dir.path);
  std::shared_ptr<runtime_env> env = std::make_shared<runtime_env>();
  std::shared_ptr<fake_worker> worker = std::make_shared<fake_worker>();
  std::shared_ptr<project_snapshot> snap;
  step_actor step;
  partition_actor part;

  fixture() {
    log::set_threshold(log::level::error);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    add_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    env->pool = std::make_shared<blocking_pool>(0);
    env->queue = std::make_shared<rocks::queue_store>(*db, *env->pool);
    std::weak_ptr<runtime_env> weak = env;
    env->queue->set_listener([weak](std::vector<queued_event>&& rows) {
      auto e = weak.lock();
      if (auto p = e->partitions.get({rows.front().step, rows.front().shard}))
        caf::anon_send(p, rows_atom::value, delivery_batch{rows.front().step, rows.front().shard, std::move(rows)});
    });
    env->workers.publish(step_language::node, worker);
  }

  ~fixture() {
    for (auto* a : {&step})
      if (*a)
        caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
    if (part)
      caf::anon_send_exit(part, caf::exit_reason::user_shutdown);
    sched->run();
  }

  // An event step of the Node worker with `queue` settings, its partition and its actor.
  void start(json queue, std::size_t max_handed = 1024) {
    json config = {{"type", "event"}, {"name", "work"}, {"subscribes", {"job"}}, {"emits", json::array()},
                   {"infrastructure", {{"queue", queue}}}};
    std::string err;
    auto cfg = parse_step_config(config, "steps/work.step.js", step_language::node, err);
    BOOST_REQUIRE_MESSAGE(cfg, err);
    snap = std::make_shared<project_snapshot>();
    snap->project = std::make_shared<project_config>();
    auto info = std::make_shared<step_info>();
    info->cfg = *cfg;
    snap->steps.push_back(info);
    env->snapshot.install(snap);
    partition_settings ps;
    ps.step = "work";
    ps.max_handed = max_handed;
    part = spawn_partition_actor(*sys, env, ps);
    env->partitions.set({"work", 0}, part);
    sched->run();
    spawn_step();
  }

  void spawn_step() {
    step = spawn_step_actor(*sys, env, snap, snap->steps.front().get());
    env->steps.set("work", step);
    sched->run();
  }

  // Commits `n` events for the step (as emits would), then lets the actors run.
  void enqueue(int n, const std::string& group = {}, int first = 0) {
    rocks::queue_write w;
    for (int i = first; i < first + n; ++i) {
      queued_event e;
      e.step = "work";
      e.topic = "job";
      e.data = payload::from_json({{"n", i}});
      e.message_group_id = group;
      e.message_id = "m" + std::to_string(i);
      w.enqueue.push_back(std::move(e));
    }
    env->queue->submit(std::move(w));
    sched->run();
  }

  std::vector<queued_event> stored() { return env->queue->pending("work", 0, 0, 100000); }

  void advance(std::chrono::milliseconds d) {
    sched->advance_time(d);
    sched->run();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(step_actor_tests, fixture)

BOOST_AUTO_TEST_CASE(a_delivery_that_succeeds_is_acknowledged_and_leaves_the_store) {
  start({{"concurrency", 4}});
  enqueue(3);
  BOOST_REQUIRE_EQUAL(worker->calls.size(), 3u);
  BOOST_TEST(worker->calls[0].attempt() == 1u);
  BOOST_TEST(worker->calls[0].input()["n"] == 0);
  worker->answer(0, true);
  sched->run();
  BOOST_TEST(stored().size() == 2u);
  worker->answer(0, true);
  worker->answer(0, true);
  sched->run();
  BOOST_TEST(stored().empty());
  BOOST_TEST(env->metrics.of("work").succeeded.load() == 3u);
}

BOOST_AUTO_TEST_CASE(a_failure_is_persisted_then_retried_after_the_backoff_on_the_actor_clock) {
  start({{"concurrency", 4}, {"maxRetries", 3}, {"backoffType", "fixed"}, {"backoffDelayMs", 500}});
  enqueue(1);
  worker->answer(0, false);
  sched->run();
  auto rows = stored();
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_TEST(rows[0].attempts == 1u); // persisted before the retry waits
  BOOST_TEST(rows[0].last_error.find("boom") != std::string::npos);
  BOOST_TEST(worker->calls.empty());
  advance(499ms);
  BOOST_TEST(worker->calls.empty()); // not a millisecond early
  advance(1ms);
  BOOST_REQUIRE_EQUAL(worker->calls.size(), 1u);
  BOOST_TEST(worker->calls[0].attempt() == 2u);
  worker->answer(0, true);
  sched->run();
  BOOST_TEST(stored().empty());
  BOOST_TEST(env->metrics.of("work").retried.load() == 1u);
}

BOOST_AUTO_TEST_CASE(exponential_backoff_doubles_between_attempts) {
  start({{"maxRetries", 5}, {"backoffType", "exponential"}, {"backoffDelayMs", 1000}});
  enqueue(1);
  worker->answer(0, false); // retry 1: 1 s +- 20 %
  sched->run();
  advance(799ms);
  BOOST_TEST(worker->calls.empty());
  advance(401ms);
  BOOST_REQUIRE_EQUAL(worker->calls.size(), 1u);
  worker->answer(0, false); // retry 2: 2 s +- 20 %
  sched->run();
  advance(1599ms);
  BOOST_TEST(worker->calls.empty());
  advance(801ms);
  BOOST_TEST(worker->calls.size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_last_failed_attempt_moves_the_delivery_to_the_dead_letters) {
  start({{"maxRetries", 1}, {"backoffType", "fixed"}, {"backoffDelayMs", 10}});
  enqueue(1);
  worker->answer(0, false);
  sched->run();
  advance(10ms);
  worker->answer(0, false);
  sched->run();
  BOOST_TEST(stored().empty());
  auto dead = env->queue->dead_letters("work", 0, 10);
  BOOST_REQUIRE_EQUAL(dead.size(), 1u);
  BOOST_TEST(dead[0].attempts == 2u);
  BOOST_TEST(env->metrics.of("work").dead_lettered.load() == 1u);
}

BOOST_AUTO_TEST_CASE(no_more_than_the_concurrency_limit_runs_at_once) {
  start({{"concurrency", 3}});
  enqueue(10);
  BOOST_TEST(worker->calls.size() == 3u);
  worker->answer(1, true);
  sched->run();
  BOOST_TEST(worker->calls.size() == 3u); // one finished, the next started
  while (!worker->calls.empty()) {
    BOOST_TEST(worker->calls.size() <= 3u);
    worker->answer(0, true);
    sched->run();
  }
  BOOST_TEST(stored().empty());
}

BOOST_AUTO_TEST_CASE(fifo_groups_run_one_at_a_time_in_order_while_groups_run_side_by_side) {
  start({{"type", "fifo"}, {"concurrency", 8}, {"backoffType", "fixed"}, {"backoffDelayMs", 100}});
  enqueue(3, "a", 0);
  enqueue(2, "b", 10);
  BOOST_REQUIRE_EQUAL(worker->calls.size(), 2u); // the head of each group
  BOOST_TEST(worker->calls[0].input()["n"] == 0);
  BOOST_TEST(worker->calls[1].input()["n"] == 10);
  worker->answer(0, false); // a's head fails: a waits for its retry, b goes on
  sched->run();
  BOOST_REQUIRE_EQUAL(worker->calls.size(), 1u);
  worker->answer(0, true);
  sched->run();
  BOOST_REQUIRE_EQUAL(worker->calls.size(), 1u);
  BOOST_TEST(worker->calls[0].input()["n"] == 11);
  advance(100ms); // a's retry: still its head, before 1 and 2
  BOOST_REQUIRE_EQUAL(worker->calls.size(), 2u);
  BOOST_TEST(worker->calls[1].input()["n"] == 0);
  BOOST_TEST(worker->calls[1].attempt() == 2u);
  worker->answer(1, true);
  sched->run();
  BOOST_TEST(worker->calls.back().input()["n"] == 1);
}

BOOST_AUTO_TEST_CASE(a_step_that_crashes_mid_delivery_gets_everything_pending_again) {
  start({{"concurrency", 2}});
  enqueue(2);
  BOOST_REQUIRE_EQUAL(worker->calls.size(), 2u);
  worker->answer(0, true);
  sched->run();
  caf::anon_send_exit(step, caf::exit_reason::kill); // mid-delivery
  sched->run();
  worker->calls.clear(); // its result would go nowhere
  spawn_step();          // what its supervisor does
  BOOST_REQUIRE_EQUAL(worker->calls.size(), 1u);
  BOOST_TEST(worker->calls[0].input()["n"] == 1); // the unfinished one, not the acked one
  BOOST_TEST(worker->calls[0].attempt() == 1u);   // a crash does not spend an attempt
  worker->answer(0, true);
  sched->run();
  BOOST_TEST(stored().empty());
}

BOOST_AUTO_TEST_CASE(a_partition_hands_out_no_more_than_its_share_and_refills_from_the_store) {
  start({{"concurrency", 2}}, 4);
  enqueue(20);
  std::set<int> seen;
  for (int round = 0; round < 40 && !worker->calls.empty(); ++round) {
    seen.insert(worker->calls.front().input()["n"].get<int>());
    worker->answer(0, true);
    sched->run();
  }
  BOOST_TEST(seen.size() == 20u);
  BOOST_TEST(stored().empty());
}

BOOST_AUTO_TEST_CASE(without_a_live_worker_deliveries_wait_without_spending_an_attempt) {
  worker->closed = true;
  start({{"concurrency", 2}});
  enqueue(1);
  BOOST_TEST(worker->calls.empty());
  worker->closed = false;
  env->workers.publish(step_language::node, worker); // a worker registers
  sched->run();
  BOOST_REQUIRE_EQUAL(worker->calls.size(), 1u);
  BOOST_TEST(worker->calls[0].attempt() == 1u);
}

BOOST_AUTO_TEST_CASE(an_unexpected_message_is_logged_and_counted_and_the_step_lives_on) {
  start({{"concurrency", 1}});
  caf::anon_send(caf::actor_cast<caf::actor>(step), std::string("not for a step"));
  sched->run();
  BOOST_TEST(env->metrics.unexpected.load() == 1u);
  enqueue(1);
  BOOST_TEST(worker->calls.size() == 1u);
}

BOOST_AUTO_TEST_CASE(drain_is_answered_once_the_running_delivery_finished) {
  start({{"concurrency", 2}});
  enqueue(3);
  BOOST_REQUIRE_EQUAL(worker->calls.size(), 2u);
  bool drained = false;
  auto probe = sys->spawn([&](caf::event_based_actor* self) {
    self->request(step, caf::infinite, drain_atom::value).then([&](done_atom) { drained = true; });
  });
  sched->run();
  BOOST_TEST(!drained);
  worker->answer(0, true);
  sched->run();
  BOOST_TEST(!drained);
  worker->answer(0, true);
  sched->run();
  BOOST_TEST(drained);
  BOOST_TEST(worker->calls.empty()); // the third was not started
  BOOST_TEST(stored().size() == 1u); // and stays queued
}

BOOST_AUTO_TEST_SUITE_END()
