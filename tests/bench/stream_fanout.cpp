// The streams fan-out benchmark (issue 5): N WebSocket subscribers on one
// group of one stream, a generator `set`ting items of that group at a fixed
// rate, latency from the `set` call to the receipt of its message by each
// subscriber. Measured against a plain Node `ws` broadcast server
// (stream_baseline.mjs) sending the same messages at the same rate.
//
//   motia-bench-streams serve DIR --port 0 --data-dir D
//       The runtime with a native stream `ticks` and a native api step
//       POST /start {rate, seconds, items} that starts a generator thread
//       calling streams().set("ticks", "g", "i<k % items>", {t0, due, seq,
//       pad}) at `rate` sets/s for `seconds` (open loop: it catches up when
//       late; t0 = CLOCK_MONOTONIC ns just before the call, due = when the
//       schedule wanted it). Answers {"sets": n}.
//   motia-bench-streams client --connect HOST:PORT [--subscribers N]
//       [--rate R] [--seconds S]
//       Connects N clients (one thread, epoll, a minimal hand-written
//       WebSocket client), joins each to ticks/g, waits for every sync, POSTs
//       /start, and records now - t0 for every create/update received (the
//       latency from the set), and now - due (from the schedule: it also
//       counts a generator that fell behind, i.e. a server that could not
//       take the sets at that rate). Prints one JSON line. Works against any server speaking Motia's
//       stream protocol with that /start (the baseline does).
//   motia-bench-streams [run] [--subscribers 1000] [--rates 50,100,200,400]
//       [--seconds 5] [--rounds 3] [--systems ours,baseline(,ours-io2)] [--node node]
//       [--baseline FILE.mjs] [--out FILE.json]
//       The ladder: for every round, rate and system a fresh server process
//       (this program's `serve`, or node FILE.mjs) and the client above;
//       prints a line per cell, then a table of medians over rounds and the
//       ratios ours/baseline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "motia/app.hpp"

namespace {

namespace fs = std::filesystem;

// CLOCK_MONOTONIC in ns: the clock of std::chrono::steady_clock (libstdc++)
// and of Node's process.hrtime.bigint(), shared by every process of the box.
std::int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "motia-bench-streams: %s\n", what.c_str());
  std::exit(1);
}

// --- options -----------------------------------------------------------------

struct args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> named;

  std::string get(const std::string& k, std::string def) const {
    auto it = named.find(k);
    return it == named.end() ? def : it->second;
  }
  long num(const std::string& k, long def) const {
    auto it = named.find(k);
    if (it == named.end())
      return def;
    char* end = nullptr;
    long v = std::strtol(it->second.c_str(), &end, 10);
    if (!end || *end || v < 0)
      die("--" + k + " needs a non-negative integer, got '" + it->second + "'");
    return v;
  }
};

args parse(int argc, char** argv, int from) {
  args a;
  for (int i = from; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      if (i + 1 >= argc)
        die(s + " needs a value");
      a.named[s.substr(2)] = argv[++i];
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

std::vector<long> split_numbers(const std::string& s) {
  std::vector<long> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ','))
    if (!part.empty())
      out.push_back(std::strtol(part.c_str(), nullptr, 10));
  return out;
}

// --- serve: the runtime with the generator ---------------------------------

struct generator {
  std::mutex mu;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::atomic<bool> running{false};
  std::atomic<long> failures{0};
};
generator gen;

void generate(motia::stream_access* streams, double rate, long sets, long items) {
  const std::string pad(80, 'x'); // ~100-byte payload with t0 and seq
  const std::int64_t start = mono_ns();
  for (long k = 0; k < sets && !gen.stop.load(); ++k) {
    const std::int64_t due = start + static_cast<std::int64_t>(static_cast<double>(k) * 1e9 / rate);
    const std::int64_t wait = due - mono_ns();
    if (wait > 0) {
      timespec ts{static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
      nanosleep(&ts, nullptr);
    }
    try {
      streams->set("ticks", "g", "i" + std::to_string(k % items),
                   {{"t0", mono_ns()}, {"due", due}, {"seq", k}, {"pad", pad}});
    } catch (const std::exception& e) {
      if (gen.failures.fetch_add(1) == 0)
        std::fprintf(stderr, "generator: set failed: %s\n", e.what());
    }
  }
  gen.running.store(false);
}

int serve(int argc, char** argv) {
  motia::app app;

  motia::stream_definition ticks;
  ticks.config = {{"name", "ticks"},
                  {"schema", {{"type", "object"}}},
                  {"baseConfig", {{"storageType", "default"}}}};
  app.add_stream(std::move(ticks));

  motia::step_definition start;
  start.config = {{"type", "api"}, {"name", "bench-start"}, {"path", "/start"}, {"method", "POST"},
                  {"emits", motia::json::array()}};
  start.api = [](const motia::api_request& req, motia::context& ctx) {
    const auto& b = req.body();
    auto number = [&](const char* k, double def) {
      return b.is_object() && b.contains(k) && b[k].is_number() ? b[k].get<double>() : def;
    };
    const double rate = number("rate", 100), seconds = number("seconds", 5);
    const long items = static_cast<long>(number("items", 100));
    if (rate <= 0 || seconds <= 0 || items <= 0)
      return motia::api_response{400, {}, {{"error", "rate, seconds and items must be positive"}}};
    std::lock_guard<std::mutex> lock(gen.mu);
    if (gen.running.load())
      return motia::api_response{409, {}, {{"error", "a generator is running"}}};
    if (gen.thread.joinable())
      gen.thread.join();
    const long sets = std::lround(rate * seconds);
    gen.running.store(true);
    // ctx.streams() is the app's stream_access: callable from any thread for
    // as long as the app runs (include/motia/stream.hpp).
    gen.thread = std::thread(generate, &ctx.streams(), rate, sets, items);
    return motia::api_response{200, {}, {{"sets", sets}}};
  };
  app.add_step(std::move(start));

  // `serve DIR ...` is `run DIR ...` for the app's command line.
  std::vector<std::string> words{argv[0], "run"};
  for (int i = 2; i < argc; ++i)
    words.emplace_back(argv[i]);
  std::vector<char*> av;
  for (auto& w : words)
    av.push_back(w.data());
  av.push_back(nullptr);
  const int code = app.main(static_cast<int>(words.size()), av.data());
  gen.stop.store(true);
  std::lock_guard<std::mutex> lock(gen.mu);
  if (gen.thread.joinable())
    gen.thread.join();
  return code;
}

// --- client: N minimal WebSocket clients on one thread ----------------------

struct endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
};

endpoint parse_endpoint(const std::string& s) {
  endpoint e;
  auto colon = s.rfind(':');
  if (colon == std::string::npos)
    die("--connect needs HOST:PORT, got '" + s + "'");
  e.host = s.substr(0, colon);
  e.port = static_cast<std::uint16_t>(std::strtoul(s.c_str() + colon + 1, nullptr, 10));
  if (e.port == 0)
    die("bad port in '" + s + "'");
  return e;
}

sockaddr_in address_of(const endpoint& e) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(e.port);
  if (inet_pton(AF_INET, e.host.c_str(), &sa.sin_addr) != 1)
    die("not an IPv4 address: " + e.host);
  return sa;
}

// One blocking HTTP/1.1 request with `Connection: close`; returns status and body.
std::pair<int, std::string> http_post(const endpoint& e, const std::string& path, const std::string& body) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa = address_of(e);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    die("cannot connect to " + e.host + ":" + std::to_string(e.port) + ": " + std::strerror(errno));
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: " + e.host + "\r\nContent-Type: application/json\r\n"
                    "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (size_t off = 0; off < req.size();) {
    ssize_t n = ::write(fd, req.data() + off, req.size() - off);
    if (n <= 0)
      die("cannot send the HTTP request");
    off += static_cast<size_t>(n);
  }
  std::string res;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    res.append(buf, static_cast<size_t>(n));
    // A Content-Length answer is complete once its body is here.
    auto head_end = res.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::string head = res.substr(0, head_end);
      std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
      auto cl = head.find("content-length:");
      if (cl != std::string::npos && res.size() >= head_end + 4 + std::strtoul(head.c_str() + cl + 15, nullptr, 10))
        break;
    }
  }
  ::close(fd);
  int status = 0;
  if (res.rfind("HTTP/1.", 0) == 0 && res.size() > 12)
    status = std::atoi(res.c_str() + 9);
  auto head_end = res.find("\r\n\r\n");
  return {status, head_end == std::string::npos ? std::string{} : res.substr(head_end + 4)};
}

struct ws_client {
  int fd = -1;
  std::uint32_t index = 0;
  bool want_out = false; // EPOLLOUT registered for bytes that did not fit
  enum { connecting, upgrading, open, closed } state = connecting;
  std::string in;       // unparsed bytes
  std::string message;  // a fragmented message being assembled
  std::string out;      // bytes not yet written
  bool synced = false;
  long received = 0;    // change messages with a t0
  long last_seq = -1;
  long out_of_order = 0; // seq not above the previous one (duplicates included)
  int close_code = 0;
};

// A masked client frame (RFC 6455 5.3). The mask need not be unpredictable here.
std::string client_frame(std::uint8_t opcode, const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  const std::uint8_t mask[4] = {0x3a, 0x91, 0x5c, 0x07};
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else if (payload.size() < 65536) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i)
      f.push_back(static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> (8 * i)) & 0xff));
  }
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < payload.size(); ++i)
    f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

// The integer after `"key":` in `s`, if any.
std::optional<std::int64_t> int_field(const std::string& s, const char* key) {
  auto p = s.find(key);
  if (p == std::string::npos)
    return std::nullopt;
  const char* c = s.c_str() + p + std::strlen(key);
  while (*c == ' ')
    ++c;
  char* end = nullptr;
  long long v = std::strtoll(c, &end, 10);
  if (end == c)
    return std::nullopt;
  return static_cast<std::int64_t>(v);
}

struct client_result {
  int subscribers = 0;
  long sets = 0;
  long expected = 0;
  long received = 0;
  long out_of_order = 0;
  int closed = 0;          // connections closed by the server during the cell
  int failed_connect = 0;  // connections that never got their sync
  double seconds = 0;      // from /start to the last receipt (at least the planned length)
  double deliveries_per_s = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double sched_p99_ms = 0; // from the scheduled time of the set
  double client_cpu_pct = 0;
  std::string error;
};

std::string result_json(const client_result& r) {
  char buf[768];
  std::snprintf(buf, sizeof buf,
                "{\"subscribers\":%d,\"sets\":%ld,\"expected\":%ld,\"received\":%ld,\"lost\":%ld,"
                "\"outOfOrder\":%ld,\"closed\":%d,\"failedConnect\":%d,\"seconds\":%.3f,"
                "\"deliveriesPerSec\":%.1f,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"maxMs\":%.3f,\"schedP99Ms\":%.3f,\"clientCpuPct\":%.1f%s%s%s}",
                r.subscribers, r.sets, r.expected, r.received, std::max(0L, r.expected - r.received), r.out_of_order,
                r.closed, r.failed_connect, r.seconds, r.deliveries_per_s, r.p50_ms, r.p99_ms, r.max_ms,
                r.sched_p99_ms, r.client_cpu_pct, r.error.empty() ? "" : ",\"error\":\"", r.error.c_str(), r.error.empty() ? "" : "\"");
  return buf;
}

double cpu_seconds_self() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

class fanout_client {
public:
  fanout_client(endpoint e, int n) : ep_(std::move(e)), n_(n), conns_(static_cast<size_t>(n)) {
    ep_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_fd_ < 0)
      die("epoll_create1 failed");
    latencies_us_.reserve(1 << 20);
    sched_us_.reserve(1 << 20);
  }
  ~fanout_client() {
    for (auto& c : conns_)
      if (c.fd >= 0)
        ::close(c.fd);
    ::close(ep_fd_);
  }

  client_result run(double rate, double seconds, long items) {
    client_result r;
    r.subscribers = n_;
    if (!connect_all(r))
      return r;
    const double cpu0 = cpu_seconds_self();
    const std::int64_t t_start = mono_ns();
    char body[128];
    std::snprintf(body, sizeof body, "{\"rate\":%g,\"seconds\":%g,\"items\":%ld}", rate, seconds, items);
    auto [status, answer] = http_post(ep_, "/start", body);
    auto sets = int_field(answer, "\"sets\":");
    if (status != 200 || !sets) {
      r.error = "POST /start answered " + std::to_string(status);
      return r;
    }
    r.sets = *sets;
    r.expected = r.sets * n_;
    // Receive until everything arrived, or 3 s past the planned end without
    // progress (then the rest counts as lost), or 30 s past it in any case.
    const std::int64_t planned_end = t_start + static_cast<std::int64_t>(seconds * 1e9);
    std::int64_t last_progress = mono_ns(), last_receipt = t_start;
    long total = 0;
    while (total < r.expected) {
      long before = total;
      poll_once(20, &total, &last_receipt);
      std::int64_t now = mono_ns();
      if (total != before)
        last_progress = now;
      if (now > planned_end && now - std::max(last_progress, planned_end) > 3'000'000'000LL)
        break;
      if (now > planned_end + 30'000'000'000LL)
        break;
      if (open_count() == 0)
        break;
    }
    const double wall = static_cast<double>(mono_ns() - t_start) / 1e9;
    r.received = total;
    for (auto& c : conns_) {
      r.out_of_order += c.out_of_order;
      if (c.state == ws_client::closed)
        ++r.closed;
    }
    r.seconds = std::max(seconds, static_cast<double>(last_receipt - t_start) / 1e9);
    r.deliveries_per_s = static_cast<double>(r.received) / r.seconds;
    if (!latencies_us_.empty()) {
      std::sort(latencies_us_.begin(), latencies_us_.end());
      auto at = [&](double q) {
        size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(latencies_us_.size()))) - 1;
        return static_cast<double>(latencies_us_[std::min(i, latencies_us_.size() - 1)]) / 1000.0;
      };
      r.p50_ms = at(0.50);
      r.p99_ms = at(0.99);
      r.max_ms = static_cast<double>(latencies_us_.back()) / 1000.0;
    }
    if (!sched_us_.empty()) {
      std::sort(sched_us_.begin(), sched_us_.end());
      size_t i = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(sched_us_.size()))) - 1;
      r.sched_p99_ms = static_cast<double>(sched_us_[std::min(i, sched_us_.size() - 1)]) / 1000.0;
    }
    r.client_cpu_pct = 100.0 * (cpu_seconds_self() - cpu0) / wall;
    return r;
  }

private:
  // Opens the connections (at most 128 handshakes at once, so the listen
  // backlog never overflows), upgrades, joins; true once all are synced.
  bool connect_all(client_result& r) {
    const sockaddr_in sa = address_of(ep_);
    int next = 0, synced = 0;
    const std::int64_t deadline = mono_ns() + 30'000'000'000LL;
    while (synced < n_) {
      int pending = 0;
      for (int i = 0; i < next; ++i)
        if (!conns_[static_cast<size_t>(i)].synced && conns_[static_cast<size_t>(i)].state != ws_client::closed)
          ++pending;
      while (next < n_ && pending < 128) {
        open_socket(next, sa);
        ++next;
        ++pending;
      }
      poll_once(20, nullptr, nullptr);
      synced = 0;
      int dead = 0;
      for (auto& c : conns_) {
        synced += c.synced ? 1 : 0;
        dead += (!c.synced && c.state == ws_client::closed) ? 1 : 0;
      }
      if (dead > 0 || mono_ns() > deadline) {
        r.failed_connect = n_ - synced;
        r.error = dead > 0 ? "a connection was refused or closed before its sync"
                           : "not every subscriber was synced within 30 s";
        return false;
      }
    }
    return true;
  }

  void open_socket(int i, const sockaddr_in& sa) {
    auto& c = conns_[static_cast<size_t>(i)];
    c.index = static_cast<std::uint32_t>(i);
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0)
      die(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    if (rc != 0 && errno != EINPROGRESS)
      die(std::string("connect: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    epoll_ctl(ep_fd_, EPOLL_CTL_ADD, c.fd, &ev);
    c.state = ws_client::connecting;
  }

  int open_count() const {
    int n = 0;
    for (auto& c : conns_)
      n += c.state == ws_client::open ? 1 : 0;
    return n;
  }

  void poll_once(int timeout_ms, long* total, std::int64_t* last_receipt) {
    epoll_event events[256];
    int n = epoll_wait(ep_fd_, events, 256, timeout_ms);
    for (int k = 0; k < n; ++k) {
      auto i = events[k].data.u32;
      auto& c = conns_[i];
      if (c.state == ws_client::closed)
        continue;
      if (c.state == ws_client::connecting && (events[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          shut(c);
          continue;
        }
        c.state = ws_client::upgrading;
        watch(c, EPOLLIN);
        queue(c, "GET / HTTP/1.1\r\nHost: " + ep_.host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: bW90aWEtYmVuY2gta2V5MQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
      }
      if ((events[k].events & EPOLLOUT) && c.want_out)
        flush(c);
      if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        read_from(c, i, total, last_receipt);
    }
  }

  void queue(ws_client& c, const std::string& bytes) {
    c.out += bytes;
    flush(c);
  }

  void flush(ws_client& c) {
    while (!c.out.empty()) {
      ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.out.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        // The rare case: stays queued until the socket is writable again.
        if (!c.want_out) {
          c.want_out = true;
          watch(c, EPOLLIN | EPOLLOUT);
        }
        return;
      } else {
        shut(c);
        return;
      }
    }
    if (c.want_out) {
      c.want_out = false;
      watch(c, EPOLLIN);
    }
  }

  void watch(ws_client& c, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u32 = c.index;
    epoll_ctl(ep_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void shut(ws_client& c) {
    if (c.fd >= 0) {
      epoll_ctl(ep_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
      c.fd = -1;
    }
    c.state = ws_client::closed;
  }

  void read_from(ws_client& c, std::uint32_t i, long* total, std::int64_t* last_receipt) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(c.fd, buf, sizeof buf);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        const std::int64_t now = mono_ns();
        if (!parse(c, i, now, total, last_receipt))
          return;
        if (static_cast<size_t>(n) < sizeof buf)
          return;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      } else {
        shut(c);
        return;
      }
    }
  }

  // Consumes what `c.in` holds; false when the connection was closed.
  bool parse(ws_client& c, std::uint32_t i, std::int64_t now, long* total, std::int64_t* last_receipt) {
    size_t off = 0;
    if (c.state == ws_client::upgrading) {
      auto end = c.in.find("\r\n\r\n");
      if (end == std::string::npos)
        return true;
      if (c.in.compare(0, 12, "HTTP/1.1 101") != 0) {
        std::fprintf(stderr, "client: upgrade refused: %s\n", c.in.substr(0, c.in.find("\r\n")).c_str());
        shut(c);
        return false;
      }
      off = end + 4;
      c.state = ws_client::open;
      char join[160];
      std::snprintf(join, sizeof join,
                    "{\"type\":\"join\",\"data\":{\"streamName\":\"ticks\",\"groupId\":\"g\",\"subscriptionId\":\"s%u\"}}", i);
      queue(c, client_frame(0x1, join));
    }
    const auto* p = reinterpret_cast<const unsigned char*>(c.in.data());
    const size_t size = c.in.size();
    while (size - off >= 2) {
      const unsigned b0 = p[off], b1 = p[off + 1];
      std::uint64_t len = b1 & 0x7f;
      size_t head = 2;
      if (len == 126) {
        if (size - off < 4)
          break;
        len = (std::uint64_t{p[off + 2]} << 8) | p[off + 3];
        head = 4;
      } else if (len == 127) {
        if (size - off < 10)
          break;
        len = 0;
        for (int k = 0; k < 8; ++k)
          len = (len << 8) | p[off + 2 + static_cast<size_t>(k)];
        head = 10;
      }
      const bool masked = b1 & 0x80;
      if (masked)
        head += 4;
      if (size - off < head + len)
        break;
      std::string payload(c.in.data() + off + head, static_cast<size_t>(len));
      if (masked)
        for (size_t k = 0; k < payload.size(); ++k)
          payload[k] = static_cast<char>(payload[k] ^ p[off + head - 4 + k % 4]);
      off += head + static_cast<size_t>(len);
      const unsigned opcode = b0 & 0x0f;
      const bool fin = b0 & 0x80;
      if (opcode == 0x8) { // close
        c.close_code = payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]) : 1005;
        shut(c);
        return false;
      }
      if (opcode == 0x9) { // ping
        queue(c, client_frame(0xA, payload));
        continue;
      }
      if (opcode == 0xA)
        continue;
      if (opcode == 0x1 || opcode == 0x2 || opcode == 0x0) {
        if (!fin || !c.message.empty()) {
          c.message += payload;
          if (!fin)
            continue;
          payload.swap(c.message);
          c.message.clear();
        }
        on_message(c, payload, now, total, last_receipt);
      }
    }
    c.in.erase(0, off);
    return true;
  }

  void on_message(ws_client& c, const std::string& m, std::int64_t now, long* total, std::int64_t* last_receipt) {
    auto t0 = int_field(m, "\"t0\":");
    if (!t0) {
      if (m.find("\"sync\"") != std::string::npos)
        c.synced = true;
      return;
    }
    ++c.received;
    if (total)
      ++*total;
    if (last_receipt)
      *last_receipt = now;
    if (auto seq = int_field(m, "\"seq\":")) {
      if (*seq <= c.last_seq)
        ++c.out_of_order;
      c.last_seq = std::max(c.last_seq, static_cast<long>(*seq));
    }
    latencies_us_.push_back(static_cast<std::uint32_t>(std::clamp<std::int64_t>((now - *t0) / 1000, 0, UINT32_MAX)));
    if (auto due = int_field(m, "\"due\":"))
      sched_us_.push_back(static_cast<std::uint32_t>(std::clamp<std::int64_t>((now - *due) / 1000, 0, UINT32_MAX)));
  }

  endpoint ep_;
  int n_;
  int ep_fd_ = -1;
  std::vector<ws_client> conns_;
  std::vector<std::uint32_t> latencies_us_;
  std::vector<std::uint32_t> sched_us_;
};

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int client_main(const args& a) {
  raise_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  fanout_client client(parse_endpoint(a.get("connect", "")), static_cast<int>(a.num("subscribers", 1000)));
  auto r = client.run(static_cast<double>(a.num("rate", 100)), static_cast<double>(a.num("seconds", 5)),
                      a.num("items", 100));
  std::printf("%s\n", result_json(r).c_str());
  return r.error.empty() ? 0 : 1;
}

// --- run: the ladder, ours and the baseline ---------------------------------

struct server_proc {
  pid_t pid = -1;
  std::uint16_t port = 0;
  fs::path dir;
  fs::path log;
};

// Starts argv with stdout+stderr to DIR/server.log and waits for its
// "listening on http://H:PORT" line.
server_proc start_server(const std::vector<std::string>& argv, const fs::path& dir) {
  server_proc s;
  s.dir = dir;
  s.log = dir / "server.log";
  pid_t pid = fork();
  if (pid < 0)
    die("fork failed");
  if (pid == 0) {
    int fd = ::open(s.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      ::close(fd);
    }
    setpgid(0, 0);
    std::vector<char*> av;
    for (auto& w : argv)
      av.push_back(const_cast<char*>(w.c_str()));
    av.push_back(nullptr);
    execvp(av[0], av.data());
    std::fprintf(stderr, "exec %s: %s\n", av[0], std::strerror(errno));
    _exit(127);
  }
  s.pid = pid;
  for (int k = 0; k < 600; ++k) {
    std::ifstream in(s.log);
    std::string line;
    while (std::getline(in, line)) {
      auto p = line.find("listening on http://");
      if (p == std::string::npos)
        continue;
      auto colon = line.find(':', p + 20);
      if (colon != std::string::npos)
        s.port = static_cast<std::uint16_t>(std::strtoul(line.c_str() + colon + 1, nullptr, 10));
    }
    if (s.port)
      return s;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      s.pid = -1;
      return s;
    }
    usleep(50000);
  }
  return s;
}

void stop_server(server_proc& s) {
  if (s.pid <= 0)
    return;
  kill(s.pid, SIGTERM);
  for (int k = 0; k < 200; ++k) {
    int status = 0;
    if (waitpid(s.pid, &status, WNOHANG) == s.pid) {
      s.pid = -1;
      return;
    }
    usleep(50000);
  }
  kill(-s.pid, SIGKILL);
  kill(s.pid, SIGKILL);
  waitpid(s.pid, nullptr, 0);
  s.pid = -1;
}

// utime + stime of a process, from /proc/PID/stat.
double cpu_seconds_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rp = stat.rfind(')');
  if (rp == std::string::npos)
    return 0;
  std::istringstream fields(stat.substr(rp + 2));
  std::string f;
  double ut = 0, st = 0;
  for (int k = 3; fields >> f; ++k) {
    if (k == 14)
      ut = std::strtod(f.c_str(), nullptr);
    if (k == 15) {
      st = std::strtod(f.c_str(), nullptr);
      break;
    }
  }
  return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct cell {
  int round;
  long rate;
  std::string system;
  client_result r;
  double server_cpu_pct = 0;
  double server_peak_mb = 0; // VmHWM: the queues a backlog builds show here
};

// Peak resident set (VmHWM) of a process in MB, from /proc/PID/status.
double peak_rss_mb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0)
      return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  return 0;
}

double median(std::vector<double> v) {
  if (v.empty())
    return NAN;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    die("cannot find my own executable");
  return std::string(buf, static_cast<size_t>(n));
}

// The systems of the ladder: the runtime as users get it, the runtime with 2
// io threads (motia-actors.json http.threads; WebSocket writes run on io
// threads), and the plain Node ws broadcast.
const std::vector<std::string> all_systems{"ours", "ours-io2", "baseline"};

int run_main(const args& a) {
  raise_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  const int subscribers = static_cast<int>(a.num("subscribers", 1000));
  const auto rates = split_numbers(a.get("rates", "50,100,200,400"));
  const long seconds = a.num("seconds", 5);
  const int rounds = static_cast<int>(a.num("rounds", 3));
  const long items = a.num("items", 100);
  std::vector<std::string> systems;
  {
    std::stringstream in(a.get("systems", "ours,baseline"));
    for (std::string s; std::getline(in, s, ',');)
      if (std::find(all_systems.begin(), all_systems.end(), s) != all_systems.end())
        systems.push_back(s);
      else if (!s.empty())
        die("unknown system '" + s + "' (ours, ours-io2, baseline)");
  }
  const std::string node = a.get("node", "node");
  const std::string baseline = a.get("baseline", std::string(MOTIA_BENCH_DIR) + "/stream_baseline.mjs");
  const std::string out = a.get("out", "");
  if (rates.empty() || systems.empty() || seconds <= 0 || rounds <= 0 || subscribers <= 0)
    die("nothing to measure");

  std::printf("streams fan-out: %d subscribers on one group, sets of ~100 B at %s sets/s, %ld s per cell, "
              "%d round(s); systems: %s\n"
              "latency: from the set call (t0) to the receipt; 'sched p99' from the time the schedule set for\n"
              "the set (also counts a generator held back by its server)\n",
              subscribers, a.get("rates", "50,100,200,400").c_str(), seconds, rounds,
              a.get("systems", "ours,baseline").c_str());
  std::printf("%-6s %-9s %6s %13s %9s %9s %9s %10s %9s %8s %8s %8s\n", "round", "system", "rate", "deliveries/s",
              "p50 ms", "p99 ms", "max ms", "sched p99", "lost", "srv CPU%", "cli CPU%", "srv MB");
  std::fflush(stdout);

  std::vector<cell> cells;
  for (int round = 0; round < rounds; ++round) {
    for (long rate : rates) {
      // Rotate which system goes first, round by round.
      std::vector<std::string> order = systems;
      std::rotate(order.begin(), order.begin() + static_cast<long>(static_cast<size_t>(round) % order.size()),
                  order.end());
      for (const auto& system : order) {
        char tmpl[] = "/tmp/motia-bench-streams.XXXXXX";
        if (!mkdtemp(tmpl))
          die("mkdtemp failed");
        fs::path dir = tmpl;
        fs::create_directories(dir / "project");
        std::vector<std::string> argv;
        if (system == "baseline") {
          argv = {node, baseline, "--port", "0"};
        } else {
          if (system == "ours-io2")
            std::ofstream(dir / "project" / "motia-actors.json") << "{\"http\": {\"threads\": 2}}\n";
          argv = {self_exe(), "serve", (dir / "project").string(), "--port", "0", "--data-dir", (dir / "data").string()};
        }
        server_proc s = start_server(argv, dir);
        cell c{round + 1, rate, system, {}, 0};
        if (!s.port) {
          std::ifstream log(s.log);
          std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
          c.r.error = "the server did not start";
          std::fprintf(stderr, "%s did not start; its output:\n%s\n", system.c_str(), text.c_str());
        } else {
          const double cpu0 = cpu_seconds_of(s.pid);
          const std::int64_t t0 = mono_ns();
          {
            fanout_client client(endpoint{"127.0.0.1", s.port}, subscribers);
            c.r = client.run(static_cast<double>(rate), static_cast<double>(seconds), items);
          }
          const double wall = static_cast<double>(mono_ns() - t0) / 1e9;
          c.server_cpu_pct = 100.0 * (cpu_seconds_of(s.pid) - cpu0) / wall;
          c.server_peak_mb = peak_rss_mb(s.pid);
        }
        stop_server(s);
        if (c.r.error.empty() || std::getenv("BENCH_KEEP") == nullptr)
          fs::remove_all(dir);
        std::printf("%-6d %-9s %6ld %13.0f %9.2f %9.2f %9.2f %10.2f %9ld %8.0f %8.0f %8.0f%s%s\n", c.round,
                    system.c_str(), rate, c.r.deliveries_per_s, c.r.p50_ms, c.r.p99_ms, c.r.max_ms, c.r.sched_p99_ms,
                    std::max(0L, c.r.expected - c.r.received), c.server_cpu_pct, c.r.client_cpu_pct, c.server_peak_mb,
                    c.r.error.empty() ? "" : "  ERROR: ", c.r.error.c_str());
        if (c.r.closed)
          std::printf("       (%d subscribers were closed by the server)\n", c.r.closed);
        if (c.r.out_of_order)
          std::printf("       (%ld messages out of order or duplicated)\n", c.r.out_of_order);
        std::fflush(stdout);
        cells.push_back(std::move(c));
      }
    }
  }

  // Medians over rounds, per rate and system; then each of ours / baseline.
  struct med {
    double dps, p50, p99, max, sched, lost, cpu;
    int n;
  };
  auto medians = [&](long rate, const std::string& system) {
    std::vector<double> dps, p50, p99, mx, sched, lost, cpu;
    for (auto& c : cells)
      if (c.rate == rate && c.system == system && c.r.error.empty()) {
        dps.push_back(c.r.deliveries_per_s);
        p50.push_back(c.r.p50_ms);
        p99.push_back(c.r.p99_ms);
        mx.push_back(c.r.max_ms);
        sched.push_back(c.r.sched_p99_ms);
        lost.push_back(static_cast<double>(std::max(0L, c.r.expected - c.r.received)));
        cpu.push_back(c.server_cpu_pct);
      }
    return med{median(dps), median(p50), median(p99),  median(mx),
               median(sched), median(lost), median(cpu), static_cast<int>(dps.size())};
  };
  std::printf("\nmedians over %d round(s); target: >= 100,000 deliveries/s kept up with (>= 97%% of the offer), "
              "p99 < 50 ms, nothing lost\n", rounds);
  std::printf("%6s %11s %-10s %13s %9s %9s %9s %10s %9s %8s\n", "rate", "expected/s", "system", "deliveries/s",
              "p50 ms", "p99 ms", "max ms", "sched p99", "lost", "srv CPU%");
  std::string json = "{\"subscribers\":" + std::to_string(subscribers) + ",\"seconds\":" + std::to_string(seconds) +
                     ",\"rounds\":" + std::to_string(rounds) + ",\"cells\":[";
  bool first = true;
  for (auto& c : cells) {
    json += (first ? "" : ",") + std::string("{\"round\":") + std::to_string(c.round) + ",\"rate\":" +
            std::to_string(c.rate) + ",\"system\":\"" + c.system + "\",\"serverCpuPct\":" +
            std::to_string(c.server_cpu_pct) + ",\"serverPeakMb\":" + std::to_string(c.server_peak_mb) +
            ",\"result\":" + result_json(c.r) + "}";
    first = false;
  }
  json += "],\"medians\":[";
  first = true;
  for (long rate : rates) {
    std::map<std::string, med> m;
    for (auto& system : systems) {
      m[system] = medians(rate, system);
      const auto& x = m[system];
      if (x.n == 0) {
        std::printf("%6ld %11ld %-10s (no successful cell)\n", rate, rate * subscribers, system.c_str());
        continue;
      }
      // The target: an offered load of >= 100,000 deliveries/s taken (the
      // deliveries keep up with the offer; the rate is measured to the last
      // receipt, so a little under it) with p99 < 50 ms and nothing lost.
      const double offered = static_cast<double>(rate * subscribers);
      const bool target = offered >= 100000 && x.dps >= 0.97 * offered && x.p99 < 50 && x.lost == 0;
      std::printf("%6ld %11ld %-10s %13.0f %9.2f %9.2f %9.2f %10.2f %9.0f %8.0f%s\n", rate, rate * subscribers,
                  system.c_str(), x.dps, x.p50, x.p99, x.max, x.sched, x.lost, x.cpu,
                  system != "baseline" && target ? "  meets the target" : "");
      char buf[384];
      std::snprintf(buf, sizeof buf,
                    "%s{\"rate\":%ld,\"system\":\"%s\",\"n\":%d,\"deliveriesPerSec\":%.1f,\"p50Ms\":%.3f,"
                    "\"p99Ms\":%.3f,\"maxMs\":%.3f,\"schedP99Ms\":%.3f,\"lost\":%.0f,\"serverCpuPct\":%.1f}",
                    first ? "" : ",", rate, system.c_str(), x.n, x.dps, x.p50, x.p99, x.max, x.sched, x.lost, x.cpu);
      json += buf;
      first = false;
    }
    auto b = m.find("baseline");
    for (auto& system : systems) {
      if (system == "baseline" || b == m.end() || !b->second.n || !m[system].n)
        continue;
      const auto& o = m[system];
      const auto& x = b->second;
      std::printf("%6s %11s %-10s %12.2fx %8.2fx %8.2fx %8.2fx %9.2fx %9s %7.2fx\n", "", "",
                  (system + "/b").c_str(), o.dps / x.dps, o.p50 / x.p50, o.p99 / x.p99, o.max / x.max,
                  o.sched / x.sched, "", o.cpu / x.cpu);
    }
  }
  json += "]}";
  if (!out.empty()) {
    std::ofstream f(out);
    f << json << "\n";
    std::printf("\nwrote %s\n", out.c_str());
  }
  for (auto& c : cells)
    if (!c.r.error.empty())
      return 1;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "run";
  if (mode == "serve")
    return serve(argc, argv);
  if (mode == "client")
    return client_main(parse(argc, argv, 2));
  if (mode == "run")
    return run_main(parse(argc, argv, 2));
  if (mode.rfind("--", 0) == 0)
    return run_main(parse(argc, argv, 1));
  std::fprintf(stderr, "usage: motia-bench-streams [run|serve DIR|client --connect HOST:PORT] [options]\n");
  return 2;
}
