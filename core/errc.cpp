#include "motia/errc.hpp"

namespace motia {

std::string_view to_string(errc e) noexcept {
  // A switch without default: -Wall warns here when an enumerator is added
  // without a name.
  switch (e) {
    case errc::none: return "none";
    case errc::invalid_config: return "invalid_config";
    case errc::duplicate_step: return "duplicate_step";
    case errc::invalid_cron: return "invalid_cron";
    case errc::step_load_failed: return "step_load_failed";
    case errc::handler_failed: return "handler_failed";
    case errc::handler_timeout: return "handler_timeout";
    case errc::worker_died: return "worker_died";
    case errc::protocol_error: return "protocol_error";
    case errc::too_large: return "too_large";
    case errc::undeclared_emit: return "undeclared_emit";
    case errc::storage_error: return "storage_error";
    case errc::bad_input: return "bad_input";
    case errc::unavailable: return "unavailable";
    case errc::invalid_project: return "invalid_project";
    case errc::overloaded: return "overloaded";
    case errc::quarantined: return "quarantined";
    case errc::fenced: return "fenced";
  }
  // Only reachable for a value cast from an out-of-range integer.
  return "unknown";
}

} // namespace motia
