#include "adapters/http/server.hpp"

#define BOOST_TEST_MODULE http_server
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/process/io_runtime.hpp"

namespace {

using namespace std::chrono_literals;
namespace mh = motia::http;

struct parsed_response {
  unsigned status = 0;
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;
};

/// A blocking HTTP client on a raw socket: it can send anything, including
/// what no real client library would.
class raw_client {
public:
  /// `must_connect` = false for client threads, where Boost.Test assertions
  /// must not be used: check connected() instead.
  explicit raw_client(std::uint16_t port, bool must_connect = true) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (must_connect)
      BOOST_REQUIRE(connected_);
  }
  ~raw_client() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  bool connected() const { return connected_; }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  /// False if the server closed the connection meanwhile.
  bool send(const std::string& data) {
    for (std::size_t off = 0; off < data.size();) {
      auto n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  /// One response, or nullopt if the connection closed (or 5 s passed) first.
  std::optional<parsed_response> read_response(bool head = false) {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill())
        return std::nullopt;
    parsed_response r;
    std::string header = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    r.status = static_cast<unsigned>(std::stoul(header.substr(9, 3)));
    for (std::size_t pos = header.find("\r\n"); pos != std::string::npos;) {
      auto next = header.find("\r\n", pos + 2);
      std::string line = header.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
      pos = next;
    }
    std::size_t length = 0;
    if (auto it = r.headers.find("content-length"); it != r.headers.end() && !head)
      length = std::stoul(it->second);
    while (buf_.size() < length)
      if (!fill())
        return std::nullopt;
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  /// True if the server closes the connection within the receive timeout
  /// (any unread response bytes are skipped).
  bool wait_closed() {
    while (fill()) {
    }
    return closed_;
  }

private:
  bool fill() {
    char chunk[16384];
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buf_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    closed_ = n == 0 || errno == ECONNRESET;
    return false;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
  bool closed_ = false;
};

long ms_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
}

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

std::string header_of(const mh::request& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name)
      return v;
  return "<none>";
}

/// Responders the test answers later, from its own thread.
class parked {
public:
  void add(mh::request&& req, mh::responder_ptr r) {
    std::lock_guard<std::mutex> lock(mu_);
    items_.emplace_back(std::move(req), std::move(r));
    cv_.notify_all();
  }
  bool wait_for_count(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return items_.size() >= n; });
  }
  std::pair<mh::request, mh::responder_ptr>& at(std::size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.at(i);
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<mh::request, mh::responder_ptr>> items_;
};

struct fixture {
  fixture() { io.start(); }
  ~fixture() {
    srv.stop(200ms);
    io.stop();
  }

  void start(mh::request_handler h, mh::server_options opts = {}) {
    opts.port = 0;
    BOOST_REQUIRE_EQUAL(srv.start(opts, std::move(h)), "");
    BOOST_REQUIRE_NE(srv.port(), 0);
  }

  /// A handler that answers 200 with the request path as body.
  void start_echo(mh::server_options opts = {}) {
    start([](mh::request&& req, mh::responder_ptr r) { r->send({200, {}, req.path}); }, opts);
  }

  motia::io::io_runtime io{2};
  mh::server srv{io};
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(http_server, fixture)

BOOST_AUTO_TEST_CASE(get_reaches_the_handler_with_raw_path_raw_query_and_lower_case_headers) {
  std::optional<mh::request> seen;
  start([&](mh::request&& req, mh::responder_ptr r) {
    seen = req;
    r->send({201, {{"X-Custom", "yes"}}, R"({"ok":true})"});
  });
  raw_client c(srv.port());
  BOOST_REQUIRE(c.send(get("/a%20b/%C3%A9?x=1&y=%20", "X-Mixed-Case: Value\r\n")));
  auto res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_REQUIRE(seen);
  BOOST_TEST(seen->method == "GET");
  BOOST_TEST(seen->path == "/a%20b/%C3%A9");
  BOOST_TEST(seen->query == "x=1&y=%20");
  BOOST_TEST(header_of(*seen, "x-mixed-case") == "Value");
  BOOST_TEST(header_of(*seen, "host") == "test");
  BOOST_TEST(res->status == 201u);
  BOOST_TEST(res->headers["x-custom"] == "yes");
  BOOST_TEST(res->headers["content-type"] == "application/json");
  BOOST_TEST(res->headers["content-length"] == "11");
  BOOST_TEST(res->body == R"({"ok":true})");
}

BOOST_AUTO_TEST_CASE(post_body_reaches_the_handler_and_a_handler_content_type_is_kept) {
  start([](mh::request&& req, mh::responder_ptr r) {
    r->send({200, {{"Content-Type", "text/plain"}}, req.method + " " + req.body});
  });
  raw_client c(srv.port());
  BOOST_REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"));
  auto res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->headers["content-type"] == "text/plain");
  BOOST_TEST(res->body == "POST hello");
}

BOOST_AUTO_TEST_CASE(keep_alive_serves_several_requests_on_one_connection) {
  start_echo();
  raw_client c(srv.port());
  for (int i = 0; i < 5; ++i) {
    BOOST_REQUIRE(c.send(get("/n" + std::to_string(i))));
    auto res = c.read_response();
    BOOST_REQUIRE(res);
    BOOST_TEST(res->body == "/n" + std::to_string(i));
    BOOST_TEST(res->headers.count("connection") == 0u);
  }
}

BOOST_AUTO_TEST_CASE(connection_close_request_gets_its_answer_then_the_connection_closes) {
  start_echo();
  raw_client c(srv.port());
  BOOST_REQUIRE(c.send(get("/bye", "Connection: close\r\n")));
  auto res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->headers["connection"] == "close");
  BOOST_TEST(c.wait_closed());
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order_when_the_handler_answers_out_of_order) {
  parked p;
  start([&](mh::request&& req, mh::responder_ptr r) { p.add(std::move(req), std::move(r)); });
  raw_client c(srv.port());
  BOOST_REQUIRE(c.send(get("/first") + get("/second") + get("/third")));
  BOOST_REQUIRE(p.wait_for_count(3));
  std::thread answerer([&] {
    p.at(2).second->send({200, {}, "third"});
    p.at(1).second->send({200, {}, "second"});
    std::this_thread::sleep_for(50ms);
    p.at(0).second->send({200, {}, "first"});
    p.at(0).second->send({500, {}, "ignored: a responder answers once"});
  });
  for (const char* want : {"first", "second", "third"}) {
    auto res = c.read_response();
    BOOST_REQUIRE(res);
    BOOST_TEST(res->status == 200u);
    BOOST_TEST(res->body == want);
  }
  answerer.join();
}

BOOST_AUTO_TEST_CASE(head_gets_the_content_length_but_no_body) {
  start([](mh::request&&, mh::responder_ptr r) { r->send({200, {}, "abcdef"}); });
  raw_client c(srv.port());
  BOOST_REQUIRE(c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get("/")));
  auto head = c.read_response(/*head=*/true);
  BOOST_REQUIRE(head);
  BOOST_TEST(head->headers["content-length"] == "6");
  auto res = c.read_response(); // parses only if HEAD sent no body bytes
  BOOST_REQUIRE(res);
  BOOST_TEST(res->body == "abcdef");
}

BOOST_AUTO_TEST_CASE(expect_100_continue_gets_an_interim_response_before_the_body) {
  start([](mh::request&& req, mh::responder_ptr r) { r->send({200, {}, req.body}); });
  raw_client c(srv.port());
  BOOST_REQUIRE(c.send("PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c.read_response();
  BOOST_REQUIRE(interim);
  BOOST_TEST(interim->status == 100u);
  BOOST_REQUIRE(c.send("abc"));
  auto res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->body == "abc");
}

struct bad_request_case {
  const char* name;
  std::string bytes;
  unsigned status;
  const char* code;
};

BOOST_AUTO_TEST_CASE(http_layer_errors_are_answered_with_a_json_error_and_a_close) {
  mh::server_options opts;
  opts.body_limit = 16;
  opts.header_limit = 1024;
  std::atomic<int> handled{0};
  start([&](mh::request&&, mh::responder_ptr r) { ++handled, r->send({200, {}, "{}"}); }, opts);
  const bad_request_case cases[] = {
      {"garbage", "\x01\x02 nonsense\r\n\r\n", 400, "bad_request"},
      {"bad escape", get("/a%zz"), 400, "bad_request"},
      {"escaped nul", get("/a%00b"), 400, "bad_request"},
      {"content-length over the body limit",
       "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'), 413,
       "payload_too_large"},
      {"chunked body over the body limit",
       "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + std::string(32, 'x') +
           "\r\n0\r\n\r\n",
       413, "payload_too_large"},
      {"headers over the header limit", get("/", "X-Big: " + std::string(4000, 'h') + "\r\n"), 431,
       "headers_too_large"},
  };
  for (const auto& tc : cases) {
    BOOST_TEST_CONTEXT(tc.name) {
      raw_client c(srv.port());
      c.send(tc.bytes);
      auto res = c.read_response();
      BOOST_REQUIRE(res);
      BOOST_TEST(res->status == tc.status);
      BOOST_TEST(res->headers["content-type"] == "application/json");
      BOOST_TEST(res->headers["connection"] == "close");
      BOOST_TEST(res->body.find(std::string(R"({"error":{"code":")") + tc.code + "\"") == 0u);
      BOOST_TEST(c.wait_closed());
    }
  }
  BOOST_TEST(handled.load() == 0);
}

BOOST_AUTO_TEST_CASE(read_timeout_closes_a_slow_client) {
  mh::server_options opts;
  opts.read_timeout = 200ms;
  start_echo(opts);
  raw_client slow(srv.port());
  auto t0 = std::chrono::steady_clock::now();
  BOOST_REQUIRE(slow.send("GET / HTTP/1.1\r\nHo"));
  BOOST_TEST(slow.wait_closed());
  auto elapsed = ms_since(t0);
  BOOST_TEST(elapsed >= 150);
  BOOST_TEST(elapsed < 3000);

  raw_client idle(srv.port()); // an idle keep-alive connection too
  BOOST_REQUIRE(idle.send(get("/")));
  BOOST_REQUIRE(idle.read_response());
  BOOST_TEST(idle.wait_closed());
}

BOOST_AUTO_TEST_CASE(a_slow_handler_is_not_charged_to_the_client_read_timeout) {
  mh::server_options opts;
  opts.read_timeout = 200ms;
  parked p;
  start([&](mh::request&& req, mh::responder_ptr r) { p.add(std::move(req), std::move(r)); }, opts);
  raw_client c(srv.port());
  BOOST_REQUIRE(c.send(get("/slow")));
  BOOST_REQUIRE(p.wait_for_count(1));
  std::this_thread::sleep_for(500ms);
  p.at(0).second->send({200, {}, "late"});
  auto res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->body == "late");
}

BOOST_AUTO_TEST_CASE(a_dropped_responder_answers_500) {
  start([](mh::request&&, mh::responder_ptr) {});
  raw_client c(srv.port());
  BOOST_REQUIRE(c.send(get("/")));
  auto res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 500u);
  BOOST_TEST(res->body.find("internal_error") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_throwing_handler_answers_500_and_the_connection_stays_usable) {
  start([](mh::request&& req, mh::responder_ptr r) {
    if (req.path == "/throw")
      throw std::runtime_error("boom");
    r->send({200, {}, "fine"});
  });
  raw_client c(srv.port());
  BOOST_REQUIRE(c.send(get("/throw")));
  auto res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 500u);
  BOOST_REQUIRE(c.send(get("/")));
  res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->body == "fine");
}

BOOST_AUTO_TEST_CASE(handler_headers_that_could_inject_lines_are_dropped) {
  start([](mh::request&&, mh::responder_ptr r) {
    r->send({200, {{"X-Evil", "a\r\nSet-Cookie: x=1"}, {"Content-Length", "999"}, {"X-Good", "ok"}}, "body"});
  });
  raw_client c(srv.port());
  BOOST_REQUIRE(c.send(get("/")));
  auto res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->headers.count("x-evil") == 0u);
  BOOST_TEST(res->headers.count("set-cookie") == 0u);
  BOOST_TEST(res->headers["content-length"] == "4");
  BOOST_TEST(res->headers["x-good"] == "ok");
}

BOOST_AUTO_TEST_CASE(many_concurrent_connections_are_all_served) {
  start_echo();
  std::vector<std::unique_ptr<raw_client>> clients;
  for (int i = 0; i < 100; ++i)
    clients.push_back(std::make_unique<raw_client>(srv.port()));
  for (std::size_t i = 0; i < clients.size(); ++i)
    BOOST_REQUIRE(clients[i]->send(get("/c" + std::to_string(i))));
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto res = clients[i]->read_response();
    BOOST_REQUIRE(res);
    BOOST_TEST(res->body == "/c" + std::to_string(i));
  }
}

BOOST_AUTO_TEST_CASE(stop_with_a_request_never_answered_returns_after_the_grace_period) {
  parked p;
  start([&](mh::request&& req, mh::responder_ptr r) { p.add(std::move(req), std::move(r)); });
  raw_client busy(srv.port());
  raw_client idle(srv.port());
  BOOST_REQUIRE(busy.send(get("/never")));
  BOOST_REQUIRE(p.wait_for_count(1));
  auto t0 = std::chrono::steady_clock::now();
  srv.stop(300ms);
  auto elapsed = ms_since(t0);
  BOOST_TEST(elapsed >= 250);
  BOOST_TEST(elapsed < 2000);
  BOOST_TEST(busy.wait_closed());
  BOOST_TEST(idle.wait_closed());
  p.at(0).second->send({200, {}, "too late"}); // harmless after stop
}

BOOST_AUTO_TEST_CASE(stop_lets_an_in_flight_response_finish_within_the_grace_period) {
  parked p;
  start([&](mh::request&& req, mh::responder_ptr r) { p.add(std::move(req), std::move(r)); });
  raw_client c(srv.port());
  BOOST_REQUIRE(c.send(get("/pending")));
  BOOST_REQUIRE(p.wait_for_count(1));
  std::thread answerer([&] {
    std::this_thread::sleep_for(100ms);
    p.at(0).second->send({200, {}, "done"});
  });
  auto t0 = std::chrono::steady_clock::now();
  srv.stop(5s);
  BOOST_TEST(ms_since(t0) < 2000);
  answerer.join();
  auto res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->body == "done");
  BOOST_TEST(res->headers["connection"] == "close");
  BOOST_TEST(c.wait_closed());
}

// Regression: closing a session destroyed the request parser under a pending
// read, which then called into it ("pure virtual method called").
BOOST_AUTO_TEST_CASE(stop_under_load_closes_sessions_with_reads_in_flight_without_crashing) {
  start_echo();
  std::atomic<bool> done{false};
  std::atomic<long> answered{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 16; ++t)
    clients.emplace_back([&] {
      while (!done) {
        raw_client c(srv.port(), /*must_connect=*/false);
        if (!c.connected())
          return; // stopped: nobody listens any more
        while (!done && c.send(get("/load")) && c.read_response())
          ++answered;
      }
    });
  while (answered < 2000)
    std::this_thread::sleep_for(1ms);
  auto t0 = std::chrono::steady_clock::now();
  srv.stop(100ms);
  BOOST_TEST(ms_since(t0) < 2000);
  done = true;
  for (auto& t : clients)
    t.join();
}

BOOST_AUTO_TEST_CASE(start_reports_a_port_already_in_use) {
  start_echo();
  mh::server other(io);
  mh::server_options opts;
  opts.port = srv.port();
  auto err = other.start(opts, [](mh::request&&, mh::responder_ptr) {});
  BOOST_TEST(err.find("bind") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
