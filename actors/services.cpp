#include "actors/services.hpp"

#include <random>

#include <caf/actor_system.hpp>
#include <caf/group_manager.hpp>
#include <caf/send.hpp>

#include <fmt/format.h>

#include "actors/messages.hpp"

namespace motia {

void topic_bus::add_subscriber(const std::string& topic) {
  group(topic);
  std::lock_guard<std::mutex> g(mtx_);
  ++topics_[topic].second;
}

caf::group topic_bus::group(const std::string& topic) {
  std::lock_guard<std::mutex> g(mtx_);
  auto it = topics_.find(topic);
  if (it == topics_.end())
    it = topics_.emplace(topic, std::make_pair(sys_.groups().get_local(topic), 0)).first;
  return it->second.first;
}

std::size_t topic_bus::publish(event_msg msg) {
  caf::group grp;
  std::size_t n = 0;
  {
    std::lock_guard<std::mutex> g(mtx_);
    auto it = topics_.find(msg.topic);
    if (it == topics_.end() || it->second.second == 0)
      return 0;
    grp = it->second.first;
    n = it->second.second;
  }
  in_flight_.fetch_add(static_cast<std::int64_t>(n));
  caf::anon_send(grp, event_atom::value, std::move(msg));
  return n;
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
