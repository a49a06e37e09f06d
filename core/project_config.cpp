#include "core/project_config.hpp"

#include <cstdlib>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "motia/json.hpp"

#ifndef MOTIA_NODE_RUNNER
#define MOTIA_NODE_RUNNER "bindings/node/bin/worker.js"
#endif
#ifndef MOTIA_PYTHON_RUNNER
#define MOTIA_PYTHON_RUNNER "bindings/python/bin/worker.py"
#endif

namespace motia {

namespace fs = std::filesystem;

std::string default_node_runner() {
  if (const char* env = std::getenv("MOTIA_NODE_WORKER"); env && *env)
    return env;
  return MOTIA_NODE_RUNNER;
}

std::string default_python_runner() {
  if (const char* env = std::getenv("MOTIA_PYTHON_WORKER"); env && *env)
    return env;
  return MOTIA_PYTHON_RUNNER;
}

namespace {

using ms = std::chrono::milliseconds;

// Walks one JSON object, consuming known keys; whatever is left is unknown.
class section {
public:
  section(const json& obj, std::string where, std::string& err)
      : obj_(obj), where_(std::move(where)), err_(err) {
    if (!obj_.is_object())
      fail("must be an object");
  }

  template <class T>
  void number(const char* key, T& out, double min, double max) {
    if (auto v = take(key)) {
      if (!v->is_number() || v->get<double>() < min || v->get<double>() > max)
        return fail(fmt::format("'{}' must be a number from {} to {}", key, min, max));
      out = static_cast<T>(v->get<double>());
    }
  }
  void millis(const char* key, ms& out, double min, double max) {
    double v = static_cast<double>(out.count());
    number(key, v, min, max);
    out = ms(static_cast<long>(v));
  }
  void string(const char* key, std::string& out) {
    if (auto v = take(key)) {
      if (!v->is_string())
        return fail(fmt::format("'{}' must be a string", key));
      out = v->get<std::string>();
    }
  }
  void strings(const char* key, std::vector<std::string>& out) {
    if (auto v = take(key)) {
      if (!v->is_array() || v->empty())
        return fail(fmt::format("'{}' must be a non-empty array of strings", key));
      out.clear();
      for (auto& s : *v) {
        if (!s.is_string())
          return fail(fmt::format("'{}' must be a non-empty array of strings", key));
        out.push_back(s.get<std::string>());
      }
    }
  }
  const json* take(const char* key) {
    seen_.insert(key);
    if (!obj_.is_object())
      return nullptr;
    auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }
  std::optional<section> child(const char* key) {
    if (auto v = take(key))
      return section(*v, where_ + "." + key, err_);
    return std::nullopt;
  }
  bool has(const char* key) const { return obj_.is_object() && obj_.contains(key); }
  const std::string& where() const { return where_; }
  /// Every member, marked as consumed (for maps keyed by user names).
  std::vector<std::pair<std::string, const json*>> items() {
    std::vector<std::pair<std::string, const json*>> out;
    if (obj_.is_object())
      for (auto& [k, v] : obj_.items()) {
        seen_.insert(k);
        out.emplace_back(k, &v);
      }
    return out;
  }
  void fail(std::string msg) {
    if (err_.empty())
      err_ = fmt::format("{}: {}", where_, msg);
  }
  /// Reports the first key that nothing consumed.
  void finish() {
    if (!obj_.is_object())
      return;
    for (auto& [k, v] : obj_.items())
      if (!seen_.count(k))
        return fail(fmt::format("unknown setting '{}'", k));
  }

private:
  const json& obj_;
  std::string where_;
  std::string& err_;
  std::set<std::string> seen_;
};

void read_backoff(section& s, supervision_settings& out) {
  s.millis("backoffMinMs", out.backoff_min, 0, 3'600'000);
  s.millis("backoffMaxMs", out.backoff_max, 0, 3'600'000);
  s.number("jitter", out.jitter, 0, 1);
  if (out.backoff_max < out.backoff_min)
    s.fail("'backoffMaxMs' must not be below 'backoffMinMs'");
}

void read_limits(section& s, supervision_settings& out) {
  s.number("maxRestarts", out.max_restarts, 0, 1e6);
  s.millis("periodMs", out.period, 1, 86'400'000);
  read_backoff(s, out);
}

void read_supervisor(section& s, const supervision_settings& base, supervisor_settings& out) {
  out.limits = base;
  std::string strategy;
  s.string("strategy", strategy);
  if (strategy == "one_for_all")
    out.strategy = restart_strategy::one_for_all;
  else if (strategy == "rest_for_one")
    out.strategy = restart_strategy::rest_for_one;
  else if (!strategy.empty() && strategy != "one_for_one")
    s.fail("'strategy' must be one_for_one, one_for_all or rest_for_one");
  read_limits(s, out.limits);
  std::string exhausted;
  s.string("onExhausted", exhausted);
  if (exhausted == "exit")
    out.on_exhausted = exhausted_policy::escalate;
  else if (exhausted == "restart")
    out.on_exhausted = exhausted_policy::keep_restarting;
  else if (!exhausted.empty())
    s.fail("'onExhausted' must be \"restart\" or \"exit\"");
  s.finish();
}

void read_children(section& s, const supervision_settings& base,
                   std::map<std::string, child_policy>& out, std::string& err) {
  // Keys are names chosen by the user: walk them all, none is "unknown".
  for (auto& [name, v] : s.items()) {
    section c(*v, s.where() + "." + name, err);
    child_policy p;
    std::string restart;
    c.string("restart", restart);
    if (restart == "transient")
      p.restart = restart_type::transient;
    else if (restart == "temporary")
      p.restart = restart_type::temporary;
    else if (!restart.empty() && restart != "permanent")
      c.fail("'restart' must be permanent, transient or temporary");
    if (c.has("backoffMinMs") || c.has("backoffMaxMs") || c.has("jitter")) {
      supervision_settings b = base;
      read_backoff(c, b);
      p.backoff = b;
    }
    c.finish();
    out[name] = p;
  }
}

void read_supervision(section& s, project_config& c, std::string& err) {
  read_limits(s, c.supervision);
  c.steps_supervisor.limits = c.supervision;
  c.workers_supervisor.limits = c.supervision;
  if (auto t = s.child("steps"))
    read_supervisor(*t, c.supervision, c.steps_supervisor);
  if (auto t = s.child("workers"))
    read_supervisor(*t, c.supervision, c.workers_supervisor);
  if (auto t = s.child("step"))
    read_children(*t, c.supervision, c.step_policies, err);
  if (auto t = s.child("worker")) {
    read_children(*t, c.supervision, c.worker_policies, err);
    for (auto& [lang, p] : c.worker_policies)
      if (lang != "node" && lang != "python")
        t->fail(fmt::format("'{}' is not a worker language (node, python)", lang));
  }
  s.finish();
}

void read_file(const json& doc, project_config& c, std::string& err) {
  section top(doc, "motia-actors.json", err);
  if (auto h = top.child("http")) {
    h->string("host", c.host);
    h->number("port", c.port, 0, 65535);
    h->number("bodyLimit", c.body_limit, 1, 1 << 30);
    h->number("headerLimit", c.header_limit, 1024, 1 << 20);
    h->millis("readTimeoutMs", c.read_timeout, 10, 3'600'000);
    h->number("threads", c.io_threads, 1, 64);
    h->millis("apiTimeoutMs", c.api_timeout, 1, 3'600'000);
    h->finish();
  }
  std::string data_dir, durability;
  top.string("dataDir", data_dir);
  if (!data_dir.empty())
    c.data_dir = c.root / data_dir;
  top.string("durability", durability);
  if (!durability.empty() && durability != "strict" && durability != "process")
    top.fail("'durability' must be \"strict\" or \"process\"");
  c.durable_sync = durability == "strict";
  if (auto s = top.child("scheduler")) {
    s->number("threads", c.scheduler_threads, 1, 256);
    s->finish();
  }
  if (auto s = top.child("storage")) {
    s->number("threads", c.storage_threads, 1, 64);
    double mb = static_cast<double>(c.storage_memory >> 20);
    s->number("memoryBudgetMb", mb, 8, 1 << 20);
    c.storage_memory = static_cast<std::size_t>(mb) << 20;
    s->finish();
  }
  if (auto q = top.child("queue")) {
    q->number("shards", c.queue_shards, 1, 4096);
    q->number("maxDepth", c.queue_max_depth, 0, 1e12);
    q->number("maxEventBytes", c.max_event_bytes, 1024, 1 << 30);
    q->finish();
  }
  if (auto w = top.child("workers")) {
    w->number("maxFrame", c.max_frame, 1024, 1 << 30);
    for (auto [lang, ws] : {std::pair<const char*, worker_settings*>{"node", &c.node},
                            std::pair<const char*, worker_settings*>{"python", &c.python}})
      if (auto n = w->child(lang)) {
        n->strings("command", ws->command);
        n->number("count", ws->count, 1, 64);
        n->number("window", ws->window, 1, 1 << 20);
        n->millis("heartbeatIntervalMs", ws->heartbeat_interval, 10, 3'600'000);
        n->millis("heartbeatTimeoutMs", ws->heartbeat_timeout, 10, 3'600'000);
        n->millis("startTimeoutMs", ws->start_timeout, 100, 3'600'000);
        n->finish();
      }
    w->finish();
  }
  if (auto s = top.child("supervision"))
    read_supervision(*s, c, err);
  if (auto s = top.child("shutdown")) {
    s->millis("drainTimeoutMs", c.drain_timeout, 0, 3'600'000);
    s->finish();
  }
  if (auto e = top.child("events")) {
    e->millis("timeoutMs", c.event_timeout, 1, 86'400'000);
    e->finish();
  }
  std::string mode;
  top.string("mode", mode);
  if (!mode.empty() && mode != "development" && mode != "production")
    top.fail("'mode' must be \"development\" or \"production\"");
  c.development = mode != "production";
  if (auto a = top.child("admin")) {
    if (auto v = a->take("enabled")) {
      if (!v->is_boolean())
        a->fail("'enabled' must be true or false");
      else
        c.admin_enabled = v->get<bool>();
    }
    a->string("token", c.admin_token);
    a->finish();
  }
  if (auto st = top.child("streams")) {
    st->string("authenticate", c.stream_auth_file);
    st->number("messageLimit", c.stream_message_limit, 128, 1 << 26);
    st->number("sendQueueBytes", c.stream_send_queue, 4096, 1u << 30);
    st->millis("idleTimeoutMs", c.stream_idle_timeout, 100, 86'400'000);
    st->number("maxSubscriptions", c.stream_max_subscriptions, 1, 1 << 20);
    st->finish();
  }
  if (auto l = top.child("log")) {
    l->string("level", c.log_level);
    if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn"
        && c.log_level != "error")
      l->fail("'level' must be debug, info, warn or error");
    l->finish();
  }
  top.finish();
}

} // namespace

std::optional<project_config> load_project_config(const fs::path& root, std::string& err) {
  err.clear();
  std::error_code ec;
  project_config c;
  c.root = fs::canonical(root, ec);
  if (ec || !fs::is_directory(c.root)) {
    err = fmt::format("project directory {} does not exist", root.string());
    return std::nullopt;
  }
  c.data_dir = c.root / ".motia-actors";
  c.node.command = {"node"};
  c.python.command = {"python3"};
  auto file = c.root / "motia-actors.json";
  if (fs::exists(file)) {
    std::ifstream in(file);
    json doc = json::parse(in, nullptr, false);
    if (doc.is_discarded()) {
      err = fmt::format("{}: not valid JSON", file.string());
      return std::nullopt;
    }
    read_file(doc, c, err);
    if (!err.empty())
      return std::nullopt;
  }
  return c;
}

} // namespace motia
