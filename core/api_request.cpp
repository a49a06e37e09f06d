#include "motia/step.hpp"

namespace motia {

api_request::api_request(payload req) : req_(std::move(req)) {}

const json& api_request::view(std::unique_ptr<json>& cache, std::string_view key) const {
  if (!cache) {
    auto v = req_.find(key);
    cache = std::make_unique<json>(v ? v->to_json() : json::object());
  }
  return *cache;
}

const json& api_request::path_params() const { return view(path_params_, "pathParams"); }
const json& api_request::query_params() const { return view(query_params_, "queryParams"); }
const json& api_request::body() const { return view(body_, "body"); }
const json& api_request::headers() const { return view(headers_, "headers"); }

std::string_view api_request::raw_body() const {
  auto v = req_.find("rawBody");
  if (!v)
    return {};
  if (auto b = v->as_binary())
    return *b;
  auto s = v->as_string();
  return s ? *s : std::string_view();
}

} // namespace motia
