// A project with native (C++) steps: the same runtime, with steps compiled in.
// Run: motia-native-example run examples/native
#include "motia/app.hpp"

int main(int argc, char** argv) {
  motia::app app;

  app.add_step({{{"type", "api"}, {"name", "add"}, {"path", "/add/:a/:b"}, {"method", "GET"},
                 {"emits", {"sum.computed"}}},
                [](const motia::api_request& req, motia::context& ctx) {
                  auto a = std::stoll(req.path_params()["a"].get<std::string>());
                  auto b = std::stoll(req.path_params()["b"].get<std::string>());
                  ctx.emit("sum.computed", {{"a", a}, {"b", b}, {"sum", a + b}});
                  return motia::api_response{200, {}, {{"sum", a + b}}};
                }});

  motia::step_definition record;
  record.config = {{"type", "event"}, {"name", "record-sum"}, {"subscribes", {"sum.computed"}}};
  record.event = [](const motia::json& input, motia::context& ctx) {
    auto key = std::to_string(input["a"].get<long long>()) + "+" + std::to_string(input["b"].get<long long>());
    ctx.state().set("sums", key, input["sum"]);
    ctx.logger().info("sum recorded", {{"key", key}});
  };
  app.add_step(std::move(record));

  return app.main(argc, argv);
}
