#include "actors/cron_actor.hpp"

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/services.hpp"
#include "core/log.hpp"

namespace motia {

namespace {

using sys_clock = std::chrono::system_clock;

struct cron_state {
  std::vector<cron_entry> entries;
  std::vector<sys_clock::time_point> due;
  static inline const char* name = "motia.cron";
};

using cron_actor = caf::stateful_actor<cron_state>;

void schedule(cron_actor* self, std::size_t i, sys_clock::time_point after) {
  auto& st = self->state;
  auto next = st.entries[i].expr.next_after(after);
  if (!next) {
    log::warn("cron expression never matches again", {{"step", st.entries[i].step},
                                                       {"cron", st.entries[i].expr.text()}});
    return;
  }
  st.due[i] = *next;
  auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(*next - sys_clock::now());
  self->delayed_send(self, std::max(delay, std::chrono::milliseconds(0)), fire_atom::value,
                     static_cast<std::uint64_t>(i));
}

caf::behavior cron_impl(cron_actor* self, std::vector<cron_entry> entries) {
  auto& st = self->state;
  st.entries = std::move(entries);
  st.due.resize(st.entries.size());
  auto now = sys_clock::now();
  for (std::size_t i = 0; i < st.entries.size(); ++i)
    schedule(self, i, now);
  self->set_default_handler(caf::drop);
  return {
    [self](fire_atom, std::uint64_t i) {
      auto& st = self->state;
      if (i >= st.entries.size())
        return;
      // Timers may fire a little early; wait for the due minute itself.
      auto now = sys_clock::now();
      if (now < st.due[i]) {
        auto rest = std::chrono::duration_cast<std::chrono::milliseconds>(st.due[i] - now);
        self->delayed_send(self, rest + std::chrono::milliseconds(1), fire_atom::value, i);
        return;
      }
      auto& e = st.entries[i];
      auto trace = new_trace_id();
      log::debug("cron fired", {{"step", e.step}, {"traceId", trace}, {"cron", e.expr.text()}});
      if (auto target = e.target->get())
        self->send(target, cron_atom::value, trace);
      schedule(self, i, st.due[i]);
    },
    [self](done_atom) { self->quit(); },
  };
}

} // namespace

caf::actor spawn_cron_actor(caf::actor_system& sys, std::vector<cron_entry> entries) {
  return sys.spawn(cron_impl, std::move(entries));
}

} // namespace motia
