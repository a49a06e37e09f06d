#pragma once

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"
#include "core/snapshot.hpp"

namespace motia {

struct runtime_env;

/// Spawns the actor of one step of `snap`.
///
/// api: answers api_calls (a native handler in place; a worker step's
/// invocation goes straight to a live worker connection, whose result goes to
/// the gateway without passing here again).
/// event: takes deliveries from its partitions, validates them against the
/// step's `input` schema, runs them within the step's concurrency limit and
/// FIFO groups, reports each outcome to the partition (ack, retry with the
/// attempt persisted, or dead letter) and retries in its own mailbox after a
/// backoff measured on the monotonic clock.
/// cron: runs the handler for each cron_tick.
///
/// At start it tells its partitions it is ready (they deliver everything
/// pending, so a restarted step picks up what its predecessor held). A drain
/// request is answered once nothing runs; deliveries not started stay queued.
step_actor spawn_step_actor(caf::actor_system& sys, std::shared_ptr<runtime_env> env, snapshot_ptr snap,
                            const step_info* info);

} // namespace motia
