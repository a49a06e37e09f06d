#pragma once

#include <caf/fwd.hpp>

namespace motia {

struct runtime_services;
struct step_config;
class actor_slot;

/// Spawns the actor of one step. It joins the groups of the topics the step
/// subscribes to and takes its pending deliveries from the durable queue
/// (all of them at start, so a restarted actor picks up what its predecessor
/// held), runs the handler (natively, or through `pool` for worker steps)
/// within the step's concurrency limit and FIFO groups, acknowledges
/// successes, persists each failed attempt and retries it in its own mailbox
/// after a backoff, and dead-letters a delivery after its last attempt or when
/// its input does not match the step's `input` schema.
///
/// Messages: (api_atom, api_call), (event_atom, delivery_batch), (retry_atom,
/// seq), (committed_atom, seq, error), (cron_atom, std::string trace_id),
/// (drain_atom) stop starting deliveries, (ready_atom) -> bool.
caf::actor spawn_step_actor(caf::actor_system& sys, runtime_services& svc,
                            const step_config& cfg, actor_slot* pool);

} // namespace motia
