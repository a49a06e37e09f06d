#include "runtime/http_response.hpp"

#include <algorithm>
#include <optional>

namespace motia {

http::response error_response(unsigned status, std::string_view code, std::string_view message,
                              const std::string& trace_id, const json& details) {
  json body = {{"error", {{"code", code}, {"message", message}}}};
  if (!details.is_null())
    body["error"]["details"] = details;
  if (!trace_id.empty())
    body["traceId"] = trace_id;
  http::response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

bool to_http_response(const payload& value, http::response& out, std::string& err) {
  auto status = value.find("status");
  auto code = status ? status->as_int() : std::nullopt;
  if (!code) {
    err = "handler must return {status, headers?, body} with an integer status";
    return false;
  }
  if (*code < 100 || *code > 599) {
    err = "handler returned status " + std::to_string(*code) + ", not in 100-599";
    return false;
  }
  out.status = static_cast<unsigned>(*code);
  std::optional<std::size_t> type; // index of the content-type header
  if (auto h = value.find("headers"))
    for (auto& [k, v] : h->map_entries()) {
      std::string name = k;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      auto text = v.as_string();
      out.headers.emplace_back(std::move(name), text ? std::string(*text) : v.to_json_text());
      if (out.headers.back().first == "content-type")
        type = out.headers.size() - 1;
    }
  auto b = value.find("body");
  if (!b || b->is_nil())
    return true;
  if (auto bytes = b->as_binary()) {
    if (!type)
      out.headers.emplace_back("content-type", "application/octet-stream");
    out.body.assign(bytes->data(), bytes->size());
    return true;
  }
  // A string body with a non-JSON content type is sent as it is (HTML, text).
  if (auto text = b->as_string(); text && type && out.headers[*type].second.find("json") == std::string::npos) {
    out.body.assign(text->data(), text->size());
    return true;
  }
  out.body = b->to_json_text();
  return true;
}

} // namespace motia
