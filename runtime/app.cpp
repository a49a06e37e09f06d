#include "motia/app.hpp"

#include "runtime/app_impl.hpp"

namespace motia {

app::app() : impl_(std::make_unique<impl>()) {}

app::~app() { stop(); }

void app::add_step(step_definition def) { impl_->native.push_back(std::move(def)); }

void app::add_stream(stream_definition def) { impl_->streams.push_back(std::move(def)); }

void app::set_stream_auth(stream_authenticator auth) { impl_->auth = std::move(auth); }

std::optional<std::string> app::start(const run_options& opts) {
  impl_->make_runtime();
  auto& rt = *impl_->rt;
  if (auto e = rt.load(opts)) {
    impl_->rt.reset();
    return e;
  }
  if (auto e = rt.serve()) {
    impl_->rt.reset();
    return e;
  }
  if (!opts.quiet && impl_->summary)
    impl_->summary(rt);
  return std::nullopt;
}

std::uint16_t app::port() const { return impl_->rt ? impl_->rt->port() : 0; }

state_store& app::state() { return impl_->rt->state(); }

stream_access& app::streams() { return impl_->rt->streams(); }

void app::stop() {
  if (impl_->rt) {
    impl_->rt->stop();
    impl_->rt.reset();
  }
}

void app::wait() {
  if (impl_->rt)
    impl_->rt->wait_fatal_or_stop();
}

} // namespace motia
