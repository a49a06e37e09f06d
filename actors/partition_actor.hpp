#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"

namespace motia {

struct runtime_env;

/// Settings of one partition actor.
struct partition_settings {
  std::string step;
  std::uint16_t shard = 0;
  /// Rows handed to the step and not finished, at most: the step's working
  /// set from this partition, so a backlog stays in the store, not in memory.
  std::size_t max_handed = 1024;
  /// Rows read from the store per scan.
  std::size_t scan_limit = 512;
};

/// Spawns the owner of partition (step, shard) of the durable queue. It
/// reads its pending rows from the store (on the storage threads, never on
/// the actor's), takes rows committed since (the queue tells it), and hands
/// them to its step in order, at most `max_handed` at a time. The step's
/// outcomes (ack with a native handler's emits, retry, dead letter) are
/// gathered and written back as one group-committed write per mailbox turn.
///
/// When its step (re)starts (ready_atom), it forgets what it handed out and
/// delivers everything pending again, so a crashed step loses nothing.
partition_actor spawn_partition_actor(caf::actor_system& sys, std::shared_ptr<runtime_env> env,
                                      partition_settings settings);

} // namespace motia
