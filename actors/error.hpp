#pragma once

#include <string>

#include <caf/error.hpp>

#include "motia/errc.hpp"

namespace motia {

/// Makes a caf::error in the "motia" category; found by CAF through ADL.
caf::error make_error(errc e);
caf::error make_error(errc e, std::string message);

/// The readable text of an error from any category ("handler_failed: boom").
std::string describe(const caf::error& err);

} // namespace motia
