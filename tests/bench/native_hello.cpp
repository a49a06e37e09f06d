// The benchmark's native system: GET /hello answered by a C++ step inside the
// runtime, the same handler as projects/js-hello/steps/hello.step.js.
// Run: motia-bench-native run <empty-dir> --port N --data-dir D --quiet
#include "motia/app.hpp"

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

  return app.main(argc, argv);
}
