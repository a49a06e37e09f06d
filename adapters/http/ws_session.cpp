// One WebSocket connection, continued from an HTTP session after an upgrade
// request: authentication, the handshake, the read loop and a coalescing,
// bounded write path. The only Beast WebSocket code of the server.
//
// Writes: Beast writes one message per operation, so its next layer here
// (flush_stream) only appends each write's bytes to a buffer and completes at
// once; the buffer goes to the socket with one async_write whenever no flush
// is in flight. Frames written meanwhile (Beast's own pongs and close frames
// included) leave together, whole and in order.

#include "adapters/http/server_impl.hpp"
#include "adapters/http/flush_stream.hpp"

#include <atomic>
#include <cstdio>
#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace motia::http::detail {
namespace {

using ws::flush_stream;

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = beast::error_code;

constexpr std::size_t max_close_reason = 123; // RFC 6455: control payload <= 125

bool is_expected_ws(const error_code& ec) {
  // Peers breaking the protocol end their own connection: not our error.
  return &ec.category() == &websocket::make_error_code(websocket::error::closed).category() ||
         is_expected(ec);
}

void append_json_string(std::string& out, std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string first_protocol(const request& req) {
  for (const auto& [name, value] : req.headers) {
    if (name != "sec-websocket-protocol")
      continue;
    auto end = value.find(',');
    std::string_view p(value.data(), end == std::string::npos ? value.size() : end);
    while (!p.empty() && (p.front() == ' ' || p.front() == '\t'))
      p.remove_prefix(1);
    while (!p.empty() && (p.back() == ' ' || p.back() == '\t'))
      p.remove_suffix(1);
    return std::string(p);
  }
  return {};
}

std::atomic<std::uint64_t> next_id{1};

template <class F>
void call_guarded(const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "motia http: websocket %s handler threw: %s\n", what, e.what());
  } catch (...) {
    std::fprintf(stderr, "motia http: websocket %s handler threw\n", what);
  }
}

/// One WebSocket connection.
///
/// Thread-safety: send, close, shutdown and force_close may be called from any
/// thread: send appends to `queue_` under `mu_` and posts a pump to the strand
/// only when none is active; the others post to the strand. Everything else
/// runs on the strand.
class ws_session final : public ws_connection,
                         public connection,
                         public std::enable_shared_from_this<ws_session> {
public:
  ws_session(tcp::socket&& s, std::string preread, request&& req, std::shared_ptr<server_state> state)
      : ws_(std::move(s), std::move(preread)), deadline_(ws_.get_executor()), state_(std::move(state)),
        handlers_(state_->opts.ws), limits_(state_->opts.ws_limits), req_(std::move(req)),
        id_(next_id.fetch_add(1)) {}

  ~ws_session() override {
    if (registered_)
      state_->remove(this);
  }

  /// Registers with the server and starts; closes the socket if it is stopping.
  void run() {
    ws_.next_layer().set_owner(weak_from_this());
    if (!state_->add(this, weak_from_this())) {
      error_code ignored;
      beast::get_lowest_layer(ws_).close(ignored);
      return;
    }
    registered_ = true;
    net::dispatch(ws_.get_executor(), [self = shared_from_this()] { self->on_run(); });
  }

  std::uint64_t id() const override { return id_; }

  void send(std::shared_ptr<const std::string> text) override {
    if (!text)
      return;
    std::size_t size = text->size();
    bool start_pump = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_)
        return;
      if (queued_.load(std::memory_order_relaxed) + size <= limits_.send_queue_limit) {
        queue_.push_back(std::move(text));
        queued_.fetch_add(size, std::memory_order_relaxed);
        start_pump = !pump_active_;
        pump_active_ = true;
      } else { // dropped, and nothing more is queued from now on
        closing_ = true;
        queue_.clear();
      }
    }
    if (!text) {
      if (start_pump)
        net::post(ws_.get_executor(), [self = shared_from_this()] { self->pump(); });
      return;
    }
    post_close(1008, "send queue full: the client reads too slowly");
  }

  void close(std::uint16_t code, std::string reason) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_)
        return;
      closing_ = true;
      queue_.clear();
    }
    post_close(code, std::move(reason));
  }

  void shutdown() override { post_close(1001, "server shutting down"); }

  void force_close() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->finish(); });
  }

  void on_auth(ws_auth_result r) {
    net::post(ws_.get_executor(), [self = shared_from_this(), r = std::move(r)]() mutable {
      if (self->finished_ || self->phase_ != phase::authenticating)
        return;
      if (r.accepted)
        return self->do_accept(r.context.empty() ? std::string("null") : std::move(r.context));
      unsigned status = r.status >= 400 && r.status <= 599 ? r.status : 401;
      self->refuse(status, "unauthorized", r.message);
    });
  }

private:
  enum class phase { authenticating, accepting, open, refusing };

  void on_run() {
    arm_deadline(limits_.handshake_timeout);
    if (!handlers_.authenticate)
      return do_accept("null");
    call_guarded("authenticate", [&] { handlers_.authenticate(req_, make_auth_done()); });
  }

  ws_auth_done make_auth_done();

  void do_accept(std::string context) {
    phase_ = phase::accepting;
    context_ = std::move(context);
    ws_.read_message_max(limits_.message_limit);
    ws_.auto_fragment(false);
    ws_.set_option(websocket::stream_base::timeout{limits_.handshake_timeout, limits_.idle_timeout, true});
    if (auto proto = first_protocol(req_); !proto.empty())
      ws_.set_option(websocket::stream_base::decorator(
          [proto = std::move(proto)](websocket::response_type& res) {
            res.set(beast::http::field::sec_websocket_protocol, proto);
          }));
    upgrade_.version(11);
    upgrade_.method_string(req_.method);
    upgrade_.target(req_.query.empty() ? req_.path : req_.path + "?" + req_.query);
    for (const auto& [name, value] : req_.headers)
      upgrade_.insert(name, value);
    ws_.async_accept(upgrade_, [self = shared_from_this()](error_code ec) { self->on_accept(ec); });
  }

  void on_accept(error_code ec) {
    if (finished_)
      return;
    if (ec)
      return fail(ec, "websocket accept");
    phase_ = phase::open;
    opened_ = true;
    ++deadline_gen_;
    deadline_.cancel();
    if (handlers_.on_open)
      call_guarded("open", [&] { handlers_.on_open(shared_from_this(), context_); });
    if (pending_close_)
      start_close(pending_close_->first, pending_close_->second);
    do_read();
  }

  void do_read() {
    ws_.async_read(rbuf_, [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (finished_)
      return;
    if (ec)
      return fail(ec, "websocket read");
    if (!close_started_) {
      if (ws_.got_binary()) {
        start_close(1003, "binary messages are not supported");
      } else if (handlers_.on_message) {
        std::string text = beast::buffers_to_string(rbuf_.data());
        call_guarded("message", [&] { handlers_.on_message(shared_from_this(), std::move(text)); });
      }
    }
    rbuf_.clear();
    do_read(); // also during the close handshake: Beast reads the peer's close frame here
  }

  // Takes what send() queued, one batch at a time, and frames each message
  // straight into the layer (no Beast operation per message: at 1,000
  // subscribers that was most of the cost); the batch leaves in one write.
  void pump() {
    for (;;) {
      batch_.clear();
      next_ = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!closing_)
          batch_.swap(queue_);
        if (batch_.empty()) {
          pump_active_ = false;
          return;
        }
      }
      if (!write_batch())
        return; // resumed by the layer when it has room, or ended
    }
  }

  // False when the pump must stop: no room in the layer (it calls back), or
  // the connection is closing (Beast may have sent its close frame: no data
  // frame may follow it).
  bool write_batch() {
    auto& layer = ws_.next_layer();
    layer.cork();
    while (next_ < batch_.size()) {
      if (finished_ || close_started_ || !ws_.is_open()) {
        layer.uncork();
        batch_.clear();
        return false;
      }
      bool room = layer.append_text_frame(*batch_[next_]);
      queued_.fetch_sub(batch_[next_]->size(), std::memory_order_relaxed);
      batch_[next_++].reset();
      if (!room) {
        layer.uncork();
        layer.on_room([self = shared_from_this()] {
          if (self->write_batch())
            self->pump();
        });
        return false;
      }
    }
    layer.uncork();
    return true;
  }

  void post_close(std::uint16_t code, std::string reason) {
    net::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] {
      self->start_close(code, reason);
    });
  }

  // Server-initiated close: a close frame after the messages already handed
  // to Beast, then the read loop sees the peer's answer (or the deadline).
  void start_close(std::uint16_t code, const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
      queue_.clear();
    }
    if (finished_ || close_started_)
      return;
    if (phase_ == phase::accepting) { // answered once the handshake is done
      if (!pending_close_)
        pending_close_.emplace(code, reason);
      return;
    }
    if (phase_ != phase::open)
      return finish();
    close_started_ = true;
    ws_.next_layer().uncork();
    arm_deadline(limits_.handshake_timeout);
    websocket::close_reason cr(static_cast<websocket::close_code>(code),
                               beast::string_view(reason.data(), std::min(reason.size(), max_close_reason)));
    ws_.async_close(cr, [self = shared_from_this()](error_code) {});
  }

  // A refused upgrade: the HTTP error, then linger so it is not reset away.
  void refuse(unsigned status, std::string_view code, std::string_view message) {
    phase_ = phase::refusing;
    std::string body = R"({"error":{"code":")";
    body.append(code).append(R"(","message":)");
    append_json_string(body, message);
    body += "}}";
    auto reason = beast::http::obsolete_reason(beast::http::int_to_status(status));
    refusal_ = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason.data(), reason.size()) +
               "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\nConnection: close\r\n\r\n" + body;
    arm_deadline(std::min<std::chrono::milliseconds>(limits_.handshake_timeout, std::chrono::seconds(1)));
    net::async_write(beast::get_lowest_layer(ws_), net::buffer(refusal_),
                     [self = shared_from_this()](error_code ec, std::size_t) {
                       if (self->finished_)
                         return;
                       if (ec)
                         return self->fail(ec, "write");
                       error_code ignored;
                       beast::get_lowest_layer(self->ws_).shutdown(tcp::socket::shutdown_send, ignored);
                       self->linger();
                     });
  }

  void linger() {
    beast::get_lowest_layer(ws_).async_read_some(
        net::buffer(scratch_), [self = shared_from_this()](error_code ec, std::size_t) {
          if (self->finished_)
            return;
          if (ec)
            return self->finish();
          self->linger();
        });
  }

  // Bounds the handshake (authentication included), a server close and the
  // linger after a refusal. A generation number makes a re-armed timer's
  // earlier expiry harmless.
  void arm_deadline(std::chrono::milliseconds after) {
    auto gen = ++deadline_gen_;
    deadline_.expires_after(after);
    deadline_.async_wait([self = shared_from_this(), gen](error_code ec) {
      if (!ec && gen == self->deadline_gen_)
        self->finish();
    });
  }

  void fail(error_code ec, const char* what) {
    if (!is_expected_ws(ec))
      std::fprintf(stderr, "motia http: %s: %s\n", what, ec.message().c_str());
    finish();
  }

  // The one end of every session: closes the socket, unregisters, and tells
  // the runtime once if the connection had opened.
  void finish() {
    if (finished_)
      return;
    finished_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
      queue_.clear();
    }
    ++deadline_gen_;
    deadline_.cancel();
    error_code ignored;
    auto& socket = beast::get_lowest_layer(ws_);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    if (registered_) {
      registered_ = false;
      state_->remove(this);
    }
    if (opened_ && handlers_.on_close)
      call_guarded("close", [&] { handlers_.on_close(id_); });
  }

  websocket::stream<flush_stream> ws_;
  net::steady_timer deadline_;
  std::uint64_t deadline_gen_ = 0;
  std::shared_ptr<server_state> state_;
  const ws_handlers& handlers_;
  const ws_options& limits_;
  request req_;
  websocket::request_type upgrade_;
  std::string context_;
  std::string refusal_;
  char scratch_[512];
  beast::flat_buffer rbuf_;
  const std::uint64_t id_;
  phase phase_ = phase::authenticating;
  std::optional<std::pair<std::uint16_t, std::string>> pending_close_;
  bool registered_ = false;
  bool opened_ = false;
  bool close_started_ = false;
  bool finished_ = false;

  // The write path: queue_, closing_ and pump_active_ under mu_; batch_ and
  // next_ on the strand; queued_ counts bytes queued and not yet in the layer.
  std::mutex mu_;
  std::vector<std::shared_ptr<const std::string>> queue_;
  bool closing_ = false;
  bool pump_active_ = false;
  std::atomic<std::size_t> queued_{0};
  std::vector<std::shared_ptr<const std::string>> batch_;
  std::size_t next_ = 0;
};

/// The `done` given to authenticate: answers once, from any thread; dropped
/// unanswered it refuses with 500 rather than leaving the client waiting.
class auth_call {
public:
  explicit auth_call(std::weak_ptr<ws_session> s) : session_(std::move(s)) {}
  ~auth_call() {
    if (!answered_.exchange(true))
      if (auto s = session_.lock())
        s->on_auth({false, {}, 500, "the upgrade was dropped without an answer"});
  }
  void answer(ws_auth_result r) {
    if (!answered_.exchange(true))
      if (auto s = session_.lock())
        s->on_auth(std::move(r));
  }

private:
  std::weak_ptr<ws_session> session_;
  std::atomic<bool> answered_{false};
};

ws_auth_done ws_session::make_auth_done() {
  auto call = std::make_shared<auth_call>(weak_from_this());
  return [call](ws_auth_result r) { call->answer(std::move(r)); };
}

} // namespace

void start_ws_session(tcp::socket&& socket, std::string buffered, request&& upgrade,
                      std::shared_ptr<server_state> state) {
  std::make_shared<ws_session>(std::move(socket), std::move(buffered), std::move(upgrade), std::move(state))
      ->run();
}

} // namespace motia::http::detail
