#include "runtime/runtime_env.hpp"

#include <algorithm>
#include <random>

#include <caf/send.hpp>
#include <fmt/format.h>

#include "adapters/process/worker_process.hpp"
#include "core/log.hpp"

namespace motia {

std::uint64_t snapshot_holder::next_id() {
  static std::atomic<std::uint64_t> n{0};
  return ++n;
}

snapshot_ptr snapshot_holder::current() const {
  // Each thread keeps the snapshot it last saw and takes the lock only when
  // the generation moved on (a reload), not per request.
  thread_local std::uint64_t owner = 0;
  thread_local std::uint64_t seen = 0;
  thread_local snapshot_ptr cached;
  auto gen = generation_.load(std::memory_order_acquire);
  if (owner != id_ || seen != gen || !cached) {
    std::lock_guard<std::mutex> g(mtx_);
    cached = snap_;
    seen = generation_.load(std::memory_order_relaxed);
    owner = id_;
  }
  return cached;
}

void snapshot_holder::install(snapshot_ptr s) {
  std::lock_guard<std::mutex> g(mtx_);
  snap_ = std::move(s);
  generation_.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const worker_list> worker_registry::live(step_language lang) const {
  std::lock_guard<std::mutex> g(mtx_);
  auto it = live_.find(lang);
  return it == live_.end() ? nullptr : it->second;
}

void worker_registry::publish(step_language lang, std::shared_ptr<process::worker_process> w) {
  {
    std::lock_guard<std::mutex> g(mtx_);
    auto next = std::make_shared<worker_list>();
    if (auto it = live_.find(lang); it != live_.end() && it->second)
      *next = *it->second;
    next->push_back(std::move(w));
    live_[lang] = std::move(next);
  }
  announce(lang);
}

void worker_registry::withdraw(step_language lang, const process::worker_process* w) {
  {
    std::lock_guard<std::mutex> g(mtx_);
    auto it = live_.find(lang);
    if (it == live_.end() || !it->second)
      return;
    auto next = std::make_shared<worker_list>(*it->second);
    next->erase(std::remove_if(next->begin(), next->end(), [w](auto& p) { return p.get() == w; }),
                next->end());
    it->second = std::move(next);
  }
  announce(lang);
}

void worker_registry::subscribe(step_language lang, step_actor step) {
  std::lock_guard<std::mutex> g(mtx_);
  listeners_.emplace(lang, std::move(step));
}

void worker_registry::unsubscribe(const step_actor& step) {
  std::lock_guard<std::mutex> g(mtx_);
  for (auto it = listeners_.begin(); it != listeners_.end();)
    it = it->second == step ? listeners_.erase(it) : std::next(it);
}

void worker_registry::announce(step_language lang) {
  std::vector<step_actor> to;
  {
    std::lock_guard<std::mutex> g(mtx_);
    auto [b, e] = listeners_.equal_range(lang);
    for (auto it = b; it != e; ++it)
      to.push_back(it->second);
  }
  for (auto& s : to)
    caf::anon_send(s, workers_atom::value);
}

void registration_board::offer(worker_registration reg) {
  std::lock_guard<std::mutex> g(mtx_);
  regs_.emplace(reg.language, std::move(reg));
  cv_.notify_all();
}

void registration_board::fail(step_language lang, std::string why) {
  std::lock_guard<std::mutex> g(mtx_);
  failed_.emplace(lang, std::move(why));
  cv_.notify_all();
}

std::vector<worker_registration> registration_board::wait(const std::vector<step_language>& langs,
                                                          std::chrono::milliseconds timeout,
                                                          std::vector<std::string>& failures) {
  std::unique_lock<std::mutex> g(mtx_);
  auto settled = [&] {
    return std::all_of(langs.begin(), langs.end(),
                       [&](step_language l) { return regs_.count(l) != 0 || failed_.count(l) != 0; });
  };
  cv_.wait_for(g, timeout, settled);
  std::vector<worker_registration> out;
  for (auto l : langs) {
    if (auto it = regs_.find(l); it != regs_.end())
      out.push_back(it->second);
    else if (auto f = failed_.find(l); f != failed_.end())
      failures.push_back(fmt::format("the {} worker failed before it registered its steps: {}",
                                     to_string(l), f->second));
    else
      failures.push_back(fmt::format("the {} worker did not register its steps within {} ms",
                                     to_string(l), timeout.count()));
  }
  return out;
}

std::uint64_t quarantine_registry::fingerprint(const std::string& step, const payload& input) {
  std::uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s)
      h = (h ^ c) * 1099511628211ULL;
  };
  mix(step);
  h = (h ^ 0xff) * 1099511628211ULL;
  mix(input.bytes());
  return h;
}

void quarantine_registry::record(const std::string& step, const payload& input) {
  auto fp = fingerprint(step, input);
  std::lock_guard<std::mutex> g(mtx_);
  // Bounded: the table only exists to catch repeat offenders quickly.
  if (deaths_.size() > 10'000)
    deaths_.clear();
  if (++deaths_[fp] == 2) {
    ++quarantined_;
    log::error("an input killed its worker twice; it is quarantined and refused from now on",
               {{"step", step}, {"bytes", input.bytes().size()}});
  }
  any_.store(true, std::memory_order_release);
}

bool quarantine_registry::refused(const std::string& step, const payload& input) const {
  if (!any_.load(std::memory_order_acquire))
    return false;
  auto fp = fingerprint(step, input);
  std::lock_guard<std::mutex> g(mtx_);
  auto it = deaths_.find(fp);
  return it != deaths_.end() && it->second >= 2;
}

step_metrics& runtime_metrics::of(const std::string& step) {
  std::lock_guard<std::mutex> g(mtx_);
  auto& slot = steps_[step];
  if (!slot)
    slot = std::make_unique<step_metrics>();
  return *slot;
}

json runtime_metrics::to_json() const {
  json steps_json = json::object();
  {
    std::lock_guard<std::mutex> g(mtx_);
    for (auto& [name, m] : steps_)
      steps_json[name] = {{"started", m->started.load()},
                          {"succeeded", m->succeeded.load()},
                          {"retried", m->retried.load()},
                          {"deadLettered", m->dead_lettered.load()},
                          {"invalidInput", m->invalid_input.load()}};
  }
  return {{"emits", emits.load()},
          {"deliveries", deliveries.load()},
          {"restarts", restarts.load()},
          {"escalations", escalations.load()},
          {"overloaded", overloaded.load()},
          {"unexpectedMessages", unexpected.load()},
          {"steps", std::move(steps_json)}};
}

void log_unexpected(runtime_env& env, const char* actor, const std::string& what) {
  ++env.metrics.unexpected;
  log::error("an actor got a message it does not expect; it is dropped",
             {{"actor", actor}, {"message", what.substr(0, 512)}});
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

std::string new_message_id() { return fmt::format("{:016x}{:016x}", rng()(), rng()()); }

} // namespace motia
