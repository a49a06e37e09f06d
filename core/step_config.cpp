#include "core/step_config.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/cron.hpp"
#include "core/router.hpp"

namespace motia {

std::string_view to_string(step_kind k) noexcept {
  switch (k) {
    case step_kind::api: return "api";
    case step_kind::event: return "event";
    case step_kind::cron: return "cron";
    case step_kind::noop: return "noop";
  }
  return "?";
}

std::string_view to_string(step_language l) noexcept {
  switch (l) {
    case step_language::native: return "native";
    case step_language::node: return "node";
    case step_language::python: return "python";
  }
  return "?";
}

bool step_config::may_emit(std::string_view topic) const {
  if (emits.empty())
    return true;
  return std::any_of(emits.begin(), emits.end(),
                     [&](const emit_decl& e) { return e.topic == topic; });
}

namespace {

// Small readers that report "field: expected X" on a type mismatch. A field
// that is absent (or null, as JS `undefined` arrives) is left untouched.
struct reader {
  const json& cfg;
  std::string& err;

  bool fail(std::string msg) {
    if (err.empty())
      err = std::move(msg);
    return false;
  }

  bool string(const json& obj, const char* field, std::string& out, bool required) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null())
      return required ? fail(fmt::format("'{}' is required", field)) : true;
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
      return fail(fmt::format("'{}' must be a non-empty string", field));
    out = it->get<std::string>();
    return true;
  }

  bool strings(const json& obj, const char* field, std::vector<std::string>& out) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null())
      return true;
    if (!it->is_array())
      return fail(fmt::format("'{}' must be an array of strings", field));
    for (auto& v : *it) {
      if (!v.is_string() || v.get_ref<const std::string&>().empty())
        return fail(fmt::format("'{}' must be an array of non-empty strings", field));
      out.push_back(v.get<std::string>());
    }
    return true;
  }

  bool number(const json& obj, const char* field, double& out, double min, double max) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null())
      return true;
    if (!it->is_number())
      return fail(fmt::format("'{}' must be a number", field));
    double v = it->get<double>();
    if (v < min || v > max)
      return fail(fmt::format("'{}' must be between {} and {}", field, min, max));
    out = v;
    return true;
  }

  bool emits(const json& obj, const char* field, std::vector<emit_decl>& out) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null())
      return true;
    if (!it->is_array())
      return fail(fmt::format("'{}' must be an array", field));
    for (auto& v : *it) {
      emit_decl d;
      if (v.is_string() && !v.get_ref<const std::string&>().empty()) {
        d.topic = v.get<std::string>();
      } else if (v.is_object()) {
        if (!string(v, "topic", d.topic, true))
          return fail(fmt::format("'{}' entries need a 'topic' string", field));
        auto l = v.find("label");
        if (l != v.end() && l->is_string())
          d.label = l->get<std::string>();
        auto c = v.find("conditional");
        d.conditional = c != v.end() && c->is_boolean() && c->get<bool>();
      } else {
        return fail(fmt::format("'{}' entries must be topic strings or {{topic}} objects", field));
      }
      out.push_back(std::move(d));
    }
    return true;
  }
};

constexpr std::string_view methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"};

bool read_api(reader& r, const json& src, step_config& s) {
  if (!r.string(src, "path", s.path, true) || !r.string(src, "method", s.method, true))
    return false;
  std::transform(s.method.begin(), s.method.end(), s.method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (std::find(std::begin(methods), std::end(methods), s.method) == std::end(methods))
    return r.fail(fmt::format("'method' {} is not one of GET POST PUT DELETE PATCH OPTIONS HEAD",
                              s.method));
  if (s.path.front() != '/')
    return r.fail(fmt::format("'path' {} must start with '/'", s.path));
  router probe;
  if (auto e = probe.add(s.method, s.path, 0))
    return r.fail(fmt::format("'path' {}: {}", s.path, *e));
  return true;
}

bool read_queue(reader& r, const json& q, queue_settings& out) {
  if (!q.is_object())
    return r.fail("queue settings must be an object");
  std::string type;
  if (!r.string(q, "type", type, false))
    return false;
  if (!type.empty() && type != "standard" && type != "fifo")
    return r.fail(fmt::format("queue 'type' {} must be 'standard' or 'fifo'", type));
  out.fifo = type == "fifo";
  double retries = out.max_retries, delay_s = 0, vis_s = 900, backoff_ms = 1000,
         conc = out.concurrency;
  std::string backoff;
  if (!r.number(q, "maxRetries", retries, 0, 1000) || !r.number(q, "delaySeconds", delay_s, 0, 86400)
      || !r.number(q, "visibilityTimeout", vis_s, 1, 43200)
      || !r.number(q, "backoffDelayMs", backoff_ms, 0, 86'400'000)
      || !r.number(q, "concurrency", conc, 1, 100000) || !r.string(q, "backoffType", backoff, false))
    return false;
  if (!backoff.empty() && backoff != "fixed" && backoff != "exponential")
    return r.fail(fmt::format("'backoffType' {} must be 'fixed' or 'exponential'", backoff));
  out.max_retries = static_cast<unsigned>(retries);
  out.delay = std::chrono::milliseconds(static_cast<long>(delay_s * 1000));
  out.visibility_timeout = std::chrono::milliseconds(static_cast<long>(vis_s * 1000));
  out.backoff_delay = std::chrono::milliseconds(static_cast<long>(backoff_ms));
  if (q.contains("delaySeconds") && !q.contains("backoffDelayMs") && delay_s > 0)
    out.backoff_delay = out.delay;
  out.exponential = backoff != "fixed";
  out.concurrency = static_cast<unsigned>(conc);
  if (out.fifo && !q.contains("concurrency"))
    out.concurrency = 1;
  return true;
}

bool read_event(reader& r, const json& src, step_config& s) {
  if (!r.strings(src, "subscribes", s.subscribes))
    return false;
  if (s.subscribes.empty())
    return r.fail("'subscribes' must list at least one topic");
  if (auto it = src.find("input"); it != src.end() && !it->is_null()) {
    if (!it->is_object() && !it->is_boolean())
      return r.fail("'input' must be a JSON Schema object");
    s.input_schema = *it;
  }
  auto infra = src.find("infrastructure");
  if (infra == src.end() || infra->is_null())
    return true;
  if (!infra->is_object())
    return r.fail("'infrastructure' must be an object");
  if (auto h = infra->find("handler"); h != infra->end() && h->is_object()) {
    double t = 0;
    if (!r.number(*h, "timeout", t, 0, 86400))
      return false;
    s.timeout = std::chrono::milliseconds(static_cast<long>(t * 1000));
  }
  if (auto q = infra->find("queue"); q != infra->end() && !q->is_null())
    return read_queue(r, *q, s.queue);
  return true;
}

bool read_cron(reader& r, const json& src, step_config& s, const char* field) {
  if (!r.string(src, field, s.cron, true))
    return false;
  std::string why;
  if (!cron_expr::parse(s.cron, why))
    return r.fail(fmt::format("'{}' \"{}\" is invalid: {}", field, s.cron, why));
  return true;
}

// Motia 1.0: `triggers: [{type: 'http'|'queue'|'cron', ...}]`. One step has
// one kind here, so every trigger must be of the same type.
bool read_triggers(reader& r, const json& triggers, step_config& s) {
  if (!triggers.is_array() || triggers.empty())
    return r.fail("'triggers' must be a non-empty array");
  std::string type;
  for (auto& t : triggers) {
    std::string tt;
    if (!t.is_object() || !r.string(t, "type", tt, true))
      return r.fail("every trigger needs a 'type'");
    if (!type.empty() && tt != type)
      return r.fail(fmt::format("triggers of different types ({} and {}) in one step are not "
                                "supported: split the step", type, tt));
    type = tt;
  }
  for (auto& t : triggers) {
    const std::string tt = t["type"];
    if (tt == "http") {
      if (triggers.size() > 1)
        return r.fail("only one http trigger per step is supported");
      s.kind = step_kind::api;
      if (!read_api(r, t, s))
        return false;
      if (t.contains("bodySchema"))
        s.body_schema = t["bodySchema"];
    } else if (tt == "queue") {
      s.kind = step_kind::event;
      std::string topic;
      if (!r.string(t, "topic", topic, true))
        return false;
      s.subscribes.push_back(topic);
      if (auto c = t.find("config"); c != t.end() && !c->is_null() && !read_queue(r, *c, s.queue))
        return false;
      if (auto in = t.find("input"); in != t.end() && in->is_object())
        s.input_schema = *in;
    } else if (tt == "cron") {
      s.kind = step_kind::cron;
      if (triggers.size() > 1)
        return r.fail("only one cron trigger per step is supported");
      if (!read_cron(r, t, s, "expression"))
        return false;
    } else {
      return r.fail(fmt::format("trigger type '{}' is not one of http, queue, cron", tt));
    }
  }
  return true;
}

bool read_kind(reader& r, const json& cfg, step_config& s) {
  if (auto t = cfg.find("triggers"); t != cfg.end() && !t->is_null() && !cfg.contains("type"))
    return read_triggers(r, *t, s);
  std::string type;
  if (!r.string(cfg, "type", type, true))
    return false;
  if (type == "api") {
    s.kind = step_kind::api;
    return read_api(r, cfg, s);
  }
  if (type == "event") {
    s.kind = step_kind::event;
    return read_event(r, cfg, s);
  }
  if (type == "cron") {
    s.kind = step_kind::cron;
    return read_cron(r, cfg, s, "cron");
  }
  if (type == "noop") {
    s.kind = step_kind::noop;
    return true;
  }
  return r.fail(fmt::format("'type' {} is not one of api, event, cron, noop", type));
}

} // namespace

std::optional<step_config> parse_step_config(const json& cfg, std::string file,
                                             step_language lang, std::string& err) {
  err.clear();
  if (!cfg.is_object()) {
    err = "config must be an object";
    return std::nullopt;
  }
  reader r{cfg, err};
  step_config s;
  s.file = std::move(file);
  s.language = lang;
  s.raw = cfg;
  if (!r.string(cfg, "name", s.name, true) || !r.string(cfg, "description", s.description, false)
      || !r.strings(cfg, "flows", s.flows) || !r.emits(cfg, "emits", s.emits)
      || !r.emits(cfg, "enqueues", s.emits) || !r.strings(cfg, "virtualSubscribes", s.virtual_subscribes)
      || !read_kind(r, cfg, s))
    return std::nullopt;
  // Step names key the queue's rows (name, NUL, seq): no control characters.
  if (std::any_of(s.name.begin(), s.name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    err = "'name' must not contain control characters";
    return std::nullopt;
  }
  std::vector<emit_decl> virt;
  if (!r.emits(cfg, "virtualEmits", virt))
    return std::nullopt;
  for (auto& v : virt)
    s.virtual_emits.push_back(v.topic);
  if (auto b = cfg.find("bodySchema"); b != cfg.end() && !b->is_null())
    s.body_schema = *b;
  if (auto b = cfg.find("responseSchema"); b != cfg.end() && !b->is_null())
    s.response_schema = *b;
  if (auto m = cfg.find("hasMiddleware"); m != cfg.end() && m->is_boolean())
    s.has_middleware = m->get<bool>();
  return s;
}

std::vector<config_problem> validate_project(const std::vector<step_config>& steps) {
  std::vector<config_problem> out;
  std::map<std::string, const step_config*> names;
  router routes;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto& s = steps[i];
    auto [it, fresh] = names.emplace(s.name, &s);
    if (!fresh)
      out.push_back({s.file, fmt::format("step name '{}' is already used by {}", s.name,
                                         it->second->file)});
    if (s.kind != step_kind::api)
      continue;
    if (auto e = routes.add(s.method, s.path, i))
      out.push_back({s.file, fmt::format("route {} {}: {}", s.method, s.path, *e)});
  }
  return out;
}

} // namespace motia
