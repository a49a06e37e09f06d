#pragma once

#include <string>
#include <string_view>

#include "adapters/http/server.hpp"
#include "motia/json.hpp"

namespace motia {

/// A JSON error response `{"error": {"code", "message", "details"?}, "traceId"?}`.
http::response error_response(unsigned status, std::string_view code, std::string_view message,
                              const std::string& trace_id = {}, const json& details = {});

/// Turns a handler's `{status, headers?, body}` into an HTTP response. Returns
/// false (and fills `err`) if the value has no valid status.
bool to_http_response(const json& value, http::response& out, std::string& err);

} // namespace motia
