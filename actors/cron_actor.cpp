#include "actors/cron_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "core/log.hpp"
#include "runtime/runtime_env.hpp"

namespace motia {

namespace {

using sys_clock = std::chrono::system_clock;

struct cron_state {
  std::shared_ptr<runtime_env> env;
  std::vector<cron_entry> entries;
  std::vector<sys_clock::time_point> due;
  static inline const char* name = "motia.cron";
};

using self_ptr = cron_actor::stateful_pointer<cron_state>;

void schedule(self_ptr self, std::size_t i, sys_clock::time_point after) {
  auto& st = self->state;
  auto next = st.entries[i].expr.next_after(after);
  if (!next) {
    log::warn("cron expression never matches again",
              {{"step", st.entries[i].step}, {"cron", st.entries[i].expr.text()}});
    return;
  }
  st.due[i] = *next;
  auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(*next - sys_clock::now());
  self->delayed_send(self, std::max(delay, std::chrono::milliseconds(0)), fire_atom::value,
                     static_cast<std::int64_t>(i));
}

void fire(self_ptr self, std::int64_t index) {
  auto& st = self->state;
  if (index < 0 || static_cast<std::size_t>(index) >= st.entries.size())
    return;
  auto i = static_cast<std::size_t>(index);
  // Timers may fire a little early; wait for the due time itself.
  auto now = sys_clock::now();
  if (now < st.due[i]) {
    auto rest = std::chrono::duration_cast<std::chrono::milliseconds>(st.due[i] - now);
    self->delayed_send(self, rest + std::chrono::milliseconds(1), fire_atom::value, index);
    return;
  }
  auto& e = st.entries[i];
  cron_tick tick{new_trace_id(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(st.due[i].time_since_epoch()).count()};
  log::debug("cron fired", {{"step", e.step}, {"traceId", tick.trace_id}, {"cron", e.expr.text()}});
  if (auto target = st.env->steps.get(e.step))
    self->send(target, std::move(tick));
  schedule(self, i, st.due[i]);
}

cron_actor::behavior_type cron_impl(self_ptr self, std::shared_ptr<runtime_env> env, std::vector<cron_entry> entries) {
  auto& st = self->state;
  st.env = std::move(env);
  st.entries = std::move(entries);
  st.due.resize(st.entries.size());
  auto now = sys_clock::now();
  for (std::size_t i = 0; i < st.entries.size(); ++i)
    schedule(self, i, now);
  self->set_default_handler([env = st.env](caf::scheduled_actor*, caf::message_view& m) -> caf::result<caf::message> {
    log_unexpected(*env, "cron", caf::to_string(m.content()));
    return caf::sec::unexpected_message;
  });
  return {
    [self](fire_atom, std::int64_t i) { fire(self, i); },
    [self](done_atom) { self->quit(); },
  };
}

} // namespace

cron_actor spawn_cron_actor(caf::actor_system& sys, std::shared_ptr<runtime_env> env, std::vector<cron_entry> entries) {
  return sys.spawn(cron_impl, std::move(env), std::move(entries));
}

} // namespace motia
