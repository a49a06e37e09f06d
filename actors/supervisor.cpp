#include "actors/supervisor.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace motia {

namespace {

using restart_atom = caf::atom_constant<caf::atom("restart")>;

struct child_state {
  child_spec spec;
  caf::actor current;
  unsigned consecutive = 0; ///< restarts since it last ran for a whole period
  std::chrono::steady_clock::time_point started;
  bool stopping = false; ///< stopped on purpose (one_for_all / rest_for_one)
};

struct supervisor_state {
  supervisor_policy policy;
  std::vector<child_state> children;
  std::deque<std::chrono::steady_clock::time_point> restarts;
  std::mt19937_64 rng{std::random_device{}()};
  bool shutting_down = false;
  bool restart_pending = false; ///< a restart timer is running
  static inline const char* name = "motia.supervisor";
};

using sup_actor = caf::stateful_actor<supervisor_state>;

bool abnormal(const caf::error& reason) {
  return reason && reason != caf::exit_reason::normal
         && reason != caf::exit_reason::user_shutdown;
}

void start_child(sup_actor* self, child_state& c) {
  c.current = c.spec.start(self->system());
  c.started = std::chrono::steady_clock::now();
  c.stopping = false;
  self->monitor(c.current);
  if (c.spec.on_start)
    c.spec.on_start(c.current);
}

// Restart intensity: more than max_restarts within period means the problem
// is not transient; give up and let the parent decide.
bool intensity_exceeded(sup_actor* self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  st.restarts.push_back(now);
  while (!st.restarts.empty() && now - st.restarts.front() > st.policy.limits.period)
    st.restarts.pop_front();
  return st.restarts.size() > st.policy.limits.max_restarts;
}

void stop_all(sup_actor* self) {
  auto& ch = self->state.children;
  for (auto it = ch.rbegin(); it != ch.rend(); ++it)
    if (it->current) {
      it->stopping = true;
      self->send_exit(it->current, caf::exit_reason::user_shutdown);
    }
}

void schedule_restart(sup_actor* self, std::size_t idx, const caf::error& reason, bool exhausted) {
  auto& st = self->state;
  auto& c = st.children[idx];
  auto now = std::chrono::steady_clock::now();
  if (now - c.started > st.policy.limits.period)
    c.consecutive = 0;
  ++c.consecutive;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto& limits = c.spec.backoff ? *c.spec.backoff : st.policy.limits;
  // Past the intensity the child is restarted no faster than the maximum
  // backoff: it keeps coming back without burning the machine.
  auto delay = exhausted ? limits.backoff_max : restart_backoff(limits, c.consecutive, unit(st.rng));
  if (st.policy.restarts)
    ++*st.policy.restarts;
  log::warn("child exited, restarting",
            {{"component", "supervisor"}, {"supervisor", st.policy.name}, {"child", c.spec.id},
             {"reason", describe(reason)}, {"restartIn", delay.count()},
             {"attempt", c.consecutive}});
  // Siblings that the strategy restarts with it are stopped now and started
  // again, in order, when the timer fires. Temporary ones are stopped but not
  // marked `stopping`, so their down_msg takes the never-restart path (OTP).
  auto& ch = st.children;
  std::size_t first = idx;
  if (st.policy.strategy == restart_strategy::one_for_all)
    first = 0;
  if (st.policy.strategy != restart_strategy::one_for_one)
    for (std::size_t i = ch.size(); i-- > first;)
      if (i != idx && ch[i].current) {
        ch[i].stopping = ch[i].spec.restart != restart_type::temporary;
        self->send_exit(ch[i].current, caf::exit_reason::user_shutdown);
      }
  c.current = nullptr;
  st.restart_pending = true;
  self->delayed_send(self, delay, restart_atom::value, static_cast<std::uint64_t>(idx));
}

void on_child_down(sup_actor* self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto it = std::find_if(st.children.begin(), st.children.end(),
                         [&](const child_state& c) { return c.current && c.current.address() == dm.source; });
  if (it == st.children.end() || st.shutting_down)
    return;
  auto idx = static_cast<std::size_t>(it - st.children.begin());
  if (it->stopping) { // stopped by us as a sibling: the restart timer brings it back
    it->current = nullptr;
    if (!st.restart_pending) // the timer already fired before this one was down
      start_child(self, *it);
    return;
  }
  auto type = it->spec.restart;
  if (type == restart_type::temporary || (type == restart_type::transient && !abnormal(dm.reason))) {
    it->current = nullptr;
    return;
  }
  bool exhausted = intensity_exceeded(self);
  if (exhausted) {
    bool escalate = st.policy.on_exhausted == exhausted_policy::escalate;
    log::error(escalate ? "restart intensity exceeded, giving up"
                        : "restart intensity exceeded; restarting at the maximum backoff",
               {{"component", "supervisor"}, {"supervisor", st.policy.name},
                {"child", it->spec.id}, {"maxRestarts", st.policy.limits.max_restarts},
                {"periodMs", st.policy.limits.period.count()}});
    if (st.policy.escalations)
      ++*st.policy.escalations;
    if (escalate) {
      st.shutting_down = true;
      stop_all(self);
      self->quit(make_error(errc::unavailable, "restart intensity exceeded for " + it->spec.id));
      return;
    }
  }
  schedule_restart(self, idx, dm.reason, exhausted);
}

caf::behavior supervisor_impl(sup_actor* self, supervisor_policy policy,
                              std::vector<child_spec> specs) {
  self->state.policy = std::move(policy);
  for (auto& s : specs)
    self->state.children.push_back(child_state{std::move(s), {}, 0, {}, false});
  self->set_down_handler([self](caf::down_msg& dm) { on_child_down(self, dm); });
  self->set_exit_handler([self](caf::exit_msg& em) {
    self->state.shutting_down = true;
    stop_all(self);
    self->quit(em.reason);
  });
  for (auto& c : self->state.children)
    start_child(self, c);
  self->set_default_handler([self](caf::scheduled_actor*, caf::message_view& m) -> caf::result<caf::message> {
    log::error("a supervisor got a message it does not expect; it is dropped",
               {{"supervisor", self->state.policy.name}, {"message", caf::to_string(m.content())}});
    return caf::sec::unexpected_message;
  });
  return {
    [self](restart_atom, std::uint64_t idx) {
      auto& st = self->state;
      st.restart_pending = false;
      if (st.shutting_down || idx >= st.children.size())
        return;
      // Start the failed child and every sibling stopped with it, in order.
      for (std::size_t i = 0; i < st.children.size(); ++i) {
        auto& c = st.children[i];
        if (!c.current && (i == idx || c.stopping))
          start_child(self, c);
      }
    },
    [self](ready_atom) { return self->state.children.size(); },
  };
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_policy policy,
                            std::vector<child_spec> children) {
  return sys.spawn(supervisor_impl, std::move(policy), std::move(children));
}

} // namespace motia
