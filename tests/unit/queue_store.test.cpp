#include "adapters/rocksdb/queue_store.hpp"

#define BOOST_TEST_MODULE queue_store
#include <boost/test/unit_test.hpp>

#include <rocksdb/db.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "adapters/rocksdb/database.hpp"
#include "core/blocking_pool.hpp"
#include "tests/support/rocksdb.hpp"

using namespace motia;
namespace rocks = motia::rocks;

using motia::test::open_db;
using motia::test::temp_dir;

namespace {

queued_event event(const std::string& step, int n, std::uint16_t shard = 0, const std::string& group = {}) {
  queued_event e;
  e.step = step;
  e.shard = shard;
  e.topic = "t";
  e.data = payload::from_json({{"n", n}});
  e.trace_id = "trace";
  e.message_group_id = group;
  e.message_id = "m" + std::to_string(n);
  return e;
}

int n_of(const queued_event& e) { return e.data.to_json()["n"].get<int>(); }

struct result {
  std::vector<queued_event> enqueued;
  error err;
};

// Submits `w` and waits for its callback.
result write(rocks::queue_store& q, rocks::queue_write w) {
  std::promise<result> p;
  w.done = [&p](std::vector<queued_event>& enq, const error& err) { p.set_value({enq, err}); };
  q.submit(std::move(w));
  return p.get_future().get();
}

struct fixture {
  temp_dir dir;
  std::unique_ptr<rocks::database> db = open_db(dir.path);
  blocking_pool pool{2};
  rocks::queue_store q{*db, pool};
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(queue_store, fixture)

BOOST_AUTO_TEST_CASE(enqueue_assigns_increasing_seqs_and_scans_one_partition) {
  rocks::queue_write w;
  w.enqueue = {event("a", 1), event("b", 2), event("a", 3), event("a", 4, 1)};
  auto [enq, err] = write(q, std::move(w));
  BOOST_REQUIRE(!err);
  BOOST_REQUIRE(enq.size() == 4u);
  BOOST_TEST(enq[0].seq < enq[1].seq);
  BOOST_TEST(enq[1].seq < enq[2].seq);
  BOOST_TEST(enq[0].enqueued_at_ms > 0);
  auto a = q.pending("a", 0, 0, 10);
  BOOST_REQUIRE(a.size() == 2u);
  BOOST_TEST(n_of(a[0]) == 1);
  BOOST_TEST(n_of(a[1]) == 3);
  BOOST_TEST(a[1].seq == enq[2].seq);
  BOOST_TEST(q.pending("a", 0, a[0].seq, 10).size() == 1u); // strictly after
  BOOST_TEST(q.pending("a", 0, 0, 1).size() == 1u);          // limit
  auto a1 = q.pending("a", 1, 0, 10);                         // the other shard
  BOOST_REQUIRE(a1.size() == 1u);
  BOOST_TEST(n_of(a1[0]) == 4);
  BOOST_TEST(a1[0].shard == 1);
  BOOST_TEST(q.pending("ab", 0, 0, 10).empty()); // no prefix bleed
  BOOST_TEST(q.pending("", 0, 0, 10).empty());
  BOOST_TEST(q.depth("a") == 3);
  BOOST_TEST(q.depth("b") == 1);
}

BOOST_AUTO_TEST_CASE(ack_update_bury_redrive_purge_and_the_counters) {
  rocks::queue_write w;
  w.enqueue = {event("s", 1), event("s", 2)};
  auto enq = write(q, std::move(w)).enqueued;

  rocks::queue_write ack;
  ack.ack.push_back({"s", 0, enq[0].seq});
  ack.must_sync = false;
  BOOST_TEST(!write(q, std::move(ack)).err);
  BOOST_TEST(q.pending("s", 0, 0, 10).size() == 1u);
  BOOST_TEST(q.depth("s") == 1);

  auto e = enq[1];
  e.attempts = 2;
  e.last_error = "boom";
  rocks::queue_write upd;
  upd.update.push_back(e);
  write(q, std::move(upd));
  auto left = q.pending("s", 0, 0, 10);
  BOOST_REQUIRE(left.size() == 1u);
  BOOST_TEST(left[0].attempts == 2u);
  BOOST_TEST(left[0].last_error == "boom");
  BOOST_TEST(q.depth("s") == 1);

  e.attempts = 3;
  e.failed_at_ms = 1234;
  rocks::queue_write bury;
  bury.bury.push_back(e);
  write(q, std::move(bury));
  BOOST_TEST(q.pending("s", 0, 0, 10).empty());
  BOOST_TEST(q.depth("s") == 0);
  BOOST_TEST(q.dead_letter_count() == 1);
  auto dead = q.dead_letters("", 0, 10);
  BOOST_REQUIRE(dead.size() == 1u);
  BOOST_TEST(dead[0].seq == e.seq);
  BOOST_TEST(dead[0].attempts == 3u);
  BOOST_TEST(dead[0].failed_at_ms == 1234);
  BOOST_TEST(q.dead_letters("other", 0, 10).empty());
  BOOST_TEST(q.dead_letters("", e.seq, 10).empty()); // pages start after an id
  BOOST_TEST(q.dead_letter(e.seq).has_value());
  BOOST_TEST(!q.dead_letter(e.seq + 100).has_value());

  rocks::queue_write redrive;
  redrive.redrive = {e.seq, e.seq + 100}; // an unknown id is skipped
  auto re = write(q, std::move(redrive)).enqueued;
  BOOST_REQUIRE(re.size() == 1u);
  BOOST_TEST(re[0].seq > e.seq); // a new delivery
  BOOST_TEST(re[0].attempts == 0u);
  BOOST_TEST(re[0].data.bytes() == e.data.bytes());
  BOOST_TEST(q.dead_letters("", 0, 10).empty());
  BOOST_TEST(q.pending("s", 0, 0, 10).size() == 1u);
  BOOST_TEST(q.dead_letter_count() == 0);
  BOOST_TEST(q.depth("s") == 1);

  auto again = q.pending("s", 0, 0, 10)[0];
  again.failed_at_ms = 1;
  rocks::queue_write b2;
  b2.bury.push_back(again);
  write(q, std::move(b2));
  rocks::queue_write purge;
  purge.purge = {again.seq, again.seq + 7}; // an unknown id is not counted
  write(q, std::move(purge));
  BOOST_TEST(q.dead_letters("", 0, 10).empty());
  BOOST_TEST(q.dead_letter_count() == 0);
  BOOST_TEST(q.depths().empty());
}

BOOST_AUTO_TEST_CASE(the_listener_gets_one_call_per_partition_after_the_commit) {
  std::mutex mtx;
  std::map<std::pair<std::string, std::uint16_t>, std::vector<std::uint64_t>> seen;
  temp_dir d2;
  auto db2 = open_db(d2.path);
  rocks::queue_store q2(*db2, pool);
  q2.set_listener([&](std::vector<queued_event>&& rows) {
    std::lock_guard<std::mutex> g(mtx);
    auto& v = seen[{rows.front().step, rows.front().shard}];
    BOOST_CHECK(v.empty()); // one call per partition per commit
    for (auto& r : rows) {
      BOOST_CHECK(r.step == rows.front().step && r.shard == rows.front().shard);
      BOOST_CHECK(!q2.pending(r.step, r.shard, r.seq - 1, 1).empty()); // durable before it is told
      v.push_back(r.seq);
    }
  });
  rocks::queue_write w;
  w.enqueue = {event("a", 1), event("b", 2), event("a", 3), event("a", 4, 2)};
  write(q2, std::move(w));
  BOOST_TEST(seen.size() == 3u);
  BOOST_TEST(seen[std::make_pair(std::string("a"), std::uint16_t(0))].size() == 2u);
  BOOST_TEST(std::is_sorted(seen[{"a", 0}].begin(), seen[{"a", 0}].end()));
}

BOOST_AUTO_TEST_CASE(pending_rows_the_seq_and_the_depths_survive_a_reopen) {
  temp_dir d2;
  std::uint64_t last = 0;
  {
    auto db2 = open_db(d2.path, rocks::durability::strict);
    rocks::queue_store q2(*db2, pool);
    rocks::queue_write w;
    for (int i = 0; i < 10; ++i)
      w.enqueue.push_back(event("s", i));
    last = write(q2, std::move(w)).enqueued.back().seq;
  }
  auto db2 = open_db(d2.path);
  rocks::queue_store q2(*db2, pool);
  BOOST_TEST(q2.pending("s", 0, 0, 100).size() == 10u);
  BOOST_TEST(q2.depth("s") == 10);
  rocks::queue_write w;
  w.enqueue.push_back(event("s", 99));
  BOOST_TEST(write(q2, std::move(w)).enqueued[0].seq > last);
}

BOOST_AUTO_TEST_CASE(rows_of_the_unsharded_layout_move_to_shard_zero_at_open) {
  temp_dir d2;
  {
    auto db2 = open_db(d2.path);
    // Layout 1: step ‖ 0x00 ‖ seq (8 bytes BE), no shard, no layout mark.
    auto e = event("old", 5);
    std::string key = "old";
    key.push_back('\0');
    key.append(std::string("\0\0\0\0\0\0\0\x2a", 8));
    BOOST_REQUIRE(db2->db()->Put(db2->write_options(), db2->cf("queue"), key, encode_queued_event(e)).ok());
  }
  auto db2 = open_db(d2.path);
  rocks::queue_store q2(*db2, pool);
  auto rows = q2.pending("old", 0, 0, 10);
  BOOST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0].seq == 42u);
  BOOST_TEST(n_of(rows[0]) == 5);
  BOOST_TEST(q2.depth("old") == 1);
}

BOOST_AUTO_TEST_CASE(reshard_moves_rows_to_the_shard_of_their_group) {
  rocks::queue_write w;
  for (int i = 0; i < 40; ++i)
    w.enqueue.push_back(event("s", i, 0, "g" + std::to_string(i % 5)));
  write(q, std::move(w));
  q.reshard("s", 4);
  std::size_t total = 0;
  for (std::uint16_t shard = 0; shard < 4; ++shard)
    for (auto& r : q.pending("s", shard, 0, 100)) {
      BOOST_TEST(r.shard == shard);
      BOOST_TEST(shard_of("s", r.message_group_id, 4) == shard);
      ++total;
    }
  BOOST_TEST(total == 40u);
  BOOST_TEST(q.depth("s") == 40);
}

BOOST_AUTO_TEST_CASE(concurrent_submits_share_groups_and_callbacks_run_in_seq_order) {
  temp_dir d2;
  auto db2 = open_db(d2.path, rocks::durability::strict);
  rocks::queue_store q2(*db2, pool);
  constexpr int threads = 8, per_thread = 200;
  std::atomic<int> done{0};
  std::mutex mtx;
  std::vector<std::uint64_t> order;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        std::promise<void> p;
        rocks::queue_write w;
        w.enqueue.push_back(event("s", t * per_thread + i));
        w.done = [&](std::vector<queued_event>& enq, const error& err) {
          BOOST_CHECK(!err);
          std::lock_guard<std::mutex> g(mtx);
          order.push_back(enq.at(0).seq);
          ++done;
          p.set_value();
        };
        q2.submit(std::move(w));
        p.get_future().wait(); // each caller waits for durability, as emit does
      }
    });
  for (auto& t : ts)
    t.join();
  BOOST_TEST(done.load() == threads * per_thread);
  BOOST_TEST(std::is_sorted(order.begin(), order.end()));
  BOOST_TEST(q2.pending("s", 0, 0, 100000).size() == std::size_t(threads * per_thread));
  // Group commit: waiting callers were batched together.
  BOOST_TEST_MESSAGE("batches: " << q2.batches() << " for " << threads * per_thread << " writes");
  BOOST_TEST(q2.batches() < std::uint64_t(threads * per_thread));
}

BOOST_AUTO_TEST_CASE(submits_after_shutdown_are_refused_not_lost_silently) {
  temp_dir d2;
  auto db2 = open_db(d2.path);
  auto q2 = std::make_unique<rocks::queue_store>(*db2, pool);
  rocks::queue_write w;
  w.enqueue.push_back(event("s", 1));
  bool called = false;
  error first;
  w.done = [&](std::vector<queued_event>&, const error& err) {
    called = true;
    first = err;
  };
  q2->submit(std::move(w));
  q2.reset(); // the destructor commits what was submitted first
  BOOST_TEST(called);
  BOOST_TEST(!first);
  rocks::queue_store again(*db2, pool);
  BOOST_TEST(again.pending("s", 0, 0, 10).size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_inline_pool_commits_on_the_submitting_thread) {
  temp_dir d2;
  auto db2 = open_db(d2.path);
  blocking_pool inline_pool(0);
  rocks::queue_store q2(*db2, inline_pool);
  bool called = false;
  rocks::queue_write w;
  w.enqueue.push_back(event("s", 1));
  w.done = [&](std::vector<queued_event>&, const error&) { called = true; };
  q2.submit(std::move(w));
  BOOST_TEST(called); // deterministic tests of actors rely on this
}

BOOST_AUTO_TEST_SUITE_END()
