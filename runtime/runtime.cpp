#include "runtime/runtime.hpp"

#include <algorithm>
#include <filesystem>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/cron_actor.hpp"
#include "actors/partition_actor.hpp"
#include "actors/protocol.hpp"
#include "actors/step_actor.hpp"
#include "actors/stream_hub.hpp"
#include "actors/supervisor.hpp"
#include "actors/worker.hpp"
#include "adapters/http/server.hpp"
#include "adapters/process/io_runtime.hpp"
#include "adapters/rocksdb/database.hpp"
#include "adapters/rocksdb/queue_store.hpp"
#include "adapters/rocksdb/stream_store.hpp"
#include "core/blocking_pool.hpp"
#include "core/log.hpp"
#include "runtime/admin.hpp"
#include "runtime/gateway.hpp"
#include "runtime/runtime_env.hpp"
#include "runtime/streams.hpp"
#include "runtime/ws_bridge.hpp"

namespace motia {

namespace fs = std::filesystem;

namespace {

// Calls the gateway's sweep (requests whose answer never came) periodically.
using ticker_actor = caf::typed_actor<caf::reacts_to<timeout_atom>>;

ticker_actor::behavior_type ticker_impl(ticker_actor::pointer self, std::weak_ptr<runtime_env> env) {
  constexpr std::chrono::milliseconds every{250};
  self->delayed_send(self, every, timeout_atom::value);
  return {
    [self, env, every](timeout_atom) {
      if (auto e = env.lock(); e && e->gw)
        e->gw->sweep();
      self->delayed_send(self, every, timeout_atom::value);
    },
  };
}

child_policy child_of(const std::map<std::string, child_policy>& policies, const std::string& name) {
  auto it = policies.find(name);
  return it == policies.end() ? child_policy{} : it->second;
}

supervisor_policy policy_of(const supervisor_settings& s, std::string name, runtime_metrics& m) {
  supervisor_policy p;
  p.strategy = s.strategy;
  p.limits = s.limits;
  p.on_exhausted = s.on_exhausted;
  p.name = std::move(name);
  p.restarts = &m.restarts;
  p.escalations = &m.escalations;
  return p;
}

bool is_python_file(const std::string& f) { return fs::path(f).extension() == ".py"; }

} // namespace

struct runtime::actors {
  caf::actor workers_sup, steps_sup, watcher;
  std::vector<step_actor> steps;
  std::vector<partition_actor> partitions;
};

runtime::runtime(std::vector<step_definition> native) : native_steps_(std::move(native)) {}

runtime::~runtime() { stop(); }

void runtime::add_native_streams(std::vector<stream_definition> streams, stream_authenticator auth) {
  native_streams_ = std::move(streams);
  native_auth_ = std::move(auth);
}

snapshot_ptr runtime::snapshot() const { return env_ ? env_->snapshot.current() : nullptr; }

state_store& runtime::state() { return *env_->state; }

stream_access& runtime::streams() { return *env_->streams; }

runtime_metrics& runtime::metrics() { return env_->metrics; }

std::optional<std::string> runtime::load(const run_options& opts) {
  t0_ = std::chrono::steady_clock::now();
  std::string err;
  auto cfg = load_project_config(opts.project_dir, err);
  if (!cfg)
    return err;
  if (opts.port)
    cfg->port = *opts.port;
  if (opts.host)
    cfg->host = *opts.host;
  if (opts.data_dir)
    cfg->data_dir = fs::absolute(*opts.data_dir);
  project_ = std::make_shared<project_config>(std::move(*cfg));
  auto& p = *project_;
  log::set_threshold(log::parse_level(p.log_level));

  caf_cfg_ = std::make_unique<caf::actor_system_config>();
  // Requests arrive from io threads: 'sharing' wakes workers far faster than
  // the default work stealing (see shared notes), and 2 cores want few threads.
  caf_cfg_->set("scheduler.policy", caf::atom("sharing"));
  caf_cfg_->set("scheduler.max-threads", p.scheduler_threads);
  caf_cfg_->set("logger.verbosity", caf::atom("quiet"));
  caf_cfg_->set("logger.file-verbosity", caf::atom("quiet"));
  caf_cfg_->set("logger.console-verbosity", caf::atom("quiet"));
  add_message_types(*caf_cfg_);
  sys_ = std::make_unique<caf::actor_system>(*caf_cfg_);
  env_ = std::make_shared<runtime_env>();
  env_->pool = std::make_shared<blocking_pool>(p.storage_threads);
  env_->ws = std::make_shared<ws_registry>();
  io_ = std::make_unique<io::io_runtime>(p.io_threads);
  io_->start();
  actors_ = std::make_unique<actors>();

  auto files = discover(p.root);
  std::vector<config_problem> problems;
  snapshot_inputs in;
  in.project = project_;
  in.native_steps = native_steps_;
  in.native_streams = native_streams_;
  in.native_auth = native_auth_;
  in.auth_file = find_stream_auth_file(p, problems);
  if (problems.empty()) {
    if (auto e = start_workers(files, in.auth_file))
      return e;
    std::vector<step_language> langs;
    if (!files.node.empty() || std::any_of(files.streams.begin(), files.streams.end(),
                                           [](auto& f) { return !is_python_file(f); })
        || (!in.auth_file.empty() && !is_python_file(in.auth_file)))
      langs.push_back(step_language::node);
    if (!files.python.empty() || std::any_of(files.streams.begin(), files.streams.end(),
                                             [](auto& f) { return is_python_file(f); })
        || (!in.auth_file.empty() && is_python_file(in.auth_file)))
      langs.push_back(step_language::python);
    if (!langs.empty()) {
      auto wait = std::max(p.node.start_timeout, p.python.start_timeout) + std::chrono::seconds(1);
      std::vector<std::string> failures;
      in.registrations = env_->registrations.wait(langs, wait, failures);
      if (!failures.empty())
        return fmt::format("{}", fmt::join(failures, "\n"));
    }
  }
  auto snap = build_snapshot(in, problems);
  if (!snap)
    return describe_problems(problems);
  auto next = std::make_shared<project_snapshot>(*snap);
  next->generation = 1;
  env_->snapshot.install(std::move(next));
  return std::nullopt;
}

std::optional<std::string> runtime::start_workers(const discovered_files& files, const std::string& auth_file) {
  auto& p = *project_;
  std::vector<child_spec> children;
  std::vector<std::string> node_streams, python_streams;
  for (auto& f : files.streams)
    (is_python_file(f) ? python_streams : node_streams).push_back(f);
  struct language {
    step_language id;
    const worker_settings& settings;
    std::string runner;
    const std::vector<std::string>& files;
    const std::vector<std::string>& streams;
  };
  for (auto& l : {language{step_language::node, p.node, default_node_runner(), files.node, node_streams},
                  language{step_language::python, p.python, default_python_runner(), files.python, python_streams}}) {
    bool auth_here = !auth_file.empty() && is_python_file(auth_file) == (l.id == step_language::python);
    if (l.files.empty() && l.streams.empty() && !auth_here)
      continue;
    auto policy = child_of(p.worker_policies, std::string(to_string(l.id)));
    for (unsigned i = 0; i < l.settings.count; ++i) {
      worker_spec spec;
      spec.language = l.id;
      spec.argv = l.settings.command;
      spec.argv.push_back(l.runner);
      spec.root = p.root.string();
      spec.files = l.files;
      spec.stream_files = l.streams;
      if (auth_here)
        spec.auth_file = auth_file;
      spec.index = i;
      spec.settings = l.settings;
      spec.max_frame = p.max_frame;
      children.push_back(child_spec{
        fmt::format("{}-worker-{}", to_string(l.id), i),
        [env = env_, io = io_.get(), spec](caf::actor_system& sys) {
          return caf::actor_cast<caf::actor>(spawn_worker_proxy(sys, env, *io, spec));
        },
        policy.restart, nullptr, policy.backoff});
    }
  }
  if (children.empty())
    return std::nullopt;
  actors_->workers_sup = spawn_supervisor(*sys_, policy_of(p.workers_supervisor, "workers", env_->metrics),
                                          std::move(children));
  watch(actors_->workers_sup);
  return std::nullopt;
}

std::optional<std::string> runtime::open_stores() {
  auto& p = *project_;
  std::error_code ec;
  fs::create_directories(p.data_dir, ec);
  std::string err;
  std::shared_ptr<rocks::database> db = rocks::database::open(
    {p.data_dir, p.durable_sync ? rocks::durability::strict : rocks::durability::process, p.storage_memory}, err);
  if (!db)
    return err;
  env_->db = db;
  env_->state = rocks::make_state_store(*db);
  env_->queue = std::make_shared<rocks::queue_store>(*db, *env_->pool);
  env_->stream_store = std::make_shared<rocks::stream_store>(*db);
  env_->streams = std::make_shared<project_streams>(env_->snapshot, *env_->stream_store);
  std::weak_ptr<runtime_env> weak = env_;
  env_->queue->set_shards([weak](const std::string& step) -> std::uint16_t {
    auto e = weak.lock();
    auto snap = e ? e->snapshot.current() : nullptr;
    auto* s = snap ? snap->step(step) : nullptr;
    return s ? s->shards : 1;
  });
  // New rows go straight to the partition that owns them.
  env_->queue->set_listener([weak](std::vector<queued_event>&& rows) {
    auto e = weak.lock();
    if (!e || rows.empty())
      return;
    auto key = std::make_pair(rows.front().step, rows.front().shard);
    if (auto p = e->partitions.get(key))
      caf::anon_send(p, rows_atom::value, delivery_batch{key.first, key.second, std::move(rows)});
  });
  for (auto& s : env_->snapshot.current()->steps)
    if (s->cfg.kind == step_kind::event)
      env_->queue->reshard(s->cfg.name, s->shards);
  env_->stream_store->set_listener([weak](rocks::stream_event&& ev) {
    if (auto e = weak.lock(); e && e->hub)
      caf::anon_send(e->hub, stream_change{std::move(ev.stream), std::move(ev.group), std::move(ev.id),
                                           std::move(ev.message)});
  });
  return std::nullopt;
}

void runtime::start_actors() {
  auto& p = *project_;
  auto snap = env_->snapshot.current();
  stream_hub_settings hs;
  hs.max_subscriptions = p.stream_max_subscriptions;
  env_->hub = spawn_stream_hub(*sys_, env_, hs);
  watch(caf::actor_cast<caf::actor>(env_->hub));
  std::vector<child_spec> children;
  std::vector<cron_entry> crons;
  for (auto& info : snap->steps) {
    auto& cfg = info->cfg;
    if (cfg.kind == step_kind::noop)
      continue;
    if (cfg.kind == step_kind::event)
      for (std::uint16_t shard = 0; shard < info->shards; ++shard) {
        partition_settings ps;
        ps.step = cfg.name;
        ps.shard = shard;
        ps.max_handed = std::max<std::size_t>(1024, 4 * cfg.queue.concurrency) / info->shards + 1;
        children.push_back(child_spec{
          fmt::format("partition:{}:{}", cfg.name, shard),
          [env = env_, ps](caf::actor_system& sys) {
            return caf::actor_cast<caf::actor>(spawn_partition_actor(sys, env, ps));
          },
          restart_type::permanent,
          [env = env_, key = std::make_pair(cfg.name, shard)](const caf::actor& a) {
            env->partitions.set(key, caf::actor_cast<partition_actor>(a));
          },
          std::nullopt});
      }
    auto policy = child_of(p.step_policies, cfg.name);
    children.push_back(child_spec{
      "step:" + cfg.name,
      [env = env_, snap, raw = info.get()](caf::actor_system& sys) {
        return caf::actor_cast<caf::actor>(spawn_step_actor(sys, env, snap, raw));
      },
      policy.restart,
      [env = env_, name = cfg.name](const caf::actor& a) { env->steps.set(name, caf::actor_cast<step_actor>(a)); },
      policy.backoff});
    if (cfg.kind == step_kind::cron) {
      std::string why;
      if (auto expr = cron_expr::parse(cfg.cron, why))
        crons.push_back(cron_entry{*expr, cfg.name});
    }
  }
  if (!crons.empty())
    children.push_back(child_spec{
      "cron",
      [env = env_, crons](caf::actor_system& sys) {
        return caf::actor_cast<caf::actor>(spawn_cron_actor(sys, env, crons));
      },
      restart_type::transient, nullptr, std::nullopt});
  children.push_back(child_spec{
    "gateway-timer",
    [weak = std::weak_ptr<runtime_env>(env_)](caf::actor_system& sys) {
      return caf::actor_cast<caf::actor>(sys.spawn(ticker_impl, weak));
    },
    restart_type::permanent, nullptr, std::nullopt});
  actors_->steps_sup = spawn_supervisor(*sys_, policy_of(p.steps_supervisor, "steps", env_->metrics),
                                        std::move(children));
  watch(actors_->steps_sup);
  // The supervisor's answer means every child was spawned; each step's
  // answer means it is running (and told its partitions).
  caf::scoped_actor self{*sys_};
  self->request(actors_->steps_sup, caf::infinite, ready_atom::value).receive([](std::size_t) {}, [](caf::error&) {});
  for (auto& [name, step] : env_->steps.all())
    self->request(step, caf::infinite, ready_atom::value).receive([](bool) {}, [](caf::error&) {});
}

std::optional<std::string> runtime::serve() {
  auto& p = *project_;
  if (auto e = open_stores())
    return e;
  env_->gw = std::make_shared<gateway>(env_);
  env_->gw->set_filter(make_admin_handler(env_));
  start_actors();
  http_ = std::make_unique<http::server>(*io_);
  http::server_options ho;
  ho.host = p.host;
  ho.port = p.port;
  ho.body_limit = p.body_limit;
  ho.header_limit = p.header_limit;
  ho.read_timeout = p.read_timeout;
  ho.ws = make_ws_handlers(env_, env_->snapshot.current()->auth.present());
  ho.ws_limits.message_limit = p.stream_message_limit;
  ho.ws_limits.send_queue_limit = p.stream_send_queue;
  ho.ws_limits.idle_timeout = p.stream_idle_timeout;
  auto gw = env_->gw;
  auto herr = http_->start(ho, [gw](http::request&& req, http::responder_ptr out) {
    gw->handle(std::move(req), std::move(out));
  });
  if (!herr.empty())
    return fmt::format("cannot listen on {}:{}: {}", p.host, p.port, herr);
  ready_at_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0_);
  return std::nullopt;
}

std::uint16_t runtime::port() const { return http_ ? http_->port() : 0; }

void runtime::watch(const caf::actor& supervisor) {
  // The runtime is passed as an argument, not captured: CAF 0.17 dereferences a
  // null tuple when spawning a function without arguments (UBSan reports it).
  if (!actors_->watcher)
    actors_->watcher = sys_->spawn(
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
  caf::anon_send(actors_->watcher, supervisor);
}

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

// Steps finish what runs (bounded by the drain timeout; what has not started
// stays queued), then partitions write their last outcomes. Event-driven:
// each answers when it is done.
void runtime::drain() {
  auto deadline = std::chrono::steady_clock::now() + project_->drain_timeout;
  auto left = [&] {
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()),
                    std::chrono::milliseconds(1));
  };
  caf::scoped_actor self{*sys_};
  std::size_t late = 0;
  auto steps = env_->steps.all();
  for (auto& [name, step] : steps)
    self->send(step, drain_atom::value);
  for (auto& [name, step] : steps) {
    bool done = false;
    self->request(step, left(), drain_atom::value).receive([&](done_atom) { done = true; }, [](caf::error&) {});
    late += done ? 0 : 1;
  }
  if (late > 0)
    log::warn("drain timed out; the running deliveries stay queued and run again after a restart",
              {{"steps", late}});
  for (auto& [key, part] : env_->partitions.all())
    self->request(part, left(), drain_atom::value).receive([](done_atom) {}, [](caf::error&) {});
}

void runtime::stop() {
  if (stopped_ || !project_)
    return;
  stopped_ = true;
  if (http_)
    http_->stop(project_->drain_timeout);
  if (sys_) {
    if (env_->queue)
      drain();
    {
      caf::scoped_actor self{*sys_};
      for (auto* a : {&actors_->steps_sup, &actors_->workers_sup, &actors_->watcher})
        if (*a)
          self->send_exit(*a, caf::exit_reason::user_shutdown);
      if (env_->hub)
        self->send_exit(env_->hub, caf::exit_reason::user_shutdown);
    }
    env_->steps.clear();
    env_->partitions.clear();
    env_->hub = nullptr;
    actors_.reset();
    sys_->await_all_actors_done();
  }
  // The queue commits what is still submitted (the last acks) before the
  // actor system and the DB go; the storage threads finish their tasks.
  if (env_) {
    env_->gw.reset(); // it holds the admin filter, which holds env_
    env_->queue.reset();
    env_->streams.reset();
    env_->stream_store.reset();
    env_->state.reset();
  }
  if (io_)
    io_->stop();
  http_.reset();
  if (env_)
    env_->pool.reset();
  sys_.reset();
  if (env_)
    env_->db.reset();
}

} // namespace motia
