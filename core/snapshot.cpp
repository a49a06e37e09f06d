#include "core/snapshot.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "core/cron.hpp"
#include "core/log.hpp"

namespace motia {

namespace fs = std::filesystem;

const step_info* project_snapshot::step(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : it->second;
}

const std::vector<const step_info*>& project_snapshot::subscribers(std::string_view topic) const {
  static const std::vector<const step_info*> none;
  auto it = by_topic_.find(topic);
  return it == by_topic_.end() ? none : it->second;
}

std::vector<std::string> project_snapshot::stream_names() const {
  std::vector<std::string> names;
  for (auto& [name, s] : streams)
    names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::string describe_problems(const std::vector<config_problem>& problems) {
  std::string text = fmt::format("the project has {} problem{}:", problems.size(),
                                 problems.size() == 1 ? "" : "s");
  for (auto& pr : problems)
    text += fmt::format("\n  {}: {}", pr.file, pr.message);
  return text;
}

std::string find_stream_auth_file(const project_config& p, std::vector<config_problem>& problems) {
  if (!p.stream_auth_file.empty()) {
    auto file = (p.root / p.stream_auth_file).lexically_normal().string();
    if (!fs::is_regular_file(file))
      problems.push_back({"motia-actors.json", fmt::format("streams.authenticate: no file {}", file)});
    return file;
  }
  // Motia's own place for it: motia.config.ts|js with `streamAuth`.
  for (const char* name : {"motia.config.ts", "motia.config.js", "motia.config.mjs"}) {
    auto candidate = p.root / name;
    std::ifstream in(candidate);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("streamAuth") != std::string::npos)
      return candidate.string();
  }
  return {};
}

namespace {

bool is_python_file(const std::string& f) { return fs::path(f).extension() == ".py"; }

// Compiles one schema of a step; an unusable schema is a warning, not a
// problem (the step runs, unvalidated), as before.
std::shared_ptr<const json_schema> compile_or_warn(const json& schema, const step_config& cfg,
                                                   std::string_view what) {
  if (!schema.is_object())
    return nullptr;
  std::string err;
  auto compiled = json_schema::compile(schema, err);
  if (!compiled)
    log::warn(fmt::format("the step's {} cannot be used; it is not validated", what),
              {{"step", cfg.name}, {"file", cfg.file}, {"error", err}});
  return compiled;
}

} // namespace

struct snapshot_builder {
  const snapshot_inputs& in;
  std::vector<config_problem>& problems;
  std::shared_ptr<project_snapshot> snap = std::make_shared<project_snapshot>();
  std::vector<step_info> infos;

  void add_stream(stream_info info) {
    if (info.name.empty() || info.name.find('\0') != std::string::npos) {
      problems.push_back({info.file, "a stream needs a non-empty string 'name'"});
      return;
    }
    auto [it, fresh] = snap->streams.emplace(info.name, info);
    if (!fresh)
      problems.push_back({info.file, fmt::format("stream '{}' is already defined in {}", info.name,
                                                 it->second.file)});
  }

  void add_native() {
    for (auto& def : in.native_streams) {
      stream_info info;
      info.name = def.config.is_object() ? def.config.value("name", std::string{}) : std::string{};
      info.file = "native:" + info.name;
      info.config = def.config;
      info.native_can_access = def.can_access;
      add_stream(std::move(info));
    }
    for (auto& def : in.native_steps) {
      std::string why;
      auto name = def.config.is_object() ? def.config.value("name", std::string{"?"}) : std::string{"?"};
      auto cfg = parse_step_config(def.config, "native:" + name, step_language::native, why);
      if (!cfg) {
        problems.push_back({"native:" + name, why});
        continue;
      }
      bool has = (cfg->kind == step_kind::api && def.api) || (cfg->kind == step_kind::event && def.event)
                 || (cfg->kind == step_kind::cron && def.cron) || cfg->kind == step_kind::noop;
      if (!has)
        problems.push_back({cfg->file, fmt::format("a native {} step needs a {} handler",
                                                   to_string(cfg->kind), to_string(cfg->kind))});
      step_info info;
      info.cfg = std::move(*cfg);
      info.native = std::make_shared<const step_definition>(def);
      infos.push_back(std::move(info));
    }
  }

  void add_registration(const worker_registration& reg) {
    for (auto& e : reg.errors) {
      std::string where = e.value("file", std::string{"?"});
      if (e.contains("line") && e["line"].is_number())
        where += fmt::format(":{}", e["line"].get<long>());
      problems.push_back({where, "failed to load: " + e.value("message", std::string{"unknown error"})});
    }
    for (auto& s : reg.streams) {
      stream_info info;
      info.file = s.value("file", std::string{"?"});
      info.language = reg.language;
      if (s.contains("config") && s["config"].is_object()) {
        info.config = s["config"];
        info.name = info.config.value("name", std::string{});
        info.worker_can_access = info.config.value("canAccess", false);
        info.config.erase("canAccess");
      }
      add_stream(std::move(info));
    }
    if (!in.auth_file.empty() && snap->auth.language == reg.language && !reg.auth && reg.errors.empty())
      problems.push_back({in.auth_file, "exports no stream authenticate hook (`authenticate`, or "
                                        "`streamAuth.authenticate` of the default export)"});
    for (auto& s : reg.steps) {
      std::string why;
      auto file = s.value("file", std::string{"?"});
      auto cfg = parse_step_config(s.contains("config") ? s["config"] : json(), file, reg.language, why);
      if (!cfg) {
        problems.push_back({file, why});
        continue;
      }
      step_info info;
      info.cfg = std::move(*cfg);
      infos.push_back(std::move(info));
    }
  }

  void set_auth() {
    if (in.native_auth && !in.auth_file.empty())
      problems.push_back({in.auth_file, "the stream authenticate hook is defined natively too; keep one"});
    if (in.native_auth) {
      snap->auth.native = in.native_auth;
    } else if (!in.auth_file.empty()) {
      snap->auth.file = in.auth_file;
      snap->auth.language = is_python_file(in.auth_file) ? step_language::python : step_language::node;
    }
  }

  void finish() {
    auto& p = *in.project;
    std::vector<step_config> configs;
    for (auto& i : infos)
      configs.push_back(i.cfg);
    for (auto& pr : validate_project(configs))
      problems.push_back(pr);
    for (auto& [name, policy] : p.step_policies)
      if (std::none_of(configs.begin(), configs.end(), [&](const step_config& s) { return s.name == name; }))
        problems.push_back({"motia-actors.json", fmt::format("supervision.step.{}: no step has this name", name)});
    if (!problems.empty())
      return;
    for (auto& i : infos) {
      auto& cfg = i.cfg;
      if (cfg.kind == step_kind::event)
        i.input_schema = compile_or_warn(cfg.input_schema, cfg, "input schema");
      if (cfg.kind == step_kind::api)
        i.body_schema = compile_or_warn(cfg.body_schema, cfg, "bodySchema");
      if (cfg.kind == step_kind::api && cfg.response_schema.is_object() && p.development)
        for (auto& [status, schema] : cfg.response_schema.items())
          if (auto c = compile_or_warn(schema, cfg, "responseSchema for " + status))
            i.response_schemas[status] = std::move(c);
      i.shards = p.queue_shards;
      auto info = std::make_shared<const step_info>(std::move(i));
      snap->by_name_.emplace(info->cfg.name, info.get());
      for (auto& t : info->cfg.subscribes)
        snap->by_topic_[t].push_back(info.get());
      if (info->cfg.kind == step_kind::api) {
        (void)snap->routes.add(info->cfg.method, info->cfg.path, snap->route_targets.size());
        snap->route_targets.push_back(info.get());
      }
      snap->steps.push_back(std::move(info));
    }
  }
};

std::shared_ptr<const project_snapshot> build_snapshot(const snapshot_inputs& in,
                                                       std::vector<config_problem>& problems) {
  snapshot_builder b{in, problems};
  b.snap->project = in.project;
  b.add_native();
  b.set_auth();
  for (auto& reg : in.registrations)
    b.add_registration(reg);
  b.finish();
  if (!problems.empty())
    return nullptr;
  return b.snap;
}

} // namespace motia
