#include "actors/http_response.hpp"

#include <algorithm>

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

bool to_http_response(const json& value, http::response& out, std::string& err) {
  if (!value.is_object() || !value.contains("status") || !value["status"].is_number_integer()) {
    err = "handler must return {status, headers?, body} with an integer status";
    return false;
  }
  auto status = value["status"].get<long long>();
  if (status < 100 || status > 599) {
    err = "handler returned status " + std::to_string(status) + ", not in 100-599";
    return false;
  }
  out.status = static_cast<unsigned>(status);
  bool has_type = false;
  if (auto h = value.find("headers"); h != value.end() && h->is_object()) {
    for (auto& [k, v] : h->items()) {
      std::string name = k;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      has_type = has_type || name == "content-type";
      out.headers.emplace_back(std::move(name), v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  auto b = value.find("body");
  if (b == value.end() || b->is_null())
    return true;
  // A string body with a non-JSON content type is sent as it is (HTML, text).
  if (b->is_string() && has_type) {
    auto it = std::find_if(out.headers.begin(), out.headers.end(),
                           [](auto& p) { return p.first == "content-type"; });
    if (it->second.find("json") == std::string::npos) {
      out.body = b->get<std::string>();
      return true;
    }
  }
  out.body = b->dump(-1, ' ', false, json::error_handler_t::replace);
  return true;
}

} // namespace motia
