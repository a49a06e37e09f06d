#include "runtime/gateway.hpp"

#include <fmt/format.h>

#include <caf/send.hpp>

#include "core/queue.hpp"
#include "core/log.hpp"
#include "core/msgpack_writer.hpp"
#include "core/router.hpp"
#include "runtime/http_response.hpp"
#include "runtime/invoke.hpp"
#include "runtime/native_context.hpp"
#include "runtime/runtime_env.hpp"

namespace motia {

namespace {

using clock = std::chrono::steady_clock;

// A request whose answer does not come back (a node that went away) is cut
// this long after its handler's deadline.
constexpr std::chrono::milliseconds grace{2000};

bool is_json_type(std::string_view type) { return type.empty() || type.find("json") != std::string_view::npos; }

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size())
      return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80)
        return false;
    if (n == 2 && c < 0xc2)
      return false;
    if (n == 3) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0))
        return false;
    }
    if (n == 4) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xf0 && c1 < 0x90) || c > 0xf4 || (c == 0xf4 && c1 >= 0x90))
        return false;
    }
    i += n;
  }
  return true;
}

// Header values may carry obs-text bytes (RFC 9110): read as latin-1, as
// Node does, so a worker always gets valid UTF-8.
std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
  }
  return out;
}

// Writes name -> value pairs as a map; a repeated name becomes an array of
// its values, in order (Motia's queryParams and headers).
template <class Pairs>
void write_multimap(msgpack_writer& w, const Pairs& pairs) {
  std::vector<std::pair<std::string_view, std::vector<std::string_view>>> grouped;
  for (auto& [k, v] : pairs) {
    auto it = std::find_if(grouped.begin(), grouped.end(), [&](auto& g) { return g.first == k; });
    if (it == grouped.end())
      grouped.push_back({k, {v}});
    else
      it->second.push_back(v);
  }
  w.map(static_cast<std::uint32_t>(grouped.size()));
  for (auto& [k, vs] : grouped) {
    w.str(k);
    if (vs.size() == 1) {
      w.str(vs[0]);
      continue;
    }
    w.array(static_cast<std::uint32_t>(vs.size()));
    for (auto& v : vs)
      w.str(v);
  }
}

// Motia's `req` as msgpack, built once: {pathParams, queryParams, body,
// headers, rawBody}. Returns the error response instead when the request
// cannot be a handler's input.
std::optional<http::response> build_input(http::request& req, const router::match_result& m, payload& body,
                                          payload& out) {
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(req.headers.size());
  for (auto& [k, v] : req.headers) {
    if (k == "content-type")
      content_type = v;
    headers.emplace_back(k, valid_utf8(v) ? v : latin1_to_utf8(v));
  }
  for (auto& [k, v] : m.params)
    if (!valid_utf8(v))
      return error_response(400, "bad_request", fmt::format("path parameter '{}' is not valid UTF-8", k));
  auto query = parse_query(req.query);
  for (auto& [k, v] : query)
    if (!valid_utf8(k) || !valid_utf8(v))
      return error_response(400, "bad_request", "the query string is not valid UTF-8");
  if (req.body.empty()) {
    body = payload::adopt(std::string(1, '\x80')); // {}
  } else if (is_json_type(content_type)) {
    auto j = json::parse(req.body, nullptr, false);
    if (j.is_discarded())
      return error_response(400, "bad_json", "malformed JSON body: the body is not valid JSON");
    body = payload::from_json(j);
  } else {
    msgpack_writer b;
    if (valid_utf8(req.body))
      b.str(req.body);
    else
      b.bin(req.body);
    body = payload::adopt(std::move(b).finish());
  }
  msgpack_writer w;
  w.buffer().reserve(64 + req.body.size() * 2 + req.headers.size() * 32);
  w.map(5);
  w.str("pathParams").map(static_cast<std::uint32_t>(m.params.size()));
  for (auto& [k, v] : m.params)
    w.str(k).str(v);
  w.str("queryParams");
  write_multimap(w, query);
  w.str("body").raw(body);
  w.str("headers");
  write_multimap(w, headers);
  w.str("rawBody").bin(req.body);
  out = payload::adopt(std::move(w).finish());
  return std::nullopt;
}

http::response failure_response(const api_result& r, const std::string& trace) {
  auto code = code_of(r.error);
  if (code == errc::handler_timeout || r.error == caf::sec::request_timeout)
    return error_response(504, "handler_timeout", "the handler did not answer in time", trace);
  if (r.overloaded || code == errc::overloaded) {
    auto resp = error_response(503, "overloaded", "a queue this request feeds is full; retry later", trace);
    resp.headers.emplace_back("retry-after", "1");
    return resp;
  }
  if (code == errc::quarantined)
    return error_response(400, "quarantined", "this request killed its worker twice and is refused", trace);
  if (code == errc::worker_died || code == errc::unavailable) {
    auto resp = error_response(503, "unavailable", "the step's worker is unavailable", trace);
    resp.headers.emplace_back("retry-after", "1");
    return resp;
  }
  return error_response(500, "handler_failed", "internal server error", trace);
}

// Development mode: a response whose body breaks the step's responseSchema
// for its status is logged (the client still gets it, as in Motia).
void check_response(const step_info& step, const payload& value, const std::string& trace) {
  auto status = value.find("status");
  auto s = status ? status->as_int() : std::nullopt;
  if (!s)
    return;
  auto it = step.response_schemas.find(std::to_string(*s));
  if (it == step.response_schemas.end())
    return;
  auto body = value.find("body");
  std::vector<std::string> problems;
  if (!it->second->validate(body ? body->to_json() : json(), problems))
    write_step_log("warn", "response does not match the step's responseSchema",
                   {{"status", *s}, {"problems", problems}}, trace, step.cfg);
}

} // namespace

gateway::gateway(std::weak_ptr<runtime_env> env) : env_(std::move(env)) {}

std::size_t gateway::pending() const {
  std::lock_guard<std::mutex> g(mtx_);
  return pending_.size();
}

void gateway::handle(http::request&& req, http::responder_ptr out) {
  if (filter_ && filter_(req, out))
    return;
  auto env = env_.lock();
  auto snap = env ? env->snapshot.current() : nullptr;
  if (!snap)
    return out->send(error_response(503, "unavailable", "the runtime is starting or stopping"));
  dispatch(std::move(req), std::move(out), snap);
}

void gateway::dispatch(http::request&& req, http::responder_ptr out, const snapshot_ptr& snap) {
  auto m = snap->routes.match(req.method, req.path);
  using kind = router::match_result::kind;
  if (m.what == kind::not_found)
    return out->send(error_response(404, "not_found", fmt::format("no route for {} {}", req.method, req.path)));
  if (m.what == kind::method_not_allowed) {
    auto r = error_response(405, "method_not_allowed", fmt::format("{} is not allowed on {}", req.method, req.path));
    r.headers.emplace_back("allow", fmt::format("{}", fmt::join(m.allowed, ", ")));
    return out->send(std::move(r));
  }
  auto* step = snap->route_targets[m.route];
  payload body, input;
  if (auto bad = build_input(req, m, body, input))
    return out->send(std::move(*bad));
  // With middleware the worker asks for this check once the middleware ran
  // (Motia runs middleware first).
  bool in_worker = step->cfg.has_middleware && step->body_schema && !step->native;
  if (step->body_schema && !in_worker) {
    std::vector<std::string> problems;
    if (!step->body_schema->validate(body.to_json(), problems))
      return out->send(error_response(400, "invalid_body", "the request body does not match the step's bodySchema",
                                      {}, problems));
  }
  auto env = env_.lock();
  auto target = env ? env->steps.get(step->cfg.name) : step_actor{};
  if (!target)
    return out->send(error_response(503, "unavailable", "the step is restarting"));
  api_call call;
  call.step = step->cfg.name;
  call.input = std::move(input);
  call.trace_id = new_trace_id();
  call.validate_in_worker = in_worker;
  auto timeout = step->cfg.timeout.count() > 0 ? step->cfg.timeout : snap->project->api_timeout;
  {
    std::lock_guard<std::mutex> g(mtx_);
    call.request = ++next_id_;
    pending_.emplace(call.request, pending_request{std::move(out), snap, step, call.trace_id,
                                                   clock::now() + timeout + grace});
  }
  caf::anon_send(target, std::move(call));
}

void gateway::on_result(std::uint64_t token, process::invocation_outcome&& out) {
  api_result r;
  r.request = token;
  r.overloaded = out.overloaded;
  r.error = error_of(out);
  if (!r.error)
    r.value = std::move(out.value);
  complete(std::move(r));
}

void gateway::complete(api_result&& r) {
  pending_request p;
  {
    std::lock_guard<std::mutex> g(mtx_);
    auto it = pending_.find(r.request);
    if (it == pending_.end())
      return;
    p = std::move(it->second);
    pending_.erase(it);
  }
  auto env = env_.lock();
  // Strict durability: the handler's state writes reach the disk before the
  // client hears of them (native steps synced when they committed already).
  if (!r.error && env && p.snap->project->durable_sync && !p.step->native) {
    queue_write w;
    w.done = [self = shared_from_this(), p = std::move(p), r = std::move(r)](std::vector<queued_event>&,
                                                                             const error& err) mutable {
      if (err)
        return p.out->send(error_response(503, "unavailable", "the state could not be stored", p.trace_id));
      self->respond(p, std::move(r));
    };
    return env->queue->submit(std::move(w));
  }
  respond(p, std::move(r));
}

void gateway::respond(pending_request& p, api_result&& r) {
  if (r.error) {
    write_step_log("error", "api handler failed", {{"error", describe(r.error)}}, p.trace_id, p.step->cfg);
    return p.out->send(failure_response(r, p.trace_id));
  }
  if (!p.step->response_schemas.empty())
    check_response(*p.step, r.value, p.trace_id);
  http::response resp;
  std::string why;
  if (!to_http_response(r.value, resp, why)) {
    write_step_log("error", "api handler returned an invalid response", {{"error", why}}, p.trace_id, p.step->cfg);
    return p.out->send(error_response(500, "invalid_response", why, p.trace_id));
  }
  p.out->send(std::move(resp));
}

void gateway::sweep() {
  std::vector<pending_request> late;
  {
    std::lock_guard<std::mutex> g(mtx_);
    auto now = clock::now();
    for (auto it = pending_.begin(); it != pending_.end();)
      if (it->second.deadline <= now) {
        late.push_back(std::move(it->second));
        it = pending_.erase(it);
      } else {
        ++it;
      }
  }
  for (auto& p : late)
    p.out->send(error_response(504, "handler_timeout", "the handler did not answer in time", p.trace_id));
}

} // namespace motia
