#pragma once

// The admin endpoints under /_motia/ (docs/admin.md): health, metrics, and the
// dead-letter store (list, inspect, redrive, purge).

#include <functional>

#include "adapters/http/server.hpp"

namespace motia {

struct runtime_services;

namespace rocks {
class queue_store;
}

/// Answers `req` if its path is under /_motia/ and returns true; returns
/// false for every other path. Runs on an io thread and never blocks on a
/// write (redrive and purge answer once their batch is committed).
using admin_handler = std::function<bool(http::request&, http::responder_ptr&)>;
admin_handler make_admin_handler(runtime_services& svc, rocks::queue_store& queue);

} // namespace motia
