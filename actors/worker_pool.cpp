#include <deque>
#include <optional>

#include <caf/all.hpp>

#include "actors/error.hpp"
#include "actors/messages.hpp"
#include "actors/worker.hpp"
#include "core/log.hpp"

namespace motia {

namespace {

constexpr std::size_t max_waiting = 100'000;

struct pool_state {
  std::string lang;
  std::vector<caf::actor> up;
  std::size_t next = 0;
  std::deque<std::pair<invocation, caf::response_promise>> waiting;
  std::optional<worker_registration> registration;
  std::vector<caf::response_promise> registration_waiters;
  static inline const char* name = "motia.worker_pool";
};

using pool_actor = caf::stateful_actor<pool_state>;

void flush_waiting(pool_actor* self) {
  auto& st = self->state;
  while (!st.waiting.empty() && !st.up.empty()) {
    auto [inv, rp] = std::move(st.waiting.front());
    st.waiting.pop_front();
    rp.delegate(st.up[st.next++ % st.up.size()], invoke_atom::value, std::move(inv));
  }
}

caf::behavior pool_impl(pool_actor* self, std::string lang) {
  self->state.lang = std::move(lang);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& up = self->state.up;
    up.erase(std::remove_if(up.begin(), up.end(), [&](auto& a) { return a.address() == dm.source; }),
             up.end());
  });
  self->set_default_handler(caf::drop);
  return {
    [self](worker_up_atom, caf::actor proxy, worker_registration& reg) {
      auto& st = self->state;
      self->monitor(proxy);
      st.up.push_back(std::move(proxy));
      if (!st.registration) {
        st.registration = reg;
        for (auto& rp : st.registration_waiters)
          rp.deliver(reg);
        st.registration_waiters.clear();
      }
      flush_waiting(self);
    },
    [self](invoke_atom, invocation& inv) {
      auto& st = self->state;
      auto rp = self->make_response_promise();
      if (!st.up.empty())
        rp.delegate(st.up[st.next++ % st.up.size()], invoke_atom::value, std::move(inv));
      else if (st.waiting.size() >= max_waiting)
        rp.deliver(make_error(errc::unavailable, "no " + st.lang + " worker is up and the wait queue is full"));
      else
        st.waiting.emplace_back(std::move(inv), rp);
      return rp;
    },
    [self](register_atom) {
      auto& st = self->state;
      auto rp = self->make_response_promise();
      if (st.registration)
        rp.deliver(*st.registration);
      else
        st.registration_waiters.push_back(rp);
      return rp;
    },
  };
}

} // namespace

caf::actor spawn_worker_pool(caf::actor_system& sys, std::string lang) {
  return sys.spawn(pool_impl, std::move(lang));
}

} // namespace motia
