#pragma once

// The runtime's one error vocabulary: caf::error in the "motia" category
// carrying a motia::errc and a readable message, and caf::expected<T> for
// results. Exceptions exist only at the public C++ API (include/motia/) and at
// the edge of third-party code, where they are converted into these.

#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "motia/errc.hpp"

namespace motia {

using error = caf::error;
template <class T>
using expected = caf::expected<T>;

/// Makes a caf::error in the "motia" category; found by CAF through ADL.
caf::error make_error(errc e);
caf::error make_error(errc e, std::string message);

/// The motia::errc of `err`: errc::none for no error, the code for errors of
/// the "motia" category, errc::unavailable for CAF's own delivery failures
/// (receiver down, request timeout), errc::handler_failed for anything else.
errc code_of(const caf::error& err);

/// The message of a "motia" error ("" when it has none).
std::string message_of(const caf::error& err);

/// The readable text of an error from any category ("handler_failed: boom").
std::string describe(const caf::error& err);

} // namespace motia
