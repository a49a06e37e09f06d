#pragma once

#include <string>

#include "motia/json.hpp"

namespace motia {

/// Applies Motia 1.0 state update ops (docs/protocol.md, `state.update`) to
/// `value` in order: `{type: set|merge|increment|decrement|remove, path?,
/// value?, by?}`, `path` dot-separated ("" = the whole value). A null `value`
/// starts as `{}`. Returns false and sets `err` when an op does not fit; then
/// `value` may be partly changed, so callers apply ops to a copy.
bool apply_update_ops(json& value, const json& ops, std::string& err);

} // namespace motia
