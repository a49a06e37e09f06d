#pragma once

// The admin endpoints under /_motia/ (docs/admin.md): health, metrics, and the
// dead-letter store (list, inspect, redrive, purge).

#include <memory>

#include "runtime/gateway.hpp"

namespace motia {

struct runtime_env;

/// Answers requests under /_motia/ (returns true); false for every other
/// path. Runs on an io thread and never blocks it: store reads and bulk
/// operations run on the storage threads, page by page with bounded memory,
/// and answer when done.
request_filter make_admin_handler(std::shared_ptr<runtime_env> env);

} // namespace motia
