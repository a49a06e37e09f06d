#include "actors/services.hpp"

#include <random>

#include <caf/actor_system.hpp>
#include <caf/group_manager.hpp>
#include <caf/send.hpp>

#include <fmt/format.h>

#include "actors/messages.hpp"
#include "adapters/rocksdb/queue_store.hpp"

namespace motia {

void topic_bus::add_subscriber(const std::string& topic, const std::string& step) {
  group(topic); // creates the topic's group
  std::lock_guard<std::mutex> g(mtx_);
  topics_[topic].second.push_back(step);
}

caf::group topic_bus::group(const std::string& topic) {
  std::lock_guard<std::mutex> g(mtx_);
  auto it = topics_.find(topic);
  if (it == topics_.end())
    it = topics_.emplace(topic, std::make_pair(sys_.groups().get_local(topic),
                                               std::vector<std::string>{}))
           .first;
  return it->second.first;
}

std::vector<queued_event> topic_bus::deliveries(const std::string& topic, json data,
                                                const std::string& trace_id,
                                                const std::string& message_group_id) const {
  std::vector<queued_event> out;
  std::lock_guard<std::mutex> g(mtx_);
  auto it = topics_.find(topic);
  if (it == topics_.end() || it->second.second.empty())
    return out;
  const auto& steps = it->second.second;
  auto id = new_message_id();
  out.reserve(steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    queued_event e;
    e.step = steps[i];
    e.topic = topic;
    e.data = i + 1 == steps.size() ? std::move(data) : data;
    e.trace_id = trace_id;
    e.message_group_id = message_group_id;
    e.message_id = id;
    out.push_back(std::move(e));
  }
  return out;
}

void topic_bus::commit(rocks::queue_write w, std::function<void(const std::string&)> done) {
  const auto emitted = w.enqueue.size();
  w.done = [this, emitted, done = std::move(done)](std::vector<queued_event>& enqueued,
                                                   const std::string& err) {
    if (err.empty() && !enqueued.empty()) {
      if (metrics_)
        metrics_->deliveries += emitted;
      publish(std::move(enqueued));
    }
    if (done)
      done(err);
  };
  queue_->submit(std::move(w));
}

void topic_bus::publish(std::vector<queued_event> entries) {
  // One message per topic (a group commit may hold thousands of entries).
  for (auto& [topic, batch] : split_deliveries(std::move(entries), &queued_event::topic))
    caf::anon_send(group(topic), event_atom::value, delivery_batch(std::move(batch)));
}

std::map<std::string, std::shared_ptr<std::vector<queued_event>>> split_deliveries(
  std::vector<queued_event>&& entries, std::string queued_event::*field) {
  std::map<std::string, std::shared_ptr<std::vector<queued_event>>> out;
  for (auto& e : entries) {
    auto& batch = out[e.*field];
    if (!batch)
      batch = std::make_shared<std::vector<queued_event>>();
    batch->push_back(std::move(e));
  }
  return out;
}

json runtime_metrics::to_json() const {
  json steps_json = json::object();
  for (auto& [name, m] : steps)
    steps_json[name] = {{"started", m->started.load()},
                        {"succeeded", m->succeeded.load()},
                        {"retried", m->retried.load()},
                        {"deadLettered", m->dead_lettered.load()},
                        {"invalidInput", m->invalid_input.load()}};
  return {{"emits", emits.load()},
          {"deliveries", deliveries.load()},
          {"restarts", restarts.load()},
          {"escalations", escalations.load()},
          {"steps", std::move(steps_json)}};
}

namespace {
std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen;
}
} // namespace

std::string new_trace_id() {
  auto a = rng()(), b = rng()();
  // UUID v4 layout: version nibble 4, variant bits 10.
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                     a & 0xffff, b >> 48, b & 0xffffffffffffULL);
}

std::string new_message_id() {
  return fmt::format("{:016x}{:016x}", rng()(), rng()());
}

} // namespace motia
