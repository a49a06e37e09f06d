#include "core/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace motia {

std::chrono::milliseconds restart_backoff(const supervision_settings& s, unsigned n,
                                          double unit_random) {
  double base = static_cast<double>(s.backoff_min.count());
  for (unsigned i = 1; i < n && base < static_cast<double>(s.backoff_max.count()); ++i)
    base *= 2;
  base = std::min(base, static_cast<double>(s.backoff_max.count()));
  double factor = 1.0 + s.jitter * (2.0 * unit_random - 1.0);
  // Round, not truncate: 1000 * 0.93 is 929.99.. in doubles, which would
  // undercut the documented lower bound (1 - jitter) * base.
  return std::chrono::milliseconds(std::llround(base * factor));
}

} // namespace motia
