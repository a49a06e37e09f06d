#pragma once

// Private to ws_session.cpp: the next layer of its Beast WebSocket stream,
// which coalesces the frames Beast writes one at a time into few socket
// writes (see ws_session.cpp's header comment). Beast and Asio inside: include
// it from ws_session.cpp only.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace motia::http::detail::ws {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = beast::error_code;

// Writes complete at once while the layer holds less than this; above it a
// write completes only after the flush, which stops the session's pump.
constexpr std::size_t layer_high_water = 64 * 1024;
// A flush buffer grown past this is given back once written.
constexpr std::size_t layer_keep_capacity = 256 * 1024;

/// A completion the layer holds back: a write waiting for room, or a
/// teardown waiting for the output to drain.
class parked_op {
public:
  virtual ~parked_op() = default;
  virtual void run(error_code ec) = 0;
};

template <class Handler>
class parked_write final : public parked_op {
public:
  parked_write(Handler h, std::size_t n, tcp::socket& s) : h_(std::move(h)), n_(n), s_(s) {}
  void run(error_code ec) override {
    net::post(s_.get_executor(), beast::bind_handler(std::move(h_), ec, ec ? 0 : n_));
  }

private:
  Handler h_;
  std::size_t n_;
  tcp::socket& s_;
};

template <class Handler>
class parked_teardown final : public parked_op {
public:
  parked_teardown(Handler h, tcp::socket& s) : h_(std::move(h)), s_(s) {}
  void run(error_code ec) override { net::post(s_.get_executor(), beast::bind_handler(std::move(h_), ec)); }

private:
  Handler h_;
  tcp::socket& s_;
};

/// The next layer of the websocket stream: coalesces writes (see the file
/// comment), serves bytes read ahead by the HTTP session first, and flushes
/// before the TCP teardown so a close frame is never cut off.
///
/// Thread-safety: used only on the connection's strand. `owner` is locked for
/// each flush so the layer outlives its socket operation.
class flush_stream {
public:
  using executor_type = tcp::socket::executor_type;

  flush_stream(tcp::socket&& s, std::string preread) : socket_(std::move(s)), preread_(std::move(preread)) {}

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  tcp::socket& next_layer() noexcept { return socket_; }
  const tcp::socket& next_layer() const noexcept { return socket_; }
  void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (preread_.empty())
            return socket_.async_read_some(b, std::move(handler));
          std::size_t n = net::buffer_copy(b, net::buffer(preread_));
          preread_.erase(0, n);
          net::post(socket_.get_executor(), beast::bind_handler(std::move(handler), error_code{}, n));
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) { start_write(b, std::move(handler)); }, token,
        buffers);
  }

  /// While corked, writes only append (up to the high-water mark): the
  /// session corks around a batch of messages so that they leave together.
  void cork() { corked_ = true; }
  void uncork() {
    corked_ = false;
    flush();
  }

  /// Appends one unmasked, unfragmented text frame carrying `payload` (what
  /// Beast would write for a server's text message without compression),
  /// without a Beast operation per message. Safe between Beast's own writes:
  /// the layer takes each of them whole, so frames never interleave. Returns
  /// false when the layer is above its high-water mark: the caller then waits
  /// for `on_room` before appending more.
  bool append_text_frame(const std::string& payload) {
    if (failed_)
      return true; // the read loop reports the failure and ends the session
    unsigned char header[10];
    std::size_t n = 2;
    header[0] = 0x81; // FIN + text
    const auto size = payload.size();
    if (size < 126) {
      header[1] = static_cast<unsigned char>(size);
    } else if (size <= 0xFFFF) {
      header[1] = 126;
      header[2] = static_cast<unsigned char>(size >> 8);
      header[3] = static_cast<unsigned char>(size);
      n = 4;
    } else {
      header[1] = 127;
      for (int i = 0; i < 8; ++i)
        header[2 + i] = static_cast<unsigned char>(static_cast<std::uint64_t>(size) >> (56 - 8 * i));
      n = 10;
    }
    pending_.append(reinterpret_cast<const char*>(header), n);
    pending_.append(payload);
    if (!corked_ || pending_.size() >= layer_high_water)
      flush();
    return pending_.size() + out_.size() <= layer_high_water;
  }

  /// Calls `f` (posted) once the layer is back under its high-water mark, or
  /// has failed. One waiter at a time.
  void on_room(std::function<void()> f) {
    room_ = std::move(f);
    wake_room();
  }

  /// Flushes, sends FIN, then reads until the peer's FIN before closing:
  /// closing with unread input would reset the connection and could destroy
  /// the close frame before the peer reads it. (Beast 1.74's own TCP teardown
  /// stops draining after the first read that returns data.) The websocket
  /// stream's close timeout bounds the wait by closing the socket.
  template <class Handler>
  void start_teardown(beast::role_type, Handler&& handler) {
    using op = parked_teardown<std::decay_t<Handler>>;
    teardown_ = std::make_unique<op>(std::forward<Handler>(handler), socket_);
    corked_ = false;
    flush();
    if (failed_ || (!flushing_ && pending_.empty()))
      begin_drain();
  }

private:
  template <class ConstBuffers, class Handler>
  void start_write(const ConstBuffers& b, Handler&& handler) {
    if (failed_)
      return net::post(socket_.get_executor(), beast::bind_handler(std::move(handler), failed_, 0));
    std::size_t n = 0;
    for (auto it = net::buffer_sequence_begin(b); it != net::buffer_sequence_end(b); ++it) {
      net::const_buffer cb(*it);
      pending_.append(static_cast<const char*>(cb.data()), cb.size());
      n += cb.size();
    }
    if (!corked_ || pending_.size() >= layer_high_water)
      flush();
    if (pending_.size() + out_.size() <= layer_high_water)
      return net::post(socket_.get_executor(), beast::bind_handler(std::move(handler), error_code{}, n));
    write_ = std::make_unique<parked_write<std::decay_t<Handler>>>(std::move(handler), n, socket_);
  }

  void flush() {
    if (flushing_ || pending_.empty() || failed_)
      return;
    auto keep = owner_.lock();
    if (!keep)
      return; // the session is being destroyed
    flushing_ = true;
    out_.swap(pending_);
    net::async_write(socket_, net::buffer(out_),
                     [this, keep = std::move(keep)](error_code ec, std::size_t) { on_flush(ec); });
  }

  void on_flush(error_code ec) {
    flushing_ = false;
    out_.clear();
    if (out_.capacity() > layer_keep_capacity)
      std::string().swap(out_);
    if (ec) {
      failed_ = ec;
      pending_.clear();
    }
    flush();
    if (write_ && (failed_ || pending_.size() + out_.size() <= layer_high_water))
      std::exchange(write_, nullptr)->run(failed_);
    wake_room();
    if (teardown_ && !draining_ && (failed_ || (!flushing_ && pending_.empty())))
      begin_drain();
  }

  void wake_room() {
    if (room_ && (failed_ || pending_.size() + out_.size() <= layer_high_water))
      net::post(socket_.get_executor(), std::exchange(room_, nullptr));
  }

  void begin_drain() {
    draining_ = true;
    error_code ec = failed_;
    if (!ec)
      socket_.shutdown(tcp::socket::shutdown_send, ec);
    auto keep = owner_.lock();
    if (ec || !keep)
      return end_teardown(ec ? ec : net::error::operation_aborted);
    preread_.clear();
    drain(std::move(keep));
  }

  void drain(std::shared_ptr<void> keep) {
    socket_.async_read_some(net::buffer(drain_buf_), [this, keep](error_code ec, std::size_t) mutable {
      if (!ec)
        return drain(std::move(keep));
      end_teardown(ec == net::error::eof ? error_code{} : ec);
    });
  }

  void end_teardown(error_code ec) {
    error_code ignored;
    socket_.close(ignored);
    if (teardown_)
      std::exchange(teardown_, nullptr)->run(ec);
  }

  tcp::socket socket_;
  std::string preread_; // bytes after the upgrade request, read by the HTTP session
  std::string pending_; // written by Beast, not yet handed to the socket
  std::string out_;     // being written to the socket
  bool flushing_ = false;
  bool corked_ = false;
  bool draining_ = false;
  char drain_buf_[2048];
  error_code failed_;
  std::unique_ptr<parked_op> write_;
  std::function<void()> room_; // a pump waiting for room
  std::unique_ptr<parked_op> teardown_;
  std::weak_ptr<void> owner_;
};

// Found by argument-dependent lookup from Beast's close and fail paths.
template <class Handler>
void async_teardown(beast::role_type role, flush_stream& s, Handler&& handler) {
  s.start_teardown(role, std::forward<Handler>(handler));
}

} // namespace motia::http::detail::ws
