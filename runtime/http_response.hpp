#pragma once

#include <string>
#include <string_view>

#include "adapters/http/server.hpp"
#include "motia/json.hpp"
#include "motia/payload.hpp"

namespace motia {

/// A JSON error response `{"error": {"code", "message", "details"?}, "traceId"?}`.
http::response error_response(unsigned status, std::string_view code, std::string_view message,
                              const std::string& trace_id = {}, const json& details = {});

/// Turns a handler's `{status, headers?, body}` (msgpack) into an HTTP
/// response, converting once: a bin body is sent as its bytes
/// (application/octet-stream unless the handler set a type), a string body
/// with a non-JSON content type as its text, anything else as JSON with its
/// key order kept. Returns false (and fills `err`) if the value has no valid
/// status.
bool to_http_response(const payload& value, http::response& out, std::string& err);

} // namespace motia
