#include "adapters/http/server.hpp"

#define BOOST_TEST_MODULE ws_session
#include <boost/test/unit_test.hpp>

#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "adapters/process/io_runtime.hpp"

namespace {

using namespace std::chrono_literals;
namespace mh = motia::http;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = beast::error_code;
using clock_type = std::chrono::steady_clock;

/// A Beast WebSocket client whose every operation has a time limit (the io
/// context runs for at most `limit`, then the socket is closed).
class ws_client {
public:
  explicit ws_client(std::uint16_t port, const std::string& target = "/", const std::string& protocol = "",
                     int receive_buffer = 0) {
    auto& s = ws_.next_layer();
    s.open(tcp::v4());
    if (receive_buffer > 0)
      s.set_option(net::socket_base::receive_buffer_size(receive_buffer));
    s.connect({net::ip::make_address("127.0.0.1"), port});
    if (!protocol.empty())
      ws_.set_option(websocket::stream_base::decorator(
          [protocol](websocket::request_type& r) { r.set(bhttp::field::sec_websocket_protocol, protocol); }));
    handshake_ec_ = run([&](auto h) { ws_.async_handshake(response_, "127.0.0.1", target, h); });
  }

  error_code handshake_error() const { return handshake_ec_; }
  const websocket::response_type& response() const { return response_; }

  error_code write(const std::string& text, bool binary = false) {
    ws_.binary(binary);
    return run([&](auto h) { ws_.async_write(net::buffer(text), h); });
  }

  /// The next message, or the error that ended the connection.
  std::pair<error_code, std::string> read(clock_type::duration limit = 5s) {
    beast::flat_buffer buf;
    auto ec = run([&](auto h) { ws_.async_read(buf, h); }, limit);
    return {ec, beast::buffers_to_string(buf.data())};
  }

  /// Reads until the connection ends; the close code seen, or -1.
  int close_code(clock_type::duration limit = 5s) {
    auto until = clock_type::now() + limit;
    for (;;) {
      auto [ec, text] = read(until - clock_type::now());
      if (ec == websocket::error::closed)
        return ws_.reason().code;
      if (ec)
        return -1;
    }
  }

  /// Reads until the connection ends, whatever way; false if it is still open.
  bool wait_ended(clock_type::duration limit) {
    auto until = clock_type::now() + limit;
    while (clock_type::now() < until)
      if (read(until - clock_type::now()).first)
        return true;
    return false;
  }

private:
  template <class Start>
  error_code run(Start start, clock_type::duration limit = 5s) {
    error_code out = net::error::timed_out;
    bool done = false;
    start([&](error_code ec, auto&&...) {
      out = ec;
      done = true;
    });
    ioc_.restart();
    ioc_.run_for(limit);
    if (!done) {
      error_code ignored;
      ws_.next_layer().close(ignored);
      ioc_.restart();
      ioc_.run();
    }
    return out;
  }

  net::io_context ioc_;
  websocket::stream<tcp::socket> ws_{ioc_};
  websocket::response_type response_;
  error_code handshake_ec_;
};

const char upgrade_headers[] = "Host: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// One raw HTTP exchange: writes `raw`, reads one response.
bhttp::response<bhttp::string_body> http_exchange(std::uint16_t port, const std::string& raw) {
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect({net::ip::make_address("127.0.0.1"), port});
  net::write(s, net::buffer(raw));
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  error_code ec;
  bhttp::read(s, buf, res, ec);
  BOOST_TEST(!ec.failed(), ec.message());
  return res;
}

struct fixture {
  fixture() { io.start(); }
  ~fixture() {
    srv.stop(200ms);
    io.stop();
  }

  /// Starts a server whose WebSocket handlers record what they see.
  void start(mh::server_options opts = {}) {
    opts.port = 0;
    if (!opts.ws.on_open)
      opts.ws.on_open = [this](const mh::ws_connection_ptr& c, const std::string& context) {
        std::lock_guard<std::mutex> lock(mu);
        conns.push_back(c);
        contexts.push_back(context);
        cv.notify_all();
      };
    opts.ws.on_message = [this](const mh::ws_connection_ptr&, std::string&& text) {
      std::lock_guard<std::mutex> lock(mu);
      messages.push_back(std::move(text));
      cv.notify_all();
    };
    opts.ws.on_close = [this](std::uint64_t id) {
      std::lock_guard<std::mutex> lock(mu);
      ++closes[id];
      cv.notify_all();
    };
    auto handler = [this](mh::request&& req, mh::responder_ptr r) {
      {
        std::lock_guard<std::mutex> lock(mu);
        http_requests.push_back(req);
      }
      r->send({200, {}, "plain:" + req.path});
    };
    BOOST_REQUIRE_EQUAL(srv.start(opts, handler), "");
  }

  template <class Pred>
  bool wait(Pred pred, clock_type::duration limit = 5s) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, limit, pred);
  }

  mh::ws_connection_ptr conn(std::size_t i) {
    BOOST_REQUIRE(wait([&] { return conns.size() > i; }));
    std::lock_guard<std::mutex> lock(mu);
    return conns[i];
  }

  bool closed(std::uint64_t id, clock_type::duration limit = 5s) {
    return wait([&] { return closes.count(id) != 0; }, limit);
  }

  /// Every opened connection got exactly one on_close.
  void check_closes_once() {
    BOOST_TEST(wait([&] { return closes.size() >= conns.size(); }));
    std::lock_guard<std::mutex> lock(mu);
    BOOST_TEST(closes.size() == conns.size());
    for (const auto& c : conns)
      BOOST_TEST(closes[c->id()] == 1);
  }

  motia::io::io_runtime io{2};
  mh::server srv{io};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<mh::ws_connection_ptr> conns;
  std::vector<std::string> contexts;
  std::vector<std::string> messages;
  std::map<std::uint64_t, int> closes;
  std::vector<mh::request> http_requests;
};

long ms_since(clock_type::time_point t0) {
  auto d = clock_type::now() - t0;
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::shared_ptr<const std::string> text(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(ws_session, fixture)

BOOST_AUTO_TEST_CASE(upgrade_works_on_any_path_echoes_the_first_subprotocol_and_opens_with_the_auth_context) {
  std::vector<std::string> auth_paths;
  mh::server_options opts;
  opts.ws.authenticate = [&](const mh::request& req, mh::ws_auth_done done) {
    {
      std::lock_guard<std::mutex> lock(mu);
      auth_paths.push_back(req.method + " " + req.path + "?" + req.query);
    }
    done({true, R"({"user":")" + req.path + R"("})", 401, ""});
  };
  start(opts);
  ws_client a(srv.port(), "/");
  BOOST_REQUIRE(!a.handshake_error());
  BOOST_TEST(a.response()[bhttp::field::sec_websocket_protocol] == "");
  ws_client b(srv.port(), "/any/path?x=1", "token-abc, other");
  BOOST_REQUIRE(!b.handshake_error());
  BOOST_TEST(b.response()[bhttp::field::sec_websocket_protocol] == "token-abc");
  BOOST_REQUIRE(wait([&] { return conns.size() == 2; }));
  BOOST_TEST(contexts[0] == R"({"user":"/"})");
  BOOST_TEST(contexts[1] == R"({"user":"/any/path"})");
  BOOST_TEST(auth_paths[1] == "GET /any/path?x=1");
  BOOST_TEST(conns[0]->id() != conns[1]->id());
  BOOST_TEST(conns[0]->id() != 0u);
  srv.stop(2s);
  check_closes_once();
}

BOOST_AUTO_TEST_CASE(messages_flow_both_ways_in_order_with_sends_from_two_threads) {
  start();
  ws_client c(srv.port());
  BOOST_REQUIRE(!c.handshake_error());
  auto conn = this->conn(0);
  BOOST_TEST(contexts[0] == "null");
  constexpr int per_thread = 5000;
  auto sender = [&](char tag) {
    for (int i = 0; i < per_thread; ++i)
      conn->send(text(std::string(1, tag) + std::to_string(i)));
  };
  std::thread t1(sender, 'a'), t2(sender, 'b');
  std::map<char, int> next{{'a', 0}, {'b', 0}};
  bool in_order = true;
  for (int n = 0; n < 2 * per_thread; ++n) {
    auto [ec, msg] = c.read();
    BOOST_REQUIRE_MESSAGE(!ec, ec.message() << " after " << n);
    in_order = in_order && std::stoi(msg.substr(1)) == next[msg[0]]++;
  }
  t1.join();
  t2.join();
  BOOST_TEST(in_order);
  BOOST_TEST(next['a'] == per_thread);

  for (int i = 0; i < 1000; ++i)
    BOOST_REQUIRE(!c.write("m" + std::to_string(i)));
  BOOST_REQUIRE(wait([&] { return messages.size() == 1000; }));
  for (int i = 0; i < 1000; ++i)
    BOOST_TEST(messages[static_cast<std::size_t>(i)] == "m" + std::to_string(i));

  conn->close(4000, "bye");
  BOOST_TEST(c.close_code() == 4000);
  BOOST_TEST(closed(conn->id()));
  conn->send(text("after close")); // does nothing
  check_closes_once();
}

BOOST_AUTO_TEST_CASE(refused_upgrade_gets_the_status_and_a_json_error_without_upgrading) {
  mh::server_options opts;
  opts.ws.authenticate = [](const mh::request&, mh::ws_auth_done done) {
    done({false, "", 401, "bad \"token\"\n"});
  };
  start(opts);
  auto res = http_exchange(srv.port(), std::string("GET /ws HTTP/1.1\r\n") + upgrade_headers + "\r\n");
  BOOST_TEST(res.result_int() == 401u);
  BOOST_TEST(res.body() == R"({"error":{"code":"unauthorized","message":"bad \"token\"\u000a"}})");
  BOOST_TEST(res[bhttp::field::content_type] == "application/json");
  BOOST_TEST(res[bhttp::field::upgrade] == "");
  BOOST_TEST(conns.empty());
  BOOST_TEST(closes.empty());
}

BOOST_AUTO_TEST_CASE(authentication_answered_later_from_another_thread_completes_the_handshake) {
  std::optional<mh::ws_auth_done> parked;
  mh::server_options opts;
  opts.ws.authenticate = [&](const mh::request&, mh::ws_auth_done done) {
    std::lock_guard<std::mutex> lock(mu);
    parked = std::move(done);
    cv.notify_all();
  };
  start(opts);
  error_code handshake;
  std::thread client([&] {
    ws_client c(srv.port(), "/late");
    handshake = c.handshake_error();
    if (!handshake)
      c.close_code(); // until the server stops
  });
  BOOST_REQUIRE(wait([&] { return parked.has_value(); }));
  std::this_thread::sleep_for(50ms);
  std::thread([&] { (*parked)({true, R"("late")", 401, ""}); }).join();
  BOOST_REQUIRE(wait([&] { return conns.size() == 1; }));
  BOOST_TEST(contexts[0] == R"("late")");
  srv.stop(2s);
  client.join();
  BOOST_TEST(!handshake.failed());
  check_closes_once();
}

BOOST_AUTO_TEST_CASE(oversized_client_message_is_closed_with_1009) {
  mh::server_options opts;
  opts.ws_limits.message_limit = 1000;
  start(opts);
  ws_client c(srv.port());
  BOOST_REQUIRE(!c.handshake_error());
  BOOST_REQUIRE(!c.write(std::string(999, 'x')));
  auto write_ec = c.write(std::string(200000, 'x')); // may fail: the server closes mid-message
  BOOST_TEST_MESSAGE("oversized write: " << write_ec.message());
  BOOST_TEST(c.close_code() == 1009);
  BOOST_TEST(closed(conn(0)->id()));
  BOOST_TEST(messages.size() == 1u);
  check_closes_once();
}

BOOST_AUTO_TEST_CASE(binary_message_is_closed_with_1003) {
  start();
  ws_client c(srv.port());
  BOOST_REQUIRE(!c.handshake_error());
  BOOST_REQUIRE(!c.write("\x01\x02", true));
  BOOST_TEST(c.close_code() == 1003);
  BOOST_TEST(closed(conn(0)->id()));
  BOOST_TEST(messages.empty());
  check_closes_once();
}

BOOST_AUTO_TEST_CASE(slow_client_is_closed_at_the_queue_limit_while_a_reading_client_keeps_receiving) {
  mh::server_options opts;
  opts.ws_limits.send_queue_limit = 1024 * 1024;
  opts.ws_limits.handshake_timeout = 500ms;
  start(opts);
  ws_client slow(srv.port(), "/", "", 4096);
  BOOST_REQUIRE(!slow.handshake_error());
  auto slow_conn = conn(0);
  ws_client fast(srv.port());
  BOOST_REQUIRE(!fast.handshake_error());
  auto fast_conn = conn(1);

  // Track the bytes of the slow client's messages the server still holds.
  std::atomic<long> live{0};
  long max_live = 0;
  constexpr std::size_t chunk = 64 * 1024;
  constexpr int rounds = 800; // 50 MB for the slow client
  std::atomic<int> fast_received{0};
  std::thread reader([&] {
    for (int i = 0; i < rounds; ++i) {
      if (fast.read().first)
        return;
      ++fast_received;
    }
  });
  auto t0 = clock_type::now();
  for (int i = 0; i < rounds; ++i) {
    live += static_cast<long>(chunk);
    std::shared_ptr<const std::string> big(new std::string(chunk, 'x'), [&](const std::string* s) {
      live -= static_cast<long>(s->size());
      delete s;
    });
    slow_conn->send(std::move(big));
    max_live = std::max(max_live, live.load());
    fast_conn->send(text("tick" + std::to_string(i)));
  }
  long send_ms = ms_since(t0);
  reader.join();
  BOOST_TEST(fast_received.load() == rounds);
  BOOST_TEST(max_live <= static_cast<long>(opts.ws_limits.send_queue_limit + chunk));
  BOOST_TEST(closed(slow_conn->id()));
  BOOST_TEST(live.load() == 0);
  BOOST_TEST(slow.wait_ended(10s));
  BOOST_TEST(closes.count(fast_conn->id()) == 0u);
  BOOST_TEST_MESSAGE("50 MB queued to a stalled client in " << send_ms << " ms, max held " << max_live
                                                             << " bytes");
  srv.stop(2s);
  check_closes_once();
}

BOOST_AUTO_TEST_CASE(silent_client_that_never_answers_pings_is_closed_after_the_idle_timeout) {
  mh::server_options opts;
  opts.ws_limits.idle_timeout = 300ms;
  opts.ws_limits.handshake_timeout = 300ms;
  start(opts);
  ws_client c(srv.port()); // never reads, so never answers the server's ping
  BOOST_REQUIRE(!c.handshake_error());
  auto t0 = clock_type::now();
  BOOST_TEST(closed(conn(0)->id(), 3s));
  BOOST_TEST(ms_since(t0) >= 250);
  check_closes_once();
}

BOOST_AUTO_TEST_CASE(server_stop_closes_websockets_with_1001_and_returns_promptly) {
  start();
  ws_client a(srv.port()), b(srv.port(), "/other");
  BOOST_REQUIRE(!a.handshake_error());
  BOOST_REQUIRE(!b.handshake_error());
  BOOST_REQUIRE(wait([&] { return conns.size() == 2; }));
  int code_a = 0, code_b = 0;
  std::thread ta([&] { code_a = a.close_code(); }), tb([&] { code_b = b.close_code(); });
  auto t0 = clock_type::now();
  srv.stop(5s);
  long took = ms_since(t0);
  ta.join();
  tb.join();
  BOOST_TEST(code_a == 1001);
  BOOST_TEST(code_b == 1001);
  BOOST_TEST(took < 2000);
  check_closes_once();
}

BOOST_AUTO_TEST_CASE(stop_does_not_hang_on_a_client_that_never_answers_the_close) {
  start();
  ws_client a(srv.port(), "/", "", 4096);
  BOOST_REQUIRE(!a.handshake_error());
  auto c = conn(0);
  for (int i = 0; i < 200; ++i) // fills the socket buffers: the close frame cannot leave
    c->send(std::make_shared<const std::string>(64 * 1024, 'x'));
  auto t0 = clock_type::now();
  srv.stop(300ms);
  BOOST_TEST(ms_since(t0) < 2000);
  check_closes_once();
}

BOOST_AUTO_TEST_CASE(plain_http_still_works_next_to_websockets) {
  start();
  auto res = http_exchange(srv.port(), "GET /plain HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  BOOST_TEST(res.result_int() == 200u);
  BOOST_TEST(res.body() == "plain:/plain");
}

BOOST_AUTO_TEST_CASE(upgrade_without_on_open_goes_to_the_request_handler) {
  mh::server_options opts;
  opts.ws.on_open = nullptr;
  opts.port = 0;
  BOOST_REQUIRE_EQUAL(srv.start(opts, [this](mh::request&& req, mh::responder_ptr r) {
                        std::lock_guard<std::mutex> lock(mu);
                        http_requests.push_back(req);
                        r->send({200, {}, "plain"});
                      }),
                      "");
  ws_client c(srv.port(), "/ws");
  BOOST_TEST(c.handshake_error().failed());
  BOOST_REQUIRE(http_requests.size() == 1u);
  BOOST_TEST(http_requests[0].path == "/ws");
}

BOOST_AUTO_TEST_CASE(upgrade_pipelined_behind_an_unanswered_request_gets_400) {
  start();
  auto res = http_exchange(srv.port(), "GET /first HTTP/1.1\r\nHost: t\r\n\r\nGET /ws HTTP/1.1\r\n" +
                                           std::string(upgrade_headers) + "\r\n");
  BOOST_TEST(res.body() == "plain:/first"); // the first answer; the upgrade is refused after it
  BOOST_TEST(conns.empty());
}

// Not a pass/fail figure: prints what one broadcast costs (see the report).
BOOST_AUTO_TEST_CASE(broadcast_to_many_connections_is_measured) {
  start();
  constexpr int clients = 1000, messages_each = 200;
  const std::string payload(100, 'p');
  int ep = ::epoll_create1(0);
  net::io_context ioc;
  std::vector<tcp::socket> socks;
  for (int i = 0; i < clients; ++i) {
    socks.emplace_back(ioc);
    socks.back().connect({net::ip::make_address("127.0.0.1"), srv.port()});
    net::write(socks.back(), net::buffer(std::string("GET / HTTP/1.1\r\n") + upgrade_headers + "\r\n"));
  }
  for (auto& s : socks) {
    std::string head;
    net::read_until(s, net::dynamic_buffer(head), "\r\n\r\n");
    BOOST_REQUIRE(head.rfind("HTTP/1.1 101", 0) == 0);
    s.non_blocking(true);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = s.native_handle();
    ::epoll_ctl(ep, EPOLL_CTL_ADD, s.native_handle(), &ev);
  }
  BOOST_REQUIRE(wait([&] { return conns.size() == clients; }));
  std::vector<char> buf(1 << 16);
  // Round robin: each connection gets one message at a time (nothing to
  // coalesce). Bursts: each connection gets all its messages back to back.
  for (bool bursts : {false, true}) {
    const std::size_t expected = std::size_t{clients} * messages_each * (payload.size() + 2);
    std::size_t got = 0;
    auto cpu0 = cpu_seconds();
    auto t0 = clock_type::now();
    std::thread sender([&] {
      std::vector<std::shared_ptr<const std::string>> msgs;
      for (int m = 0; m < messages_each; ++m)
        msgs.push_back(std::make_shared<const std::string>(payload));
      if (bursts) {
        for (auto& c : conns)
          for (auto& m : msgs)
            c->send(m);
      } else {
        for (auto& m : msgs)
          for (auto& c : conns)
            c->send(m);
      }
    });
    epoll_event evs[64];
    while (got < expected && clock_type::now() - t0 < 30s) {
      int n = ::epoll_wait(ep, evs, 64, 100);
      for (int i = 0; i < n; ++i)
        for (ssize_t r; (r = ::read(evs[i].data.fd, buf.data(), buf.size())) > 0;)
          got += static_cast<std::size_t>(r);
    }
    double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    double cpu = cpu_seconds() - cpu0;
    sender.join();
    BOOST_TEST(got == expected);
    std::printf("broadcast (%s): %d deliveries to %d connections in %.3f s = %.0f messages/s; "
                "process CPU %.2f us per delivery (server + test client)\n",
                bursts ? "bursts" : "round robin", clients * messages_each, clients, secs,
                clients * messages_each / secs, cpu * 1e6 / (clients * messages_each));
  }
  ::close(ep);
}

BOOST_AUTO_TEST_SUITE_END()
