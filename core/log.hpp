#pragma once

#include <string_view>

#include "motia/json.hpp"

namespace motia::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

/// Parses "debug" | "info" | "warn" | "error" (anything else: info).
level parse_level(std::string_view s);
std::string_view to_string(level l);

/// Sets the lowest level written. Thread-safe.
void set_threshold(level l);
bool enabled(level l);

/// Writes one JSON line `{level, time, msg, ...fields}` to stdout. `fields` is an
/// object whose members are added (traceId, step, flows, component, ...).
/// Thread-safety: safe from any thread; lines never interleave.
void write(level l, std::string_view msg, const json& fields = json::object());

inline void info(std::string_view m, const json& f = json::object()) { write(level::info, m, f); }
inline void warn(std::string_view m, const json& f = json::object()) { write(level::warn, m, f); }
inline void error(std::string_view m, const json& f = json::object()) { write(level::error, m, f); }
inline void debug(std::string_view m, const json& f = json::object()) { write(level::debug, m, f); }

} // namespace motia::log
