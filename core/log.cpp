#include "core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace motia::log {

namespace {
std::atomic<int> threshold_{static_cast<int>(level::info)};
std::mutex out_mutex_;
} // namespace

level parse_level(std::string_view s) {
  if (s == "debug") return level::debug;
  if (s == "warn") return level::warn;
  if (s == "error") return level::error;
  return level::info;
}

std::string_view to_string(level l) {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
  }
  return "info";
}

void set_threshold(level l) { threshold_.store(static_cast<int>(l)); }

bool enabled(level l) { return static_cast<int>(l) >= threshold_.load(std::memory_order_relaxed); }

void write(level l, std::string_view msg, const json& fields) {
  if (!enabled(l))
    return;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count();
  // Ordered, so every line starts with level, time and msg, as people read them.
  nlohmann::ordered_json rec = {{"level", to_string(l)}, {"time", now}, {"msg", msg}};
  if (fields.is_object())
    for (auto& [k, v] : fields.items())
      if (k != "level" && k != "time" && k != "msg")
        rec[k] = v;
  auto line = rec.dump(-1, ' ', false, json::error_handler_t::replace);
  line += '\n';
  std::lock_guard<std::mutex> g(out_mutex_);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

} // namespace motia::log
