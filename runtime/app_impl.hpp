#pragma once

// motia::app's state, shared by its methods (runtime/app.cpp) and its command
// line (cli/command.cpp).

#include <functional>
#include <memory>
#include <vector>

#include "motia/app.hpp"
#include "runtime/runtime.hpp"

namespace motia {

struct app::impl {
  std::vector<step_definition> native;
  std::vector<stream_definition> streams;
  stream_authenticator auth;
  std::unique_ptr<runtime> rt;
  /// Prints the start-up summary (set by the command line).
  std::function<void(const runtime&)> summary;

  void make_runtime() {
    rt = std::make_unique<runtime>(native);
    rt->add_native_streams(streams, auth);
  }
};

} // namespace motia
