// One HTTP/1.1 connection: keep-alive, pipelining with in-order answers, the
// HTTP-layer errors (400, 413, 431), the read timeout and the hand-off of
// WebSocket upgrades to ws_session.cpp. The only Beast HTTP code of the server;
// server.cpp (listener, stop) needs Asio alone.

#include "adapters/http/server_impl.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace motia::http::detail {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";
// A closing connection keeps reading (and discarding) what the client still
// sends for this long, so our close does not reset the connection and destroy
// the last response before the client has read it (e.g. a 413 mid-upload).
constexpr std::chrono::milliseconds max_linger{1000};

std::string error_body(std::string_view code, std::string_view message) {
  // Only our own constant texts come here: nothing to escape.
  std::string out;
  out.reserve(40 + code.size() + message.size());
  out.append(R"({"error":{"code":")").append(code);
  out.append(R"(","message":")").append(message).append(R"("}})");
  return out;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A handler's header must not be able to inject lines into the response.
bool valid_header(const std::string& name, const std::string& value) {
  return !name.empty() && std::all_of(name.begin(), name.end(), is_token_char) &&
         value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
}

bool has_close_token(const std::string& value) {
  std::string lower(value);
  std::transform(lower.begin(), lower.end(), lower.begin(), ascii_lower);
  return lower.find("close") != std::string::npos;
}

std::string_view to_std(beast::string_view s) { return {s.data(), s.size()}; }

bool is_http_error(const beast::error_code& ec) {
  return &ec.category() == &bhttp::make_error_code(bhttp::error::bad_method).category();
}

class session;

/// Answers request number `seq` of one session. Holds the session alive until
/// it has answered.
class session_responder final : public responder {
public:
  session_responder(std::shared_ptr<session> s, std::uint64_t seq) : session_(std::move(s)), seq_(seq) {}
  ~session_responder() override;
  void send(response r) override;

private:
  std::shared_ptr<session> session_;
  std::uint64_t seq_;
  std::atomic<bool> sent_{false};
};

/// One connection. Everything but post_response, shutdown and force_close
/// runs on the connection's strand; those three only post to it.
class session final : public connection, public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& socket, std::shared_ptr<server_state> state)
      : stream_(std::move(socket)), state_(std::move(state)), opts_(state_->opts),
        ring_(std::max<std::size_t>(1, opts_.max_pipelined)) {}

  ~session() override {
    if (!closed_)
      state_->remove(this);
  }

  void run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::on_run, shared_from_this()));
  }

  void shutdown() override {
    net::post(stream_.get_executor(), beast::bind_front_handler(&session::on_shutdown, shared_from_this()));
  }

  void force_close() override {
    net::post(stream_.get_executor(), beast::bind_front_handler(&session::do_close, shared_from_this()));
  }

  void post_response(std::uint64_t seq, response&& r) {
    net::post(stream_.get_executor(), [self = shared_from_this(), seq, r = std::move(r)]() mutable {
      self->on_response(seq, std::move(r));
    });
  }

private:
  /// A request read and not yet answered, in request order.
  struct slot {
    bhttp::response<bhttp::string_body> res;
    unsigned version = 11;
    bool keep_alive = true;
    bool head = false;
    bool ready = false;
  };

  void on_run() {
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    if (!state_->add(this, weak_from_this()))
      return do_close();
    do_read();
  }

  void do_read() {
    if (reading_ || closed_ || read_eof_ || no_more_requests_ || shutting_down_)
      return;
    if (count_ == ring_.size())
      return; // pipeline full: resume once an answer is written
    // Answers are owed and nothing is buffered: the client waits for us, and a
    // read now would charge our own latency to its read timeout (whose expiry
    // closes the socket). Read again once the queue is empty.
    if (count_ > 0 && buffer_.size() == 0)
      return;
    parser_.emplace();
    parser_->body_limit(opts_.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(opts_.header_limit, UINT32_MAX)));
    reading_ = true;
    stream_.expires_after(opts_.read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&session::on_read_header, shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (closed_)
      return;
    if (ec)
      return on_read_error(ec);
    if (parser_->is_done())
      return on_request();
    // curl and others wait a second for "100 Continue" before sending a body.
    // It can only go out now if no earlier answer is still owed.
    const auto& h = parser_->get();
    if (count_ == 0 && !writing_ && h.version() >= 11 &&
        beast::iequals(h[bhttp::field::expect], "100-continue")) {
      writing_ = true;
      stream_.expires_after(opts_.read_timeout);
      return net::async_write(stream_, net::buffer(continue_line, sizeof continue_line - 1),
                              beast::bind_front_handler(&session::on_continue, shared_from_this()));
    }
    do_read_body();
  }

  void on_continue(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (closed_)
      return;
    if (ec)
      return fail(ec, "write");
    if (shutting_down_)
      return do_close();
    do_read_body();
  }

  void do_read_body() {
    reading_ = true;
    stream_.expires_after(opts_.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_read_body, shared_from_this()));
  }

  void on_read_body(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (closed_)
      return;
    if (ec)
      return on_read_error(ec);
    on_request();
  }

  void on_read_error(beast::error_code ec) {
    // The client stopped sending (or stop() shut our reading side): answer
    // what is owed, then close.
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message || shutting_down_) {
      read_eof_ = true;
      if (count_ == 0 && !writing_)
        do_close();
      return;
    }
    if (ec == bhttp::error::body_limit)
      return reject(413, "payload_too_large",
                    "request body is larger than " + std::to_string(opts_.body_limit) + " bytes");
    if (ec == bhttp::error::header_limit)
      return reject(431, "headers_too_large",
                    "request headers are larger than " + std::to_string(opts_.header_limit) + " bytes");
    if (is_http_error(ec))
      return reject(400, "bad_request", "malformed HTTP request: " + ec.message());
    return fail(ec, "read");
  }

  void on_request() {
    auto msg = parser_->release();
    parser_.reset();
    if (shutting_down_) { // read before stop() shut the reading side: not served
      read_eof_ = true;
      if (count_ == 0 && !writing_)
        do_close();
      return;
    }
    std::uint64_t seq = head_seq_ + count_;
    slot& s = push_slot();
    s.version = msg.version();
    s.keep_alive = msg.keep_alive();
    s.head = msg.method() == bhttp::verb::head;
    no_more_requests_ = !s.keep_alive;

    request req;
    if (!split_target(to_std(msg.target()), req.path, req.query)) {
      no_more_requests_ = true;
      s.keep_alive = false;
      complete(s, response{400, {}, error_body("bad_request", "bad percent-encoding in the path")});
      return do_write();
    }
    req.method.assign(to_std(msg.method_string()));
    req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& f : msg) {
      std::string name(to_std(f.name_string()));
      std::transform(name.begin(), name.end(), name.begin(), ascii_lower);
      req.headers.emplace_back(std::move(name), std::string(to_std(f.value())));
    }
    if (state_->opts.ws.on_open && websocket::is_upgrade(msg)) {
      if (count_ == 1 && !writing_)
        return hand_off(std::move(req));
      // Its 101 would have to wait behind the answers owed: not worth supporting.
      no_more_requests_ = true;
      s.keep_alive = false;
      complete(s, response{400, {}, error_body("bad_request",
                                               "a WebSocket upgrade must not be pipelined")});
      return do_write();
    }
    req.body = std::move(msg.body());
    dispatch(seq, std::move(req));
    do_read();
  }

  // The WebSocket session takes the socket and what was read after the
  // request; this session ends without closing it.
  void hand_off(request&& req) {
    pop_slot();
    auto data = buffer_.data();
    std::string buffered(static_cast<const char*>(data.data()), data.size());
    buffer_.clear();
    closed_ = true;
    stream_.expires_never();
    start_ws_session(stream_.release_socket(), std::move(buffered), std::move(req), state_);
    state_->remove(this);
  }

  void dispatch(std::uint64_t seq, request&& req) {
    // If the handler throws, its by-value responder dies and answers 500.
    try {
      state_->handler(std::move(req), std::make_shared<session_responder>(shared_from_this(), seq));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "motia http: request handler threw: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "motia http: request handler threw\n");
    }
  }

  // An HTTP-layer error: answered after everything owed, then the connection
  // closes (the parser cannot resynchronise on a broken stream).
  void reject(unsigned status, std::string_view code, const std::string& message) {
    no_more_requests_ = true;
    slot& s = push_slot();
    s.keep_alive = false;
    complete(s, response{status, {}, error_body(code, message)});
    do_write();
  }

  void on_response(std::uint64_t seq, response&& r) {
    if (closed_ || seq < head_seq_ || seq - head_seq_ >= count_)
      return;
    slot& s = ring_[(head_ + (seq - head_seq_)) % ring_.size()];
    if (s.ready)
      return;
    complete(s, std::move(r));
    do_write();
  }

  // Turns the handler's answer into the Beast response of slot `s`.
  void complete(slot& s, response&& r) {
    auto& res = s.res;
    res.version(s.version);
    unsigned status = r.status >= 200 && r.status <= 599 ? r.status : 500;
    res.result(status);
    bool has_type = false;
    for (auto& [name, value] : r.headers) {
      if (!valid_header(name, value) || beast::iequals(name, "content-length") ||
          beast::iequals(name, "transfer-encoding"))
        continue;
      if (beast::iequals(name, "connection")) {
        s.keep_alive = s.keep_alive && !has_close_token(value);
        continue;
      }
      has_type = has_type || beast::iequals(name, "content-type");
      res.insert(name, value);
    }
    bool no_body = status == 204 || status == 304; // must carry neither body nor length
    if (!has_type && !no_body)
      res.set(bhttp::field::content_type, "application/json");
    if (s.head && !no_body) {
      res.content_length(r.body.size()); // HEAD: the GET's length, no body
    } else if (!no_body) {
      res.body() = std::move(r.body);
      res.content_length(res.body().size());
    }
    res.keep_alive(s.keep_alive);
    s.ready = true;
  }

  void do_write() {
    if (writing_ || closed_ || count_ == 0 || !ring_[head_].ready)
      return;
    slot& s = ring_[head_];
    if (shutting_down_ && count_ == 1 && s.keep_alive) { // the last answer before stop closes
      s.keep_alive = false;
      s.res.keep_alive(false);
    }
    writing_ = true;
    stream_.expires_after(opts_.read_timeout);
    bhttp::async_write(stream_, s.res, beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (closed_)
      return;
    if (ec)
      return fail(ec, "write");
    bool keep_alive = pop_slot();
    if (!keep_alive)
      return do_graceful_close();
    if (count_ == 0 && (read_eof_ || shutting_down_))
      return do_close();
    do_write();
    do_read();
  }

  slot& push_slot() {
    slot& s = ring_[(head_ + count_) % ring_.size()];
    ++count_;
    return s;
  }

  bool pop_slot() {
    slot& s = ring_[head_];
    bool keep_alive = s.keep_alive;
    s = slot{};
    head_ = (head_ + 1) % ring_.size();
    --count_;
    ++head_seq_;
    return keep_alive;
  }

  void on_shutdown() {
    if (closed_)
      return;
    shutting_down_ = true;
    if (count_ == 0 && !writing_)
      return do_close();
    // Busy: stop a read-ahead (it ends with EOF) and close after the last answer.
    beast::error_code ec;
    if (reading_)
      stream_.socket().shutdown(tcp::socket::shutdown_receive, ec);
  }

  void do_graceful_close() {
    if (read_eof_ || shutting_down_)
      return do_close();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    linger_until_ = steady::now() + std::min<steady::duration>(opts_.read_timeout, max_linger);
    do_linger();
  }

  void do_linger() {
    auto left = linger_until_ - steady::now();
    if (left <= steady::duration::zero())
      return do_close();
    buffer_.consume(buffer_.size());
    stream_.expires_after(left);
    stream_.async_read_some(buffer_.prepare(4096),
                            beast::bind_front_handler(&session::on_linger, shared_from_this()));
  }

  void on_linger(beast::error_code ec, std::size_t) {
    if (closed_)
      return;
    if (ec)
      return do_close();
    do_linger();
  }

  void fail(beast::error_code ec, const char* what) {
    if (!is_expected(ec))
      std::fprintf(stderr, "motia http: %s: %s\n", what, ec.message().c_str());
    do_close();
  }

  void do_close() {
    if (closed_)
      return;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    // parser_, buffer_ and ring_ stay: a pending read or write still refers to
    // them until its (aborted) completion runs.
    state_->remove(this);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<server_state> state_;
  const server_options& opts_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::vector<slot> ring_; // fixed size: a slot being written never moves
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::uint64_t head_seq_ = 0; // sequence number of ring_[head_]
  steady::time_point linger_until_;
  bool reading_ = false;
  bool writing_ = false;
  bool read_eof_ = false;
  bool no_more_requests_ = false;
  bool shutting_down_ = false;
  bool closed_ = false;
};

session_responder::~session_responder() {
  if (sent_.exchange(true))
    return;
  try {
    session_->post_response(
        seq_, response{500, {}, error_body("internal_error", "the request was dropped without an answer")});
  } catch (...) {
    // Out of memory in a destructor: the connection times out instead.
  }
}

void session_responder::send(response r) {
  if (sent_.exchange(true))
    return;
  session_->post_response(seq_, std::move(r));
}

} // namespace

bool is_expected(const boost::system::error_code& ec) {
  return ec == net::error::operation_aborted || ec == beast::error::timeout ||
         ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == net::error::not_connected ||
         ec == net::error::bad_descriptor;
}

void start_session(tcp::socket&& socket, std::shared_ptr<server_state> state) {
  std::make_shared<session>(std::move(socket), std::move(state))->run();
}

} // namespace motia::http::detail
