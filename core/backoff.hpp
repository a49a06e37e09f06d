#pragma once

#include <chrono>

#include "core/project_config.hpp"

namespace motia {

/// The backoff before the `n`-th consecutive restart or retry (n >= 1):
/// min * 2^(n-1), capped at max, then scaled by a random factor in
/// [1 - jitter, 1 + jitter]. `unit_random` is that random draw in [0, 1], so
/// the function is deterministic for tests.
std::chrono::milliseconds restart_backoff(const supervision_settings& s, unsigned n,
                                          double unit_random);

} // namespace motia
