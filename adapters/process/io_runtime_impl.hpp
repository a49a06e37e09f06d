#pragma once

// Private to the adapters: the Asio object behind io_runtime.

#include <boost/asio/io_context.hpp>

#include "adapters/process/io_runtime.hpp"

namespace motia::io {

/// The io_context that `io` runs. Valid for the lifetime of `io`.
inline boost::asio::io_context& io_context_of(io_runtime& io) {
  return *static_cast<boost::asio::io_context*>(io.native());
}

} // namespace motia::io
