#include "adapters/rocksdb/queue_store.hpp"

#define BOOST_TEST_MODULE queue_store
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "adapters/rocksdb/database.hpp"
#include "tests/support/rocksdb.hpp"

using namespace motia;
namespace fs = std::filesystem;
namespace rocks = motia::rocks;

using motia::test::open_db;
using motia::test::temp_dir;

namespace {

queued_event event(const std::string& step, int n, const std::string& group = {}) {
  queued_event e;
  e.step = step;
  e.topic = "t";
  e.data = {{"n", n}};
  e.trace_id = "trace";
  e.message_group_id = group;
  e.message_id = "m" + std::to_string(n);
  return e;
}

// Submits `w` and waits for its callback; returns (enqueued, error).
std::pair<std::vector<queued_event>, std::string> write(rocks::queue_store& q, rocks::queue_write w) {
  std::promise<std::pair<std::vector<queued_event>, std::string>> p;
  w.done = [&p](std::vector<queued_event>& enq, const std::string& err) {
    p.set_value({enq, err});
  };
  q.submit(std::move(w));
  return p.get_future().get();
}

} // namespace

BOOST_AUTO_TEST_CASE(enqueue_assigns_increasing_seqs_and_scans_by_step) {
  temp_dir dir;
  auto db = open_db(dir.path);
  rocks::queue_store q(*db);
  rocks::queue_write w;
  w.enqueue = {event("a", 1), event("b", 2), event("a", 3)};
  auto [enq, err] = write(q, std::move(w));
  BOOST_REQUIRE(err.empty());
  BOOST_REQUIRE(enq.size() == 3u);
  BOOST_TEST(enq[0].seq < enq[1].seq);
  BOOST_TEST(enq[1].seq < enq[2].seq);
  BOOST_TEST(enq[0].enqueued_at_ms > 0);
  auto a = q.pending("a", 0, 10);
  BOOST_REQUIRE(a.size() == 2u);
  BOOST_TEST((a[0].data["n"] == 1));
  BOOST_TEST((a[1].data["n"] == 3));
  BOOST_TEST(a[1].seq == enq[2].seq);
  BOOST_TEST(q.pending("a", a[0].seq, 10).size() == 1u); // strictly after
  BOOST_TEST(q.pending("a", 0, 1).size() == 1u);          // limit
  BOOST_TEST(q.pending("ab", 0, 10).empty());             // no prefix bleed
  BOOST_TEST(q.pending("", 0, 10).empty());
  BOOST_TEST(q.pending_count() == 3u);
}

BOOST_AUTO_TEST_CASE(ack_update_bury_redrive_purge) {
  temp_dir dir;
  auto db = open_db(dir.path);
  rocks::queue_store q(*db);
  rocks::queue_write w;
  w.enqueue = {event("s", 1), event("s", 2)};
  auto enq = write(q, std::move(w)).first;

  rocks::queue_write ack;
  ack.ack.emplace_back("s", enq[0].seq);
  ack.must_sync = false;
  BOOST_TEST(write(q, std::move(ack)).second.empty());
  BOOST_TEST(q.pending("s", 0, 10).size() == 1u);

  auto e = enq[1];
  e.attempts = 2;
  e.last_error = "boom";
  rocks::queue_write upd;
  upd.update.push_back(e);
  write(q, std::move(upd));
  auto left = q.pending("s", 0, 10);
  BOOST_REQUIRE(left.size() == 1u);
  BOOST_TEST(left[0].attempts == 2u);
  BOOST_TEST(left[0].last_error == "boom");

  e.attempts = 3;
  e.failed_at_ms = 1234;
  rocks::queue_write bury;
  bury.bury.push_back(e);
  write(q, std::move(bury));
  BOOST_TEST(q.pending("s", 0, 10).empty());
  auto dead = q.dead_letters("", 10);
  BOOST_REQUIRE(dead.size() == 1u);
  BOOST_TEST(dead[0].seq == e.seq);
  BOOST_TEST(dead[0].attempts == 3u);
  BOOST_TEST(dead[0].failed_at_ms == 1234);
  BOOST_TEST(q.dead_letters("other", 10).empty());
  BOOST_TEST(q.dead_letter(e.seq).has_value());
  BOOST_TEST(!q.dead_letter(e.seq + 100).has_value());

  rocks::queue_write redrive;
  redrive.redrive = {e.seq, e.seq + 100}; // an unknown id is skipped
  auto re = write(q, std::move(redrive)).first;
  BOOST_REQUIRE(re.size() == 1u);
  BOOST_TEST(re[0].seq > e.seq); // a new delivery
  BOOST_TEST(re[0].attempts == 0u);
  BOOST_TEST((re[0].data == e.data));
  BOOST_TEST(q.dead_letters("", 10).empty());
  BOOST_TEST(q.pending("s", 0, 10).size() == 1u);

  auto again = q.pending("s", 0, 10)[0];
  again.failed_at_ms = 1;
  rocks::queue_write b2;
  b2.bury.push_back(again);
  write(q, std::move(b2));
  rocks::queue_write purge;
  purge.purge = {again.seq};
  write(q, std::move(purge));
  BOOST_TEST(q.dead_letters("", 10).empty());
  BOOST_TEST(q.pending_count() == 0u);
}

BOOST_AUTO_TEST_CASE(pending_entries_and_the_seq_survive_a_reopen) {
  temp_dir dir;
  std::uint64_t last = 0;
  {
    auto db = open_db(dir.path, rocks::durability::strict);
    rocks::queue_store q(*db);
    rocks::queue_write w;
    for (int i = 0; i < 10; ++i)
      w.enqueue.push_back(event("s", i));
    last = write(q, std::move(w)).first.back().seq;
  }
  auto db = open_db(dir.path);
  rocks::queue_store q(*db);
  BOOST_TEST(q.pending("s", 0, 100).size() == 10u);
  rocks::queue_write w;
  w.enqueue.push_back(event("s", 99));
  BOOST_TEST(write(q, std::move(w)).first[0].seq > last);
}

BOOST_AUTO_TEST_CASE(concurrent_submits_share_batches_and_callbacks_run_in_seq_order) {
  temp_dir dir;
  auto db = open_db(dir.path, rocks::durability::strict);
  rocks::queue_store q(*db);
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
        w.done = [&](std::vector<queued_event>& enq, const std::string& err) {
          BOOST_CHECK(err.empty());
          std::lock_guard<std::mutex> g(mtx);
          order.push_back(enq.at(0).seq);
          ++done;
          p.set_value();
        };
        q.submit(std::move(w));
        p.get_future().wait(); // each caller waits for durability, as emit does
      }
    });
  for (auto& t : ts)
    t.join();
  BOOST_TEST(done.load() == threads * per_thread);
  BOOST_TEST(std::is_sorted(order.begin(), order.end()));
  BOOST_TEST(q.pending("s", 0, 100000).size() == std::size_t(threads * per_thread));
  // Group commit: waiting callers were batched together.
  BOOST_TEST_MESSAGE("batches: " << q.batches() << " for " << threads * per_thread << " writes");
  BOOST_TEST(q.batches() < std::uint64_t(threads * per_thread));
}

BOOST_AUTO_TEST_CASE(submits_after_shutdown_are_refused_not_lost_silently) {
  temp_dir dir;
  auto db = open_db(dir.path);
  auto q = std::make_unique<rocks::queue_store>(*db);
  rocks::queue_write w;
  w.enqueue.push_back(event("s", 1));
  std::string error = "unset";
  w.done = [&](std::vector<queued_event>&, const std::string& err) { error = err; };
  q->submit(std::move(w));
  q.reset(); // the destructor commits what was submitted first
  BOOST_TEST(error.empty());
  rocks::queue_store again(*db);
  BOOST_TEST(again.pending("s", 0, 10).size() == 1u);
}
