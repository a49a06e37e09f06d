#include "actors/partition_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "core/queue.hpp"
#include "core/blocking_pool.hpp"
#include "core/log.hpp"
#include "runtime/runtime_env.hpp"

namespace motia {

namespace {

struct partition_state {
  std::shared_ptr<runtime_env> env;
  partition_settings cfg;
  step_actor step;
  /// Highest seq handed to the step: rows at or below it are with the step
  /// or done.
  std::uint64_t cursor = 0;
  /// False while the store may hold rows above `cursor` that were not handed
  /// out (at start, or after the step's share was full): new rows are then
  /// left to the next scan.
  bool caught_up = false;
  bool scanning = false;
  /// Rows committed while a scan was in flight: handed out after it if the
  /// scan turns out complete (they may be newer than what it read).
  std::vector<queued_event> buffered;
  bool buffer_overflow = false;
  std::size_t handed = 0;
  std::uint64_t generation = 0; ///< resets so far; older scans are ignored
  std::vector<delivery_outcome> outbox;
  bool flush_scheduled = false;
  std::size_t writes = 0; ///< submitted, not landed
  bool rescan_when_written = false;
  std::vector<caf::typed_response_promise<done_atom>> drains;
  static inline const char* name = "motia.partition";
};

using self_ptr = partition_actor::stateful_pointer<partition_state>;

void scan(self_ptr self) {
  auto& st = self->state;
  if (st.scanning || !st.step)
    return;
  st.scanning = true;
  st.buffer_overflow = false;
  st.env->pool->post([env = st.env, me = partition_actor{self}, step = st.cfg.step, shard = st.cfg.shard,
                      after = st.cursor, limit = st.cfg.scan_limit, gen = st.generation] {
    scan_result r;
    r.rows = env->queue->pending(step, shard, after, limit);
    r.complete = r.rows.size() < limit;
    r.generation = gen;
    caf::anon_send(me, scanned_atom::value, std::move(r));
  });
}

// Hands rows above the cursor to the step, in order, within its share.
// Returns false when the share filled up (the rest stays in the store).
bool hand(self_ptr self, std::vector<queued_event>& rows) {
  auto& st = self->state;
  delivery_batch out{st.cfg.step, st.cfg.shard, {}};
  bool room = true;
  for (auto& row : rows) {
    if (row.seq <= st.cursor)
      continue;
    if (st.handed >= st.cfg.max_handed) {
      room = false;
      break;
    }
    st.cursor = row.seq;
    ++st.handed;
    out.rows.push_back(std::move(row));
  }
  if (!out.rows.empty())
    self->send(st.step, deliver_atom::value, partition_actor{self}, std::move(out));
  return room;
}

void maybe_refill(self_ptr self) {
  auto& st = self->state;
  if (!st.caught_up && !st.scanning && st.handed <= st.cfg.max_handed / 2)
    scan(self);
}

// The step (re)started: it holds nothing, so everything pending goes to it
// again, once the outcomes of its predecessor are written (or an ack in
// flight would come back as a duplicate).
void reset(self_ptr self) {
  auto& st = self->state;
  ++st.generation;
  st.handed = 0;
  st.cursor = 0;
  st.caught_up = false;
  st.scanning = false;
  st.buffered.clear();
  if (st.writes > 0 || !st.outbox.empty())
    st.rescan_when_written = true;
  else
    scan(self);
}

void on_scanned(self_ptr self, scan_result& r) {
  auto& st = self->state;
  if (r.generation != st.generation)
    return; // asked before a reset; a new scan is on its way or due
  st.scanning = false;
  bool room = hand(self, r.rows);
  if (room && r.complete && !st.buffer_overflow) {
    st.caught_up = true;
    room = hand(self, st.buffered);
    st.caught_up = room;
  }
  st.buffered.clear();
  if (room && !r.complete)
    scan(self); // more rows wait above the cursor
}

void on_rows(self_ptr self, delivery_batch& b) {
  auto& st = self->state;
  if (st.caught_up) {
    st.caught_up = hand(self, b.rows);
    return;
  }
  if (!st.scanning)
    return; // the next scan finds them in the store
  if (st.buffered.size() + b.rows.size() > st.cfg.max_handed) {
    st.buffered.clear();
    st.buffer_overflow = true;
    return;
  }
  for (auto& r : b.rows)
    st.buffered.push_back(std::move(r));
}

void check_drained(self_ptr self) {
  auto& st = self->state;
  if (st.writes > 0 || !st.outbox.empty())
    return;
  for (auto& rp : st.drains)
    rp.deliver(done_atom::value);
  st.drains.clear();
}

// Writes every outcome gathered since the last flush in one queue write.
void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.outbox.empty())
    return;
  queue_write w;
  std::vector<std::pair<std::uint64_t, step_actor>> reports;
  for (auto& o : st.outbox) {
    if (o.report)
      reports.emplace_back(o.row.seq, st.step);
    switch (o.what) {
      case outcome::ack:
        w.ack.push_back({o.row.step, o.row.shard, o.row.seq});
        for (auto& e : o.emits)
          w.enqueue.push_back(std::move(e));
        break;
      case outcome::retry:
        w.update.push_back(std::move(o.row));
        break;
      case outcome::bury:
        w.bury.push_back(std::move(o.row));
        break;
    }
  }
  st.outbox.clear();
  ++st.writes;
  w.done = [me = partition_actor{self}, reports = std::move(reports)](std::vector<queued_event>&, const error& err) {
    for (auto& [seq, step] : reports)
      if (step)
        caf::anon_send(step, committed_atom::value, commit_report{seq, err});
    caf::anon_send(me, written_atom::value, err);
  };
  st.env->queue->submit(std::move(w));
}

void on_outcome(self_ptr self, delivery_outcome& o) {
  auto& st = self->state;
  if (o.what != outcome::retry && st.handed > 0)
    --st.handed;
  st.outbox.push_back(std::move(o));
  // Everything that arrives before this message is written with it: one
  // write per mailbox turn, however many outcomes came in.
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
  maybe_refill(self);
}

void on_written(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  --st.writes;
  if (err)
    // The rows stay in the store as they were: an unwritten ack means the
    // delivery runs once more after the next start (at-least-once).
    log::error("a partition's write failed; its deliveries run again after a restart",
               {{"step", st.cfg.step}, {"shard", st.cfg.shard}, {"error", describe(err)}});
  if (st.writes == 0 && st.outbox.empty() && st.rescan_when_written) {
    st.rescan_when_written = false;
    scan(self);
  }
  check_drained(self);
}

partition_actor::behavior_type partition_impl(self_ptr self, std::shared_ptr<runtime_env> env,
                                              partition_settings cfg) {
  auto& st = self->state;
  st.env = std::move(env);
  st.cfg = std::move(cfg);
  self->set_default_handler([env = st.env](caf::scheduled_actor*, caf::message_view& m) -> caf::result<caf::message> {
    log_unexpected(*env, "partition", caf::to_string(m.content()));
    return caf::sec::unexpected_message;
  });
  // A partition restarted under a running step: deliver what is pending to it.
  st.step = st.env->steps.get(st.cfg.step);
  if (st.step)
    scan(self);
  return {
    [self](rows_atom, delivery_batch& b) { on_rows(self, b); },
    [self](delivery_outcome& o) { on_outcome(self, o); },
    [self](scanned_atom, scan_result& r) { on_scanned(self, r); },
    [self](flush_atom) { flush(self); },
    [self](written_atom, const caf::error& err) { on_written(self, err); },
    [self](ready_atom) {
      self->state.step = caf::actor_cast<step_actor>(self->current_sender());
      reset(self);
    },
    [self](drain_atom) -> caf::typed_response_promise<done_atom> {
      auto rp = self->make_response_promise<done_atom>();
      self->state.drains.push_back(rp);
      flush(self);
      check_drained(self);
      return rp;
    },
  };
}

} // namespace

partition_actor spawn_partition_actor(caf::actor_system& sys, std::shared_ptr<runtime_env> env,
                                      partition_settings settings) {
  return sys.spawn(partition_impl, std::move(env), std::move(settings));
}

} // namespace motia
