#pragma once

#include <caf/fwd.hpp>

namespace motia {

struct runtime_services;
struct step_config;
class actor_slot;

/// Spawns the actor of one step. It joins the groups of the topics the step
/// subscribes to, runs the handler (natively, or through `pool` for worker
/// steps) within the step's concurrency limit, and retries failed events in
/// its own mailbox after a backoff.
///
/// Messages: (api_atom, api_call), (event_atom, event_msg), (cron_atom,
/// std::string trace_id), (ready_atom) -> bool.
caf::actor spawn_step_actor(caf::actor_system& sys, runtime_services& svc,
                            const step_config& cfg, actor_slot* pool);

} // namespace motia
