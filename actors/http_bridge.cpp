#include "actors/http_bridge.hpp"

#include <caf/send.hpp>
#include <fmt/format.h>

#include "actors/http_response.hpp"
#include "actors/messages.hpp"
#include "actors/services.hpp"
#include "core/router.hpp"

namespace motia {

namespace {

// Repeated names become arrays, as in Motia's queryParams and headers.
void add_multi(json& obj, const std::string& name, std::string value) {
  auto it = obj.find(name);
  if (it == obj.end())
    obj[name] = std::move(value);
  else if (it->is_array())
    it->push_back(std::move(value));
  else
    *it = json::array({*it, std::move(value)});
}

bool is_json_type(const std::string& type) {
  return type.empty() || type.find("json") != std::string::npos;
}

// Returns false with `err` set when the body claims JSON and is not.
bool parse_body(const http::request& req, const std::string& content_type, json& body,
                std::string& err) {
  if (req.body.empty()) {
    body = json::object();
    return true;
  }
  if (!is_json_type(content_type)) {
    body = req.body;
    return true;
  }
  body = json::parse(req.body, nullptr, false);
  if (!body.is_discarded())
    return true;
  // Parse again with exceptions to get the position of the error for the client.
  try {
    body = json::parse(req.body);
  } catch (const json::parse_error& e) {
    err = e.what();
  }
  if (err.empty())
    err = "the body is not valid JSON";
  return false;
}

} // namespace

http::request_handler make_http_handler(const router& routes,
                                        const std::vector<actor_slot*>& targets,
                                        admin_handler admin) {
  return [&routes, &targets, admin](http::request&& req, http::responder_ptr out) {
    if (admin && admin(req, out))
      return;
    auto m = routes.match(req.method, req.path);
    using kind = router::match_result::kind;
    if (m.what == kind::not_found)
      return out->send(error_response(404, "not_found",
                                      fmt::format("no route for {} {}", req.method, req.path)));
    if (m.what == kind::method_not_allowed) {
      auto r = error_response(405, "method_not_allowed",
                              fmt::format("{} is not allowed on {}", req.method, req.path));
      r.headers.emplace_back("allow", fmt::format("{}", fmt::join(m.allowed, ", ")));
      return out->send(std::move(r));
    }
    json headers = json::object();
    std::string content_type;
    for (auto& [k, v] : req.headers) {
      if (k == "content-type")
        content_type = v;
      add_multi(headers, k, v);
    }
    json body;
    std::string err;
    if (!parse_body(req, content_type, body, err))
      return out->send(error_response(400, "bad_json", "malformed JSON body: " + err));
    json path_params = json::object();
    for (auto& [k, v] : m.params)
      path_params[k] = v;
    json query = json::object();
    for (auto& [k, v] : parse_query(req.query))
      add_multi(query, k, v);
    auto target = targets[m.route]->get();
    if (!target)
      return out->send(error_response(503, "unavailable", "the step is restarting"));
    api_call call{{{"pathParams", std::move(path_params)},
                   {"queryParams", std::move(query)},
                   {"body", std::move(body)},
                   {"headers", std::move(headers)},
                   {"rawBody", std::move(req.body)}},
                  new_trace_id(),
                  std::move(out)};
    caf::anon_send(target, api_atom::value, std::move(call));
  };
}

} // namespace motia
