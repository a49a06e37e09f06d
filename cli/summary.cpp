#include "cli/summary.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "runtime/runtime.hpp"

namespace motia {

namespace fs = std::filesystem;

namespace {

std::string rel(const runtime& rt, const std::string& file) {
  if (file.rfind("native:", 0) == 0)
    return file;
  std::error_code ec;
  auto r = fs::relative(file, rt.project().root, ec);
  return ec ? file : r.string();
}

std::string trigger_of(const step_config& s) {
  switch (s.kind) {
    case step_kind::api: return fmt::format("{} {}", s.method, s.path);
    case step_kind::event: return fmt::format("on {}", fmt::join(s.subscribes, ", "));
    case step_kind::cron: return fmt::format("cron \"{}\"", s.cron);
    case step_kind::noop: return "(noop)";
  }
  return {};
}

std::string emits_of(const step_config& s) {
  std::vector<std::string> t;
  for (auto& e : s.emits)
    t.push_back(e.topic);
  for (auto& v : s.virtual_emits)
    t.push_back(v + " (virtual)");
  return t.empty() ? "" : fmt::format("→ {}", fmt::join(t, ", "));
}

std::vector<step_config> steps_of(const runtime& rt) {
  std::vector<step_config> out;
  for (auto& s : rt.snapshot()->steps)
    out.push_back(s->cfg);
  return out;
}

void print_table(const runtime& rt) {
  std::size_t w_name = 4, w_trig = 7;
  auto steps = steps_of(rt);
  for (auto& s : steps) {
    w_name = std::max(w_name, s.name.size());
    w_trig = std::max(w_trig, trigger_of(s).size());
  }
  fmt::print("  {:<6} {:<{}} {:<{}} {:<7} {}\n", "KIND", "NAME", w_name, "TRIGGER", w_trig, "LANG",
             "FILE / EMITS");
  for (auto& s : steps)
    fmt::print("  {:<6} {:<{}} {:<{}} {:<7} {} {}\n", to_string(s.kind), s.name, w_name,
               trigger_of(s), w_trig, to_string(s.language), rel(rt, s.file), emits_of(s));
}

std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>>
topic_map(const runtime& rt) {
  std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>> m;
  for (auto& s : steps_of(rt)) {
    for (auto& e : s.emits)
      m[e.topic].first.push_back(s.name);
    for (auto& t : s.subscribes)
      m[t].second.push_back(s.name);
  }
  return m;
}

} // namespace

void print_summary(const runtime& rt) {
  auto& p = rt.project();
  std::map<step_kind, int> by_kind;
  auto steps = steps_of(rt);
  for (auto& s : steps)
    ++by_kind[s.kind];
  auto snap = rt.snapshot();
  fmt::print("motia-actors {} · {} · {} steps ({} api, {} event, {} cron, {} noop)\n", MOTIA_VERSION,
             p.root.string(), steps.size(), by_kind[step_kind::api], by_kind[step_kind::event],
             by_kind[step_kind::cron], by_kind[step_kind::noop]);
  print_table(rt);
  auto topics = topic_map(rt);
  if (!topics.empty()) {
    fmt::print("  topics:\n");
    for (auto& [t, io] : topics)
      fmt::print("    {:<24} from {} to {}\n", t,
                 io.first.empty() ? "-" : fmt::format("{}", fmt::join(io.first, ", ")),
                 io.second.empty() ? "- (no subscriber)" : fmt::format("{}", fmt::join(io.second, ", ")));
  }
  if (!snap->streams.empty()) {
    std::vector<std::string> names;
    for (auto& [name, info] : snap->streams)
      names.push_back(fmt::format("{} ({})", name, to_string(info.language)));
    std::sort(names.begin(), names.end());
    std::string auth = snap->auth.native ? "native" : snap->auth.file;
    if (auth.empty())
      auth = "none";
    else if (auth != "native")
      auth = std::filesystem::path(auth).lexically_relative(p.root).string();
    fmt::print("  streams: {} · WebSocket on ws://{}:{} · auth {}\n", fmt::join(names, ", "), p.host,
               rt.port(), auth);
  }
  fmt::print("  state: RocksDB in {} (durability {})\n", p.data_dir.string(),
             p.durable_sync ? "strict" : "process");
  fmt::print("ready in {} ms · listening on http://{}:{}\n", rt.startup_time().count(), p.host, rt.port());
  std::fflush(stdout);
}

void print_steps(const runtime& rt, bool as_json) {
  if (!as_json) {
    print_table(rt);
    return;
  }
  json out = json::array();
  for (auto& s : steps_of(rt)) {
    json j = {{"name", s.name}, {"kind", to_string(s.kind)}, {"language", to_string(s.language)},
              {"file", rel(rt, s.file)}, {"flows", s.flows}};
    json emits = json::array();
    for (auto& e : s.emits)
      emits.push_back(e.topic);
    j["emits"] = emits;
    if (s.kind == step_kind::api) {
      j["method"] = s.method;
      j["path"] = s.path;
    } else if (s.kind == step_kind::event) {
      j["subscribes"] = s.subscribes;
    } else if (s.kind == step_kind::cron) {
      j["cron"] = s.cron;
    }
    out.push_back(std::move(j));
  }
  fmt::print("{}\n", out.dump(2));
}

} // namespace motia
