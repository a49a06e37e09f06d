// The benchmark's native system: the steps of projects/js/steps as C++ steps
// inside the runtime. GET /hello answers at once; POST /flow {id, t0} emits
// bench.flow.a, flow-a writes state and emits bench.flow.b, flow-b writes state
// and appends `id t0 t1\n` to $BENCH_DONE_FILE (see README.md, "Flow").
// Run: motia-bench-native run <dir without step files> --port N --data-dir D --quiet
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "motia/app.hpp"

namespace {

motia::json flow_record(const motia::json& input, const char* stage) {
  return {{"id", input.at("id")}, {"t0", input.at("t0")}, {"stage", stage}};
}

// One O_APPEND descriptor for the process, one write(2) per line: lines from
// concurrent handlers never interleave. -1 when BENCH_DONE_FILE is unset.
int done_fd() {
  static const int fd = [] {
    const char* file = std::getenv("BENCH_DONE_FILE");
    return file ? ::open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
  }();
  return fd;
}

void report_done(const motia::json& input) {
  if (done_fd() < 0)
    return;
  using namespace std::chrono;
  double t1 = duration<double, std::milli>(system_clock::now().time_since_epoch()).count();
  char line[256];
  int n = std::snprintf(line, sizeof line, "%s %.3f %.3f\n",
                        input.at("id").get<std::string>().c_str(), input.at("t0").get<double>(), t1);
  if (n > 0 && n < static_cast<int>(sizeof line) && ::write(done_fd(), line, n) != n)
    throw std::runtime_error("cannot append to BENCH_DONE_FILE");
}

} // namespace

int main(int argc, char** argv) {
  motia::app app;

  motia::step_definition hello;
  hello.config = {{"type", "api"}, {"name", "hello"}, {"path", "/hello"}, {"method", "GET"},
                  {"emits", motia::json::array()}};
  hello.api = [](const motia::api_request&, motia::context&) {
    motia::api_response res;
    res.body = {{"message", "hello"}};
    return res;
  };
  app.add_step(std::move(hello));

  motia::step_definition start;
  start.config = {{"type", "api"}, {"name", "flow-start"}, {"path", "/flow"}, {"method", "POST"},
                  {"emits", {"bench.flow.a"}}, {"flows", {"bench"}}};
  start.api = [](const motia::api_request& req, motia::context& ctx) {
    const auto& b = req.body();
    if (!b.is_object() || !b.contains("id") || !b["id"].is_string() || !b.contains("t0")
        || !b["t0"].is_number())
      return motia::api_response{400, {}, {{"error", "id (string) and t0 (number) are required"}}};
    ctx.emit("bench.flow.a", {{"id", b["id"]}, {"t0", b["t0"]}});
    return motia::api_response{200, {}, {{"id", b["id"]}}};
  };
  app.add_step(std::move(start));

  motia::step_definition flow_a;
  flow_a.config = {{"type", "event"}, {"name", "flow-a"}, {"subscribes", {"bench.flow.a"}},
                   {"emits", {"bench.flow.b"}}, {"flows", {"bench"}}};
  flow_a.event = [](const motia::json& input, motia::context& ctx) {
    ctx.state().set("bench-flow-a", input.at("id").get<std::string>(), flow_record(input, "a"));
    ctx.emit("bench.flow.b", input);
  };
  app.add_step(std::move(flow_a));

  motia::step_definition flow_b;
  flow_b.config = {{"type", "event"}, {"name", "flow-b"}, {"subscribes", {"bench.flow.b"}},
                   {"emits", motia::json::array()}, {"flows", {"bench"}}};
  flow_b.event = [](const motia::json& input, motia::context& ctx) {
    ctx.state().set("bench-flow-b", input.at("id").get<std::string>(), flow_record(input, "b"));
    report_done(input);
  };
  app.add_step(std::move(flow_b));

  return app.main(argc, argv);
}
