#include "adapters/http/server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "adapters/http/server_impl.hpp"
#include "core/router.hpp"
#include "adapters/process/io_runtime_impl.hpp"

namespace motia::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace detail {

bool server_state::add(connection* c, std::weak_ptr<connection> w) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_)
    return false;
  conns_.emplace(c, std::move(w));
  return true;
}

void server_state::remove(connection* c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conns_.erase(c) != 0 && conns_.empty())
    empty_.notify_all();
}

void server_state::begin_stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
}

bool server_state::stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

std::vector<std::shared_ptr<connection>> server_state::live() const {
  std::vector<std::shared_ptr<connection>> out;
  std::lock_guard<std::mutex> lock(mu_);
  out.reserve(conns_.size());
  for (const auto& [raw, weak] : conns_)
    if (auto c = weak.lock())
      out.push_back(std::move(c));
  return out;
}

bool server_state::wait_empty_for(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return empty_.wait_for(lock, timeout, [this] { return conns_.empty(); });
}


bool split_target(std::string_view target, std::string& path, std::string& query) {
  auto q = target.find('?');
  std::string_view raw = target.substr(0, q);
  query.assign(q == std::string_view::npos ? std::string_view{} : target.substr(q + 1));
  // Absolute-form ("http://host/p", sent to proxies) routes like its path.
  if (!raw.empty() && raw.front() != '/' && raw != "*") {
    auto scheme = raw.find("://");
    if (scheme != std::string_view::npos) {
      auto slash = raw.find('/', scheme + 3);
      raw = slash == std::string_view::npos ? std::string_view{"/"} : raw.substr(slash);
    }
  }
  // The path stays encoded: the router matches raw segments and decodes each
  // captured parameter once, so "%2F" in a parameter cannot become a new
  // segment and "%2541" is not decoded twice. Bad escapes and an escaped NUL
  // (which would cut the path short for C-string consumers) are refused here.
  auto decoded = motia::percent_decode(raw);
  if (!decoded || decoded->find('\0') != std::string::npos)
    return false;
  path.assign(raw);
  return true;
}

} // namespace detail

namespace {

/// Accepts connections and hands each to a session on its own strand.
class listener : public std::enable_shared_from_this<listener> {
public:
  listener(net::io_context& ctx, std::shared_ptr<detail::server_state> state)
      : ctx_(ctx), acceptor_(net::make_strand(ctx)), retry_(acceptor_.get_executor()),
        state_(std::move(state)) {}

  /// Opens, binds and listens. Returns an empty string or why it failed.
  std::string open(const std::string& host, std::uint16_t port) {
    error_code ec;
    auto addr = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec)
      return "bad host '" + host + "': " + ec.message();
    tcp::endpoint ep(addr, port);
    std::string where = host + ":" + std::to_string(port);
    if (acceptor_.open(ep.protocol(), ec); ec)
      return "open " + where + ": " + ec.message();
    if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec)
      return "set reuse_address " + where + ": " + ec.message();
    if (acceptor_.bind(ep, ec); ec)
      return "bind " + where + ": " + ec.message();
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec)
      return "listen " + where + ": " + ec.message();
    port_ = acceptor_.local_endpoint(ec).port();
    return {};
  }

  std::uint16_t port() const { return port_; }

  void run() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
  }

  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      error_code ec;
      self->acceptor_.close(ec);
      self->retry_.cancel();
    });
  }

private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ctx_),
                           [self = shared_from_this()](error_code ec, tcp::socket socket) {
                             self->on_accept(ec, std::move(socket));
                           });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open())
      return;
    if (ec)
      return backoff();
    detail::start_session(std::move(socket), state_);
    do_accept();
  }

  // Out of descriptors (EMFILE) and the like: accepting again at once would spin.
  void backoff() {
    retry_.expires_after(std::chrono::milliseconds(50));
    retry_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec && self->acceptor_.is_open())
        self->do_accept();
    });
  }

  net::io_context& ctx_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  std::shared_ptr<detail::server_state> state_;
  std::uint16_t port_ = 0;
};

} // namespace

struct server::impl {
  explicit impl(io::io_runtime& r) : io(r) {}
  io::io_runtime& io;
  std::shared_ptr<detail::server_state> state;
  std::shared_ptr<listener> acceptor;
  bool stopped = false;
};

server::server(io::io_runtime& io) : impl_(std::make_shared<impl>(io)) {}

server::~server() { stop(std::chrono::milliseconds{0}); }

std::string server::start(const server_options& opts, request_handler handler) {
  if (impl_->acceptor)
    return "server already started";
  if (!handler)
    return "server needs a request handler";
  auto state = std::make_shared<detail::server_state>(opts, std::move(handler));
  auto l = std::make_shared<listener>(io::io_context_of(impl_->io), state);
  if (auto err = l->open(opts.host, opts.port); !err.empty())
    return err;
  impl_->state = std::move(state);
  impl_->acceptor = std::move(l);
  impl_->acceptor->run();
  return {};
}

std::uint16_t server::port() const { return impl_->acceptor ? impl_->acceptor->port() : 0; }

void server::stop(std::chrono::milliseconds grace) {
  auto& im = *impl_;
  if (!im.acceptor || im.stopped)
    return;
  im.stopped = true;
  im.state->begin_stop();
  im.acceptor->close();
  for (auto& c : im.state->live())
    c->shutdown();
  // Waiting only makes sense if io threads can run the closes we posted; from
  // an io thread (or with the runtime stopped) it would just burn the grace.
  auto& ctx = io::io_context_of(im.io);
  bool can_wait = !ctx.stopped() && !ctx.get_executor().running_in_this_thread();
  if (can_wait && im.state->wait_empty_for(grace))
    return;
  for (auto& c : im.state->live())
    c->force_close();
  if (can_wait)
    im.state->wait_empty_for(std::chrono::seconds(1));
}

} // namespace motia::http
