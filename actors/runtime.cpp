#include "actors/runtime.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <thread>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/admin.hpp"
#include "actors/cron_actor.hpp"
#include "actors/error.hpp"
#include "actors/http_bridge.hpp"
#include "actors/messages.hpp"
#include "actors/step_actor.hpp"
#include "actors/stream_hub.hpp"
#include "actors/streams.hpp"
#include "actors/supervisor.hpp"
#include "actors/worker.hpp"
#include "adapters/http/server.hpp"
#include "adapters/process/io_runtime.hpp"
#include "adapters/rocksdb/database.hpp"
#include "adapters/rocksdb/queue_store.hpp"
#include "adapters/rocksdb/stream_store.hpp"
#include "core/log.hpp"

namespace motia {

namespace fs = std::filesystem;

namespace {

child_policy child_of(const std::map<std::string, child_policy>& policies, const std::string& name) {
  auto it = policies.find(name);
  return it == policies.end() ? child_policy{} : it->second;
}

supervisor_policy policy_of(const supervisor_settings& s, std::string name, runtime_metrics& m) {
  supervisor_policy p;
  p.strategy = s.strategy;
  p.limits = s.limits;
  p.name = std::move(name);
  p.restarts = &m.restarts;
  p.escalations = &m.escalations;
  return p;
}

} // namespace

runtime::runtime(std::vector<step_definition> native) : native_defs_(std::move(native)) {}

runtime::~runtime() { stop(); }

void runtime::add_native_streams(std::vector<stream_definition> streams, stream_authenticator auth) {
  native_streams_ = std::move(streams);
  native_auth_ = std::move(auth);
}

namespace {

bool is_python_file(const std::string& f) { return fs::path(f).extension() == ".py"; }

} // namespace

void runtime::add_stream(stream_info info, std::vector<config_problem>& problems) {
  if (info.name.empty() || info.name.find('\0') != std::string::npos) {
    problems.push_back({info.file, "a stream needs a non-empty string 'name'"});
    return;
  }
  auto [it, fresh] = svc_.streams_by_name.emplace(info.name, info);
  if (!fresh) {
    problems.push_back({info.file, fmt::format("stream '{}' is already defined in {}", info.name, it->second.file)});
    return;
  }
  auto names = std::make_shared<std::vector<std::string>>();
  for (auto& [name, def] : svc_.streams_by_name)
    names->push_back(name);
  std::sort(names->begin(), names->end());
  std::atomic_store(&svc_.stream_names, std::shared_ptr<const std::vector<std::string>>(std::move(names)));
}

void runtime::find_stream_auth(std::vector<config_problem>& problems) {
  auto& p = *project_;
  std::string file;
  if (!p.stream_auth_file.empty()) {
    file = (p.root / p.stream_auth_file).lexically_normal().string();
    if (!fs::is_regular_file(file))
      problems.push_back({"motia-actors.json", fmt::format("streams.authenticate: no file {}", file)});
  } else {
    // Motia's own place for it: motia.config.ts|js with `streamAuth`.
    for (const char* name : {"motia.config.ts", "motia.config.js", "motia.config.mjs"}) {
      auto candidate = p.root / name;
      std::ifstream in(candidate);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.find("streamAuth") != std::string::npos) {
        file = candidate.string();
        break;
      }
    }
  }
  if (file.empty())
    return;
  if (native_auth_) {
    problems.push_back({file, "the stream authenticate hook is defined natively too; keep one"});
    return;
  }
  auth_file_ = file;
  auth_language_ = is_python_file(file) ? step_language::python : step_language::node;
}

std::optional<std::string> runtime::load(const run_options& opts) {
  t0_ = std::chrono::steady_clock::now();
  std::string err;
  project_ = load_project_config(opts.project_dir, err);
  if (!project_)
    return err;
  auto& p = *project_;
  if (opts.port)
    p.port = *opts.port;
  if (opts.host)
    p.host = *opts.host;
  if (opts.data_dir)
    p.data_dir = fs::absolute(*opts.data_dir);
  log::set_threshold(log::parse_level(p.log_level));
  svc_.project = &p;
  svc_.metrics = &metrics_;

  auto files = discover(p.root);
  std::vector<config_problem> problems;
  for (auto& def : native_streams_) {
    stream_info info;
    info.name = def.config.is_object() ? def.config.value("name", std::string{}) : std::string{};
    info.file = "native:" + info.name;
    info.config = def.config;
    info.native_can_access = def.can_access;
    add_stream(std::move(info), problems);
  }
  find_stream_auth(problems);

  for (auto& def : native_defs_) {
    std::string why;
    auto name = def.config.value("name", std::string{"?"});
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
    svc_.native.emplace(cfg->name, def);
    steps_.push_back(std::move(*cfg));
  }

  caf_cfg_ = std::make_unique<caf::actor_system_config>();
  // Requests arrive from io threads: 'sharing' wakes workers far faster than
  // the default work stealing (see shared notes), and 2 cores want few threads.
  caf_cfg_->set("scheduler.policy", caf::atom("sharing"));
  caf_cfg_->set("scheduler.max-threads", p.scheduler_threads);
  caf_cfg_->set("logger.verbosity", caf::atom("quiet"));
  caf_cfg_->set("logger.file-verbosity", caf::atom("quiet"));
  caf_cfg_->set("logger.console-verbosity", caf::atom("quiet"));
  sys_ = std::make_unique<caf::actor_system>(*caf_cfg_);
  topics_ = std::make_unique<topic_bus>(*sys_);
  svc_.topics = topics_.get();
  io_ = std::make_unique<io::io_runtime>(p.io_threads);
  io_->start();

  bool workers = !files.node.empty() || !files.python.empty() || !files.streams.empty() || !auth_file_.empty();
  if (workers && problems.empty()) {
    if (auto e = start_workers(files))
      return e;
    if (auto e = collect_worker_steps(problems))
      return e;
  }
  for (auto& pr : validate_project(steps_))
    problems.push_back(pr);
  for (auto& [name, policy] : p.step_policies)
    if (std::none_of(steps_.begin(), steps_.end(), [&](const step_config& s) { return s.name == name; }))
      problems.push_back({"motia-actors.json", fmt::format("supervision.step.{}: no step has this name", name)});
  if (!problems.empty()) {
    std::string text = fmt::format("the project has {} problem{}:", problems.size(),
                                   problems.size() == 1 ? "" : "s");
    for (auto& pr : problems)
      text += fmt::format("\n  {}: {}", pr.file, pr.message);
    return text;
  }
  return std::nullopt;
}

std::optional<std::string> runtime::start_workers(const discovered_files& files) {
  auto& p = *project_;
  std::vector<child_spec> children;
  struct language {
    step_language id;
    std::string name;
    const worker_settings& settings;
    std::string runner;
    const std::vector<std::string>& files;
    actor_slot* slot;
  };
  std::vector<std::string> node_streams, python_streams;
  for (auto& f : files.streams)
    (is_python_file(f) ? python_streams : node_streams).push_back(f);
  for (auto& l : {language{step_language::node, "node", p.node, default_node_runner(), files.node, &node_pool_},
                  language{step_language::python, "python", p.python, default_python_runner(), files.python,
                           &python_pool_}}) {
    auto& stream_files = l.id == step_language::python ? python_streams : node_streams;
    bool auth_here = !auth_file_.empty() && auth_language_ == l.id;
    if (l.files.empty() && stream_files.empty() && !auth_here)
      continue;
    auto pool = spawn_worker_pool(*sys_, l.name);
    l.slot->set(pool);
    pools_.emplace_back(l.id, pool);
    auto policy = child_of(p.worker_policies, l.name);
    for (unsigned i = 0; i < l.settings.count; ++i) {
      worker_spec spec;
      spec.lang = l.name;
      spec.argv = l.settings.command;
      spec.argv.push_back(l.runner);
      spec.files = l.files;
      spec.stream_files = stream_files;
      if (auth_here)
        spec.auth_file = auth_file_;
      spec.index = i;
      spec.settings = l.settings;
      auto* slot = l.slot;
      children.push_back(child_spec{
        fmt::format("{}-worker-{}", l.name, i),
        [this, spec, slot](caf::actor_system& sys) { return spawn_worker_proxy(sys, svc_, *io_, spec, slot); },
        policy.restart, nullptr, policy.backoff});
    }
  }
  workers_sup_ = spawn_supervisor(*sys_, policy_of(p.workers_supervisor, "workers", metrics_),
                                  std::move(children));
  watch(workers_sup_);
  return std::nullopt;
}

actor_slot* runtime::pool_of(step_language lang) {
  switch (lang) {
    case step_language::node:
      return &node_pool_;
    case step_language::python:
      return &python_pool_;
    default:
      return nullptr;
  }
}

std::optional<std::string> runtime::collect_worker_steps(std::vector<config_problem>& problems) {
  caf::scoped_actor self{*sys_};
  for (auto& [lang, pool] : pools_) {
    auto& settings = lang == step_language::python ? project_->python : project_->node;
    std::optional<worker_registration> reg;
    std::string err;
    auto wait = settings.start_timeout + std::chrono::seconds(1);
    self->request(pool, wait, register_atom::value)
      .receive([&](worker_registration& r) { reg = std::move(r); },
               [&](caf::error& e) { err = describe(e); });
    if (!reg)
      return fmt::format("the {} worker did not register its steps ({}); is `{}` installed and does it "
                         "run the runner {}?",
                         to_string(lang), err, fmt::join(settings.command, " "),
                         lang == step_language::python ? default_python_runner() : default_node_runner());
    for (auto& e : reg->errors) {
      std::string where = e.value("file", std::string{"?"});
      if (e.contains("line") && e["line"].is_number())
        where += fmt::format(":{}", e["line"].get<long>());
      problems.push_back({where, "failed to load: " + e.value("message", std::string{"unknown error"})});
    }
    for (auto& s : reg->streams) {
      stream_info info;
      info.file = s.value("file", std::string{"?"});
      info.language = lang;
      if (s.contains("config") && s["config"].is_object()) {
        info.config = s["config"];
        info.name = info.config.value("name", std::string{});
        info.worker_can_access = info.config.value("canAccess", false);
        info.config.erase("canAccess");
      }
      add_stream(std::move(info), problems);
    }
    if (!auth_file_.empty() && auth_language_ == lang && !reg->auth && reg->errors.empty())
      problems.push_back({auth_file_, "exports no stream authenticate hook (`authenticate`, or "
                                      "`streamAuth.authenticate` of the default export)"});
    for (auto& s : reg->steps) {
      std::string why;
      auto file = s.value("file", std::string{"?"});
      if (auto cfg = parse_step_config(s["config"], file, lang, why))
        steps_.push_back(std::move(*cfg));
      else
        problems.push_back({file, why});
    }
  }
  return std::nullopt;
}

void runtime::watch(const caf::actor& supervisor) {
  // The runtime is passed as an argument, not captured: CAF 0.17 dereferences a
  // null tuple when spawning a function without arguments (UBSan reports it).
  if (!watcher_)
    watcher_ = sys_->spawn(
      [](caf::event_based_actor* self, runtime* rt) -> caf::behavior {
        self->set_down_handler([rt](caf::down_msg& dm) {
          if (!dm.reason || dm.reason == caf::exit_reason::user_shutdown)
            return;
          std::lock_guard<std::mutex> g(rt->mtx_);
          if (!rt->fatal_)
            rt->fatal_ = describe(dm.reason);
          rt->cv_.notify_all();
        });
        return {[self](caf::actor& a) { self->monitor(a); }};
      },
      this);
  caf::anon_send(watcher_, supervisor);
}

void runtime::start_steps() {
  auto& p = *project_;
  for (auto& s : steps_) {
    svc_.steps.emplace(s.name, s);
    for (auto& t : s.subscribes)
      topics_->add_subscriber(t, s.name);
    metrics_.steps.emplace(s.name, std::make_unique<step_metrics>());
  }
  std::vector<child_spec> children;
  std::vector<cron_entry> crons;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    auto& cfg = svc_.steps.at(steps_[i].name);
    slots_.push_back(std::make_unique<actor_slot>());
    auto* slot = slots_.back().get();
    if (cfg.kind == step_kind::noop)
      continue;
    svc_.step_slots.emplace(cfg.name, slot);
    actor_slot* pool = pool_of(cfg.language);
    auto policy = child_of(p.step_policies, cfg.name);
    children.push_back(child_spec{
      "step:" + cfg.name,
      [this, &cfg, pool](caf::actor_system& sys) { return spawn_step_actor(sys, svc_, cfg, pool); },
      policy.restart, [slot](const caf::actor& a) { slot->set(a); }, policy.backoff});
    if (cfg.kind == step_kind::api) {
      (void)routes_.add(cfg.method, cfg.path, route_targets_.size());
      route_targets_.push_back(slot);
    }
    if (cfg.kind == step_kind::cron) {
      std::string why;
      crons.push_back(cron_entry{*cron_expr::parse(cfg.cron, why), cfg.name, slot});
    }
  }
  if (!crons.empty())
    children.push_back(child_spec{
      "cron", [crons](caf::actor_system& sys) { return spawn_cron_actor(sys, crons); },
      restart_type::transient, [this](const caf::actor& a) { cron_.set(a); }, std::nullopt});
  steps_sup_ = spawn_supervisor(*sys_, policy_of(p.steps_supervisor, "steps", metrics_),
                                std::move(children));
  watch(steps_sup_);
  // The supervisor's first answer means every child was spawned; each step's
  // answer means it has joined its topics, so no early event is missed.
  caf::scoped_actor self{*sys_};
  self->request(steps_sup_, caf::infinite, ready_atom::value).receive([](std::size_t) {}, [](caf::error&) {});
  for (auto& slot : slots_)
    if (auto a = slot->get())
      self->request(a, caf::infinite, ready_atom::value).receive([](bool) {}, [](caf::error&) {});
}

std::optional<std::string> runtime::serve() {
  auto& p = *project_;
  std::error_code ec;
  fs::create_directories(p.data_dir, ec);
  std::string err;
  db_ = rocks::database::open({p.data_dir, p.durable_sync ? rocks::durability::strict
                                                          : rocks::durability::process},
                              err);
  if (!db_)
    return err;
  store_ = rocks::make_state_store(*db_);
  svc_.state = store_.get();
  queue_ = std::make_unique<rocks::queue_store>(*db_);
  topics_->attach(queue_.get(), &metrics_);
  stream_store_ = std::make_unique<rocks::stream_store>(*db_);
  streams_ = std::make_unique<project_streams>(svc_.streams_by_name, *stream_store_);
  svc_.streams = streams_.get();
  stream_hub_settings hs;
  hs.max_subscriptions = p.stream_max_subscriptions;
  hs.native_auth = native_auth_;
  hs.auth_pool = auth_file_.empty() ? nullptr : pool_of(auth_language_);
  hs.pool_of = [this](step_language lang) { return pool_of(lang); };
  hub_ = spawn_stream_hub(*sys_, svc_, *stream_store_, std::move(hs));
  watch(hub_);
  stream_store_->set_listener([hub = hub_](rocks::stream_event&& ev) { caf::anon_send(hub, std::move(ev)); });
  start_steps();
  http_ = std::make_unique<http::server>(*io_);
  http::server_options ho;
  ho.host = p.host;
  ho.port = p.port;
  ho.body_limit = p.body_limit;
  ho.header_limit = p.header_limit;
  ho.read_timeout = p.read_timeout;
  ho.ws = make_ws_handlers(hub_, native_auth_ || !auth_file_.empty());
  ho.ws_limits.message_limit = p.stream_message_limit;
  ho.ws_limits.send_queue_limit = p.stream_send_queue;
  ho.ws_limits.idle_timeout = p.stream_idle_timeout;
  auto herr = http_->start(ho, make_http_handler(routes_, route_targets_, make_admin_handler(svc_, *queue_)));
  if (!herr.empty())
    return fmt::format("cannot listen on {}:{}: {}", p.host, p.port, herr);
  ready_at_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0_);
  return std::nullopt;
}

std::uint16_t runtime::port() const { return http_ ? http_->port() : 0; }

std::optional<std::string> runtime::fatal() const {
  std::lock_guard<std::mutex> g(mtx_);
  return fatal_;
}

void runtime::notify_stop() {
  std::lock_guard<std::mutex> g(mtx_);
  stop_notified_ = true;
  cv_.notify_all();
}

void runtime::wait_fatal_or_stop() {
  std::unique_lock<std::mutex> g(mtx_);
  cv_.wait(g, [this] { return fatal_ || stop_notified_; });
}

void runtime::stop() {
  if (stopped_ || !project_)
    return;
  stopped_ = true;
  auto& p = *project_;
  if (http_)
    http_->stop(p.drain_timeout);
  if (sys_) {
    if (auto cron = cron_.get())
      caf::anon_send(cron, done_atom::value);
    // Handlers that are running finish (bounded); deliveries not started stay
    // in the queue and run after the next start.
    for (auto& [name, slot] : svc_.step_slots)
      if (auto a = slot->get())
        caf::anon_send(a, drain_atom::value);
    auto deadline = std::chrono::steady_clock::now() + p.drain_timeout;
    while (topics_->running.load() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (auto left = topics_->running.load(); left > 0)
      log::warn("drain timed out; the running deliveries stay queued and run again after a restart",
                {{"running", left}});
    {
      caf::scoped_actor self{*sys_};
      for (auto* a : {&steps_sup_, &workers_sup_, &hub_, &watcher_})
        if (*a)
          self->send_exit(*a, caf::exit_reason::user_shutdown);
      for (auto& [lang, pool] : pools_)
        self->send_exit(pool, caf::exit_reason::user_shutdown);
    }
    steps_sup_ = workers_sup_ = hub_ = watcher_ = nullptr;
    pools_.clear();
    node_pool_.set(nullptr);
    python_pool_.set(nullptr);
    cron_.set(nullptr);
    for (auto& s : slots_)
      s->set(nullptr);
    sys_->await_all_actors_done();
  }
  // Commits what is still submitted (acks of the last handlers) before the
  // actor system and the DB go.
  queue_.reset();
  svc_.streams = nullptr;
  streams_.reset();
  stream_store_.reset();
  if (io_)
    io_->stop();
  http_.reset();
  sys_.reset();
  store_.reset();
  db_.reset();
}

} // namespace motia
