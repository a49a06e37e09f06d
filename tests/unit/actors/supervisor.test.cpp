#include "actors/supervisor.hpp"

#define BOOST_TEST_MODULE supervisor
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "core/error.hpp"
#include "actors/protocol.hpp"
#include "core/log.hpp"

// Real actor system, real timers: the supervisor's behaviour is its timing
// (backoff, intensity window), which the deterministic test_coordinator would
// fake away. Backoffs are 10-80 ms so the suite stays fast; every wait polls
// against a deadline, and lower bounds are exact while upper bounds are loose
// because the machine is shared.

namespace {

using namespace std::chrono_literals;
using motia::restart_strategy;
using motia::restart_type;
using clock_type = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

using fail_atom = caf::atom_constant<caf::atom("fail")>;         // quit(sec::runtime_error)
using finish_atom = caf::atom_constant<caf::atom("finish")>;     // quit() normally
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>; // quit(user_shutdown)

/// Long enough that a restart which should not happen would have (several
/// times backoff_max of the fast settings).
constexpr auto settle = 250ms;

/// What happened to the children: launches come from on_start (the
/// supervisor's thread, so their order is the supervisor's order), stops from
/// the children's exit functors.
/// Thread-safety: every member function locks `mu_`.
class recorder {
public:
  void launched(const std::string& id, const caf::actor& who) {
    std::lock_guard<std::mutex> lock{mu_};
    launches_.push_back({id, who, clock_type::now()});
  }
  void stopped(const std::string& id) {
    std::lock_guard<std::mutex> lock{mu_};
    ++stops_[id];
  }
  std::size_t launches(const std::string& id) const {
    std::lock_guard<std::mutex> lock{mu_};
    return static_cast<std::size_t>(std::count_if(
      launches_.begin(), launches_.end(), [&](const launch& l) { return l.id == id; }));
  }
  std::size_t stops(const std::string& id) const {
    std::lock_guard<std::mutex> lock{mu_};
    auto it = stops_.find(id);
    return it == stops_.end() ? 0 : it->second;
  }
  /// The `n`-th instance of `id` (0 = first); requires it exists.
  caf::actor instance(const std::string& id, std::size_t n) const { return nth(id, n).who; }
  clock_type::time_point launch_time(const std::string& id, std::size_t n) const {
    return nth(id, n).at;
  }
  caf::actor current(const std::string& id) const { return instance(id, launches(id) - 1); }
  std::vector<std::string> order() const {
    std::lock_guard<std::mutex> lock{mu_};
    std::vector<std::string> out;
    for (auto& l : launches_)
      out.push_back(l.id);
    return out;
  }
  /// Drops the actor handles, so none outlives the actor system.
  void clear() {
    std::lock_guard<std::mutex> lock{mu_};
    launches_.clear();
  }

private:
  struct launch {
    std::string id;
    caf::actor who;
    clock_type::time_point at;
  };
  launch nth(const std::string& id, std::size_t n) const {
    std::lock_guard<std::mutex> lock{mu_};
    std::size_t seen = 0;
    for (auto& l : launches_)
      if (l.id == id && seen++ == n)
        return l;
    BOOST_FAIL("no instance " << n << " of child " << id);
    return {};
  }
  mutable std::mutex mu_;
  std::vector<launch> launches_;
  std::map<std::string, std::size_t> stops_;
};

caf::behavior child_impl(caf::event_based_actor* self, std::string id,
                         std::shared_ptr<recorder> rec) {
  self->attach_functor([id, rec](const caf::error&) { rec->stopped(id); });
  return {
    [self](fail_atom) { self->quit(caf::sec::runtime_error); },
    [self](finish_atom) { self->quit(); },
    [self](shutdown_atom) { self->quit(caf::exit_reason::user_shutdown); },
  };
}

struct quiet_config : caf::actor_system_config {
  quiet_config() {
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", 2);
    set("logger.verbosity", caf::atom("quiet"));
    set("logger.file-verbosity", caf::atom("quiet"));
    set("logger.console-verbosity", caf::atom("quiet"));
  }
};

motia::supervision_settings fast_limits() {
  motia::supervision_settings s;
  s.max_restarts = 100;
  s.period = 10s;
  s.backoff_min = 10ms;
  s.backoff_max = 80ms;
  s.jitter = 0;
  return s;
}

template <class Predicate>
bool eventually(Predicate done, ms limit = 5s) {
  auto deadline = clock_type::now() + limit;
  while (!done()) {
    if (clock_type::now() > deadline)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

struct fixture {
  quiet_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<recorder> rec = std::make_shared<recorder>();
  std::vector<caf::actor> supervisors;

  fixture() { motia::log::set_threshold(motia::log::level::error); }

  ~fixture() {
    for (auto& s : supervisors)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    supervisors.clear();
    sys.await_all_actors_done();
    rec->clear();
  }

  motia::child_spec child(const std::string& id, restart_type type = restart_type::permanent) {
    auto r = rec;
    return {id, [id, r](caf::actor_system& s) { return s.spawn(child_impl, id, r); }, type,
            [id, r](const caf::actor& who) { r->launched(id, who); }, std::nullopt};
  }

  /// Spawns a supervisor and waits until it has launched every child once.
  caf::actor supervise(restart_strategy strategy, std::vector<motia::child_spec> children,
                       motia::supervision_settings limits = fast_limits()) {
    auto n = children.size();
    auto sup = motia::spawn_supervisor(sys, {strategy, limits, "test"}, std::move(children));
    supervisors.push_back(sup);
    BOOST_REQUIRE(eventually([&] { return rec->order().size() == n; }));
    return sup;
  }

  void tell(const std::string& id, caf::atom_value what) {
    caf::anon_send(rec->current(id), what);
  }

  /// The supervisor still answers (it did not exit or hang).
  bool alive(const caf::actor& sup) {
    caf::scoped_actor self{sys};
    bool ok = false;
    self->request(sup, 2s, motia::ready_atom::value)
      .receive([&](std::size_t) { ok = true; }, [&](caf::error&) { ok = false; });
    return ok;
  }
};

/// Waits for the down_msg of the actor `self` monitors; returns its reason.
caf::error await_down(caf::scoped_actor& self) {
  caf::error reason = caf::sec::request_timeout;
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                caf::after(5s) >> [] { BOOST_ERROR("the supervisor did not exit"); });
  return reason;
}

} // namespace

// -- restart_backoff ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(restart_backoff_doubles_from_min_caps_at_max_and_scales_by_jitter) {
  struct row {
    long min, max;
    double jitter;
    unsigned n;
    double unit_random;
    long expected_ms;
  };
  const row rows[] = {
    {100, 10'000, 0.0, 1, 0.5, 100},   // the first restart waits backoff_min
    {100, 10'000, 0.0, 2, 0.5, 200},   // then doubles
    {100, 10'000, 0.0, 4, 0.5, 800},
    {100, 1'000, 0.0, 5, 0.5, 1'000},  // 1600 capped at max
    {100, 1'000, 0.0, 64, 0.5, 1'000}, // a huge n neither overflows nor loops long
    {10, 80, 0.0, 3, 0.0, 40},         // without jitter unit_random is ignored
    {10, 80, 0.0, 9, 1.0, 80},
    {100, 10'000, 0.2, 1, 0.0, 80},    // unit_random 0: the lower jitter bound
    {100, 10'000, 0.2, 1, 0.5, 100},   // unit_random 0.5: no change
    {100, 10'000, 0.2, 1, 1.0, 120},   // unit_random 1: the upper jitter bound
    {100, 1'000, 0.2, 8, 1.0, 1'200},  // jitter applies after the cap
    {100, 1'000, 0.2, 8, 0.0, 800},
    {1'000, 60'000, 0.07, 1, 0.0, 930}, // 929.99.. in doubles: rounded, not truncated
    {100, 10'000, 0.15, 1, 1.0, 115},   // 114.99.. in doubles
  };
  for (const auto& r : rows) {
    motia::supervision_settings s;
    s.backoff_min = ms{r.min};
    s.backoff_max = ms{r.max};
    s.jitter = r.jitter;
    BOOST_TEST_CONTEXT("min " << r.min << " max " << r.max << " jitter " << r.jitter << " n "
                              << r.n << " unit_random " << r.unit_random) {
      BOOST_TEST(motia::restart_backoff(s, r.n, r.unit_random).count() == r.expected_ms);
    }
  }
}

// -- strategies --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_crash_restarts_the_children_the_strategy_names_in_start_order) {
  struct row {
    const char* what;
    restart_strategy strategy;
    std::string crashed;
    std::vector<std::string> restarted; // in launch order
  };
  const row rows[] = {
    {"one_for_one restarts only the crashed child", restart_strategy::one_for_one, "b", {"b"}},
    {"one_for_all restarts every child in order", restart_strategy::one_for_all, "b",
     {"a", "b", "c"}},
    {"rest_for_one restarts the crashed child and the later ones",
     restart_strategy::rest_for_one, "b", {"b", "c"}},
    {"rest_for_one on the first child restarts all", restart_strategy::rest_for_one, "a",
     {"a", "b", "c"}},
    {"rest_for_one on the last child restarts only it", restart_strategy::rest_for_one, "c",
     {"c"}},
  };
  const std::vector<std::string> ids{"a", "b", "c"};
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.what) {
      fixture f;
      f.supervise(r.strategy, {f.child("a"), f.child("b"), f.child("c")});
      std::map<std::string, caf::actor> before;
      for (auto& id : ids)
        before[id] = f.rec->current(id);
      f.tell(r.crashed, fail_atom::value);
      BOOST_REQUIRE(eventually([&] { return f.rec->order().size() == 3 + r.restarted.size(); }));
      std::this_thread::sleep_for(settle); // nothing else comes back late
      auto order = f.rec->order();
      BOOST_TEST(std::vector<std::string>(order.begin() + 3, order.end()) == r.restarted,
                 boost::test_tools::per_element());
      for (auto& id : ids) {
        bool restarted = std::count(r.restarted.begin(), r.restarted.end(), id) > 0;
        BOOST_TEST_CONTEXT("child " << id) {
          BOOST_TEST(f.rec->launches(id) == (restarted ? 2u : 1u));
          BOOST_TEST((f.rec->current(id) == before[id]) == !restarted);
          BOOST_TEST(eventually([&] { return f.rec->stops(id) == (restarted ? 1u : 0u); }));
        }
      }
      BOOST_TEST(f.alive(f.supervisors.front()));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_temporary_sibling_is_stopped_but_not_restarted_with_the_others) {
  for (auto strategy : {restart_strategy::one_for_all, restart_strategy::rest_for_one}) {
    BOOST_TEST_CONTEXT("strategy " << static_cast<int>(strategy)) {
      fixture f;
      f.supervise(strategy, {f.child("a"), f.child("t", restart_type::temporary), f.child("c")});
      f.tell("a", fail_atom::value);
      BOOST_REQUIRE(eventually([&] { return f.rec->launches("c") == 2; }));
      std::this_thread::sleep_for(settle);
      BOOST_TEST(f.rec->launches("a") == 2u);
      BOOST_TEST(f.rec->launches("t") == 1u);
      BOOST_TEST(f.rec->stops("t") == 1u);
      BOOST_TEST(f.alive(f.supervisors.front()));
    }
  }
}

// -- restart types -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_restart_type_decides_whether_an_exited_child_comes_back) {
  struct row {
    restart_type type;
    const char* exit;
    caf::atom_value how;
    bool restarted;
  };
  const row rows[] = {
    {restart_type::permanent, "crash", fail_atom::value, true},
    {restart_type::permanent, "normal exit", finish_atom::value, true},
    {restart_type::transient, "crash", fail_atom::value, true},
    {restart_type::transient, "normal exit", finish_atom::value, false},
    {restart_type::transient, "user_shutdown exit", shutdown_atom::value, false},
    {restart_type::temporary, "crash", fail_atom::value, false},
    {restart_type::temporary, "normal exit", finish_atom::value, false},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("restart type " << static_cast<int>(r.type) << " after " << r.exit) {
      fixture f;
      f.supervise(restart_strategy::one_for_one, {f.child("x", r.type), f.child("sibling")});
      auto first = f.rec->current("x");
      f.tell("x", r.how);
      BOOST_REQUIRE(eventually([&] { return f.rec->stops("x") == 1; }));
      if (r.restarted)
        BOOST_TEST(eventually([&] { return f.rec->launches("x") == 2; }));
      std::this_thread::sleep_for(settle);
      BOOST_TEST(f.rec->launches("x") == (r.restarted ? 2u : 1u));
      if (r.restarted)
        BOOST_TEST((f.rec->current("x") != first));
      BOOST_TEST(f.rec->launches("sibling") == 1u);
      BOOST_TEST(f.alive(f.supervisors.front()));
    }
  }
}

// -- restart intensity -------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(the_third_crash_within_the_period_stops_the_children_and_escalates,
                        fixture) {
  auto limits = fast_limits();
  limits.max_restarts = 2;
  limits.period = 10s;
  auto sup = supervise(restart_strategy::one_for_one, {child("a"), child("b")}, limits);
  caf::scoped_actor self{sys};
  self->monitor(sup);
  for (std::size_t crash = 1; crash <= 2; ++crash) {
    tell("a", fail_atom::value);
    BOOST_REQUIRE(eventually([&] { return rec->launches("a") == crash + 1; }));
  }
  tell("a", fail_atom::value);
  auto reason = await_down(self);
  BOOST_TEST(caf::to_string(reason.category()) == "motia");
  BOOST_TEST(reason.code() == static_cast<std::uint8_t>(motia::errc::unavailable));
  BOOST_TEST_MESSAGE("supervisor exited with " << motia::describe(reason));
  BOOST_TEST(eventually([&] { return rec->stops("a") == 3 && rec->stops("b") == 1; }));
  BOOST_TEST(rec->launches("a") == 3u);
  BOOST_TEST(rec->launches("b") == 1u);
}

BOOST_FIXTURE_TEST_CASE(past_the_intensity_a_keep_restarting_supervisor_restarts_at_the_maximum_backoff,
                        fixture) {
  auto limits = fast_limits();
  limits.max_restarts = 1;
  limits.period = 10s;
  limits.backoff_min = 10ms;
  limits.backoff_max = 60ms;
  limits.jitter = 0;
  std::atomic<std::uint64_t> restarts{0}, escalations{0};
  motia::supervisor_policy policy{restart_strategy::one_for_one, limits, "workers", &restarts, &escalations,
                                  motia::exhausted_policy::keep_restarting};
  auto sup = motia::spawn_supervisor(sys, policy, {child("a"), child("b")});
  supervisors.push_back(sup);
  BOOST_REQUIRE(eventually([&] { return rec->order().size() == 2; }));
  for (std::size_t crash = 1; crash <= 4; ++crash) {
    auto crashed_at = clock_type::now();
    tell("a", fail_atom::value);
    BOOST_REQUIRE(eventually([&] { return rec->launches("a") == crash + 1; }));
    if (crash >= 2) { // past the intensity: the maximum backoff, no exit
      auto gap = std::chrono::duration_cast<ms>(rec->launch_time("a", crash) - crashed_at);
      BOOST_TEST(gap.count() >= 60);
    }
  }
  BOOST_TEST(alive(sup));
  BOOST_TEST(escalations.load() == 3u); // counted each time, never escalated
  BOOST_TEST(rec->launches("b") == 1u); // its sibling was never touched
}

BOOST_FIXTURE_TEST_CASE(crashes_older_than_the_period_do_not_count_toward_the_intensity,
                        fixture) {
  auto limits = fast_limits();
  limits.max_restarts = 1;
  limits.period = 150ms;
  auto sup = supervise(restart_strategy::one_for_one, {child("a")}, limits);
  for (std::size_t crash = 1; crash <= 3; ++crash) {
    auto crashed_at = clock_type::now();
    tell("a", fail_atom::value);
    BOOST_REQUIRE(eventually([&] { return rec->launches("a") == crash + 1; }));
    std::this_thread::sleep_until(crashed_at + limits.period + 50ms);
  }
  BOOST_TEST(alive(sup));
}

// -- backoff -----------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(a_restart_waits_the_backoff_which_grows_on_consecutive_crashes,
                        fixture) {
  auto limits = fast_limits();
  limits.backoff_min = 20ms;
  limits.backoff_max = 80ms;
  supervise(restart_strategy::one_for_one, {child("a")}, limits);
  const ms expected[] = {20ms, 40ms, 80ms, 80ms};
  for (std::size_t i = 0; i < std::size(expected); ++i) {
    auto crashed_at = clock_type::now(); // before the crash, so the gap is a lower bound
    tell("a", fail_atom::value);
    BOOST_REQUIRE(eventually([&] { return rec->launches("a") == i + 2; }));
    auto gap = std::chrono::duration_cast<ms>(rec->launch_time("a", i + 1) - crashed_at);
    BOOST_TEST_CONTEXT("crash " << i + 1 << " restarted after " << gap.count() << " ms") {
      BOOST_TEST(gap.count() >= expected[i].count());
      BOOST_TEST(gap.count() < expected[i].count() + 1'000); // loaded machine
    }
  }
}

BOOST_FIXTURE_TEST_CASE(a_child_with_its_own_backoff_waits_that_long_and_restarts_are_counted,
                        fixture) {
  auto limits = fast_limits();
  limits.backoff_min = limits.backoff_max = 10ms;
  limits.jitter = 0;
  auto slow = child("slow");
  motia::supervision_settings own = limits;
  own.backoff_min = own.backoff_max = 300ms;
  slow.backoff = own;
  std::atomic<std::uint64_t> restarts{0}, escalations{0};
  motia::supervisor_policy policy{restart_strategy::one_for_one, limits, "counted", &restarts,
                                  &escalations};
  supervisors.push_back(motia::spawn_supervisor(sys, policy, {child("fast"), slow}));
  BOOST_REQUIRE(eventually([&] { return rec->order().size() == 2; }));
  auto t0 = clock_type::now();
  tell("slow", fail_atom::value);
  tell("fast", fail_atom::value);
  BOOST_REQUIRE(eventually([&] { return rec->launches("fast") == 2 && rec->launches("slow") == 2; }));
  auto fast_gap = std::chrono::duration_cast<ms>(rec->launch_time("fast", 1) - t0);
  auto slow_gap = std::chrono::duration_cast<ms>(rec->launch_time("slow", 1) - t0);
  BOOST_TEST_MESSAGE("fast restarted after " << fast_gap.count() << " ms, slow after " << slow_gap.count());
  BOOST_TEST(slow_gap.count() >= 300);
  BOOST_TEST(fast_gap.count() < slow_gap.count());
  BOOST_TEST(restarts.load() == 2u);
  BOOST_TEST(escalations.load() == 0u);
}

// -- shutdown ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_exit_message_stops_the_children_and_the_supervisor_for_good) {
  for (bool restart_pending : {false, true}) {
    BOOST_TEST_CONTEXT((restart_pending ? "while a restart is pending" : "while all run")) {
      fixture f;
      auto limits = fast_limits();
      // Long enough that the exit surely arrives while the timer runs.
      limits.backoff_min = limits.backoff_max = 2s;
      auto sup = f.supervise(restart_strategy::one_for_all,
                             {f.child("a"), f.child("b"), f.child("c")}, limits);
      caf::scoped_actor self{f.sys};
      self->monitor(sup);
      if (restart_pending) {
        f.tell("a", fail_atom::value);
        // b is stopped only once the supervisor handled a's crash and set the timer.
        BOOST_REQUIRE(eventually([&] { return f.rec->stops("b") == 1; }));
      }
      caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
      auto reason = await_down(self);
      BOOST_TEST((reason == caf::exit_reason::user_shutdown), motia::describe(reason));
      for (const char* id : {"a", "b", "c"}) {
        BOOST_TEST_CONTEXT("child " << id) {
          BOOST_TEST(f.rec->launches(id) == 1u);
          BOOST_TEST(eventually([&] { return f.rec->stops(id) == 1; }));
        }
      }
    }
  }
}
