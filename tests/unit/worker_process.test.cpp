#include "adapters/process/worker_process.hpp"

#define BOOST_TEST_MODULE worker_process
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/process/io_runtime.hpp"
#include "core/msgpack_writer.hpp"

namespace {

using namespace std::chrono_literals;
namespace mp = motia::process;

// Echoes every frame back. With an argument, first sends one frame holding
// that environment variable and the working directory.
const char* echo_script = R"(
import os, socket, struct, sys
s = socket.socket(fileno=int(os.environ["MOTIA_WORKER_FD"]))
if len(sys.argv) > 1:
    msg = (os.environ.get(sys.argv[1], "<unset>") + "|" + os.getcwd()).encode()
    s.sendall(struct.pack(">I", len(msg)) + msg)
def read_exact(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            sys.exit(0)
        buf += chunk
    return bytes(buf)
while True:
    n = struct.unpack(">I", read_exact(4))[0]
    s.sendall(struct.pack(">I", n) + read_exact(n))
)";

/// Everything the callbacks saw, with waits that give up after 10 s.
class recorder {
public:
  mp::connection_callbacks callbacks() {
    return {
        [this](motia::payload&& f) { record([&] { frames.emplace_back(f.bytes()); }); },
        [this](const std::string& r, std::vector<mp::lost_invocation>&& l) {
          record([&] {
            close_reasons.push_back(r);
            for (auto& i : l)
              lost.push_back(i.step);
          });
        },
        [this](int code, int sig) { record([&] { exits.emplace_back(code, sig); }); },
    };
  }

  template <class Pred>
  bool wait(Pred pred) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 10s, pred);
  }
  bool wait_frames(std::size_t n) {
    return wait([&] { return frames.size() >= n; });
  }
  bool wait_closed() {
    return wait([&] { return !close_reasons.empty(); });
  }
  bool wait_exited() {
    return wait([&] { return !exits.empty(); });
  }

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> frames;
  std::vector<std::string> close_reasons;
  std::vector<std::pair<int, int>> exits;
  std::vector<std::string> lost;

private:
  template <class F>
  void record(F f) {
    std::lock_guard<std::mutex> lock(mu);
    f();
    cv.notify_all();
  }
};

struct fixture {
  fixture() { io.start(); }
  // Joins the io threads before `rec` goes: callbacks (on_exit, a late
  // on_close) may still run after a test body returns.
  ~fixture() { io.stop(); }

  std::shared_ptr<mp::worker_process> spawn(std::vector<std::string> argv,
                                            mp::spawn_options opts = {}) {
    opts.argv = std::move(argv);
    std::string err;
    auto w = mp::spawn(io, opts, rec.callbacks(), err);
    BOOST_TEST_INFO("spawn error: " << err);
    BOOST_REQUIRE(w);
    BOOST_TEST(err.empty());
    return w;
  }

  std::shared_ptr<mp::worker_process> spawn_python(const std::string& script,
                                                   mp::spawn_options opts = {},
                                                   std::vector<std::string> args = {}) {
    std::vector<std::string> argv{"python3", "-c", script};
    argv.insert(argv.end(), args.begin(), args.end());
    return spawn(std::move(argv), std::move(opts));
  }

  recorder rec;
  motia::io::io_runtime io{2};
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(worker_process, fixture)

BOOST_AUTO_TEST_CASE(frames_round_trip_through_an_echoing_child_including_one_of_1_mib) {
  auto w = spawn_python(echo_script);
  std::vector<std::string> sent{"a", std::string(300, 'b'), std::string(1 << 20, 'c'), "last"};
  sent[2][12345] = 'X'; // make corruption or misalignment visible
  for (const auto& f : sent)
    BOOST_REQUIRE(w->send(f));
  BOOST_REQUIRE(rec.wait_frames(sent.size()));
  {
    std::lock_guard<std::mutex> lock(rec.mu);
    BOOST_TEST(rec.frames.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i)
      BOOST_TEST((rec.frames[i] == sent[i]), "frame " << i << " differs");
    BOOST_TEST(rec.close_reasons.empty());
  }
  w->close();
  BOOST_REQUIRE(rec.wait_exited()); // the echo loop exits on EOF
  std::lock_guard<std::mutex> lock(rec.mu);
  BOOST_TEST(rec.exits.front().first == 0);
  BOOST_TEST(rec.exits.front().second == 0);
  BOOST_TEST(rec.close_reasons.size() == 1u);
}

BOOST_AUTO_TEST_CASE(child_gets_fd_3_its_environment_and_working_directory) {
  mp::spawn_options opts;
  opts.env = {{"MOTIA_TEST_VALUE", "forty-two"}};
  opts.cwd = "/tmp";
  auto w = spawn_python(echo_script, opts, {"MOTIA_TEST_VALUE"});
  BOOST_REQUIRE(rec.wait_frames(1));
  std::lock_guard<std::mutex> lock(rec.mu);
  BOOST_TEST(rec.frames[0] == "forty-two|/tmp");
  w->close();
}

BOOST_AUTO_TEST_CASE(a_child_that_exits_reports_eof_once_and_its_exit_code) {
  auto w = spawn_python("import sys; sys.exit(7)");
  BOOST_REQUIRE(rec.wait_closed());
  BOOST_REQUIRE(rec.wait_exited());
  std::this_thread::sleep_for(50ms); // a second report would arrive by now
  std::lock_guard<std::mutex> lock(rec.mu);
  BOOST_TEST(rec.close_reasons.size() == 1u);
  BOOST_TEST(rec.close_reasons[0].find("EOF") != std::string::npos);
  BOOST_TEST(rec.exits.size() == 1u);
  BOOST_TEST(rec.exits[0].first == 7);
  BOOST_TEST(rec.exits[0].second == 0);
}

BOOST_AUTO_TEST_CASE(kill_reports_the_signal_in_on_exit) {
  auto w = spawn_python("import time; time.sleep(60)");
  BOOST_TEST(w->pid() > 0);
  w->kill(SIGKILL);
  BOOST_REQUIRE(rec.wait_exited());
  BOOST_REQUIRE(rec.wait_closed());
  std::lock_guard<std::mutex> lock(rec.mu);
  BOOST_TEST(rec.exits[0].first == -1);
  BOOST_TEST(rec.exits[0].second == SIGKILL);
}

BOOST_AUTO_TEST_CASE(a_frame_longer_than_max_frame_closes_the_connection_with_a_reason) {
  mp::spawn_options opts;
  opts.max_frame = 1000;
  auto w = spawn_python(R"(
import os, socket, struct, time
s = socket.socket(fileno=int(os.environ["MOTIA_WORKER_FD"]))
s.sendall(struct.pack(">I", 3) + b"ok!" + struct.pack(">I", 2000) + b"x" * 2000)
time.sleep(60)
)",
                        opts);
  BOOST_REQUIRE(rec.wait_closed());
  {
    std::lock_guard<std::mutex> lock(rec.mu);
    BOOST_TEST(rec.frames == std::vector<std::string>{"ok!"});
    BOOST_TEST(rec.close_reasons[0].find("2000") != std::string::npos);
    BOOST_TEST(rec.close_reasons[0].find("1000") != std::string::npos);
  }
  BOOST_TEST(!w->send("after the close"));
  w->kill(SIGKILL);
  BOOST_REQUIRE(rec.wait_exited());
}

BOOST_AUTO_TEST_CASE(a_zero_length_frame_closes_the_connection) {
  auto w = spawn_python(R"(
import os, socket, time
s = socket.socket(fileno=int(os.environ["MOTIA_WORKER_FD"]))
s.sendall(b"\0\0\0\0")
time.sleep(60)
)");
  BOOST_REQUIRE(rec.wait_closed());
  w->kill(SIGKILL);
  BOOST_REQUIRE(rec.wait_exited());
}

BOOST_AUTO_TEST_CASE(spawning_a_missing_program_returns_an_error) {
  mp::spawn_options opts;
  opts.argv = {"motia-no-such-program-xyz"};
  std::string err;
  auto w = mp::spawn(io, opts, rec.callbacks(), err);
  BOOST_TEST(!w);
  BOOST_TEST(err.find("motia-no-such-program-xyz") != std::string::npos);

  opts.argv = {"/nonexistent/dir/prog"};
  w = mp::spawn(io, opts, rec.callbacks(), err);
  BOOST_TEST(!w);
  BOOST_TEST(!err.empty());

  opts.argv = {"python3"};
  opts.cwd = "/nonexistent/dir";
  w = mp::spawn(io, opts, rec.callbacks(), err);
  BOOST_TEST(!w);
  BOOST_TEST(err.find("/nonexistent/dir") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(send_after_close_returns_false_and_close_is_reported_once) {
  auto w = spawn_python(echo_script);
  BOOST_REQUIRE(w->send("before"));
  BOOST_REQUIRE(rec.wait_frames(1));
  w->close();
  w->close();
  BOOST_TEST(!w->send("after"));
  BOOST_REQUIRE(rec.wait_closed());
  BOOST_REQUIRE(rec.wait_exited());
  std::lock_guard<std::mutex> lock(rec.mu);
  BOOST_TEST(rec.close_reasons.size() == 1u);
}

BOOST_AUTO_TEST_CASE(send_refuses_frames_past_the_write_queue_bound) {
  mp::spawn_options opts;
  opts.max_write_queue = 64 * 1024;
  // Never reads: the socket buffers fill, then our queue.
  auto w = spawn_python("import time; time.sleep(60)", opts);
  std::string frame(16 * 1024, 'q');
  int accepted = 0;
  for (int i = 0; i < 1000 && w->send(frame); ++i)
    ++accepted;
  BOOST_TEST(accepted < 1000);
  BOOST_TEST(!w->send(""));                          // empty frames are invalid
  BOOST_TEST(!w->send(std::string(opts.max_frame + 1, 'z'))); // so are oversized ones
  w->kill(SIGKILL);
  BOOST_REQUIRE(rec.wait_exited());
  BOOST_REQUIRE(rec.wait_closed());
}

// Answers each invoke frame with a result echoing its input; an input of
// "die" kills the process; an input of "hang" is never answered.
const char* answer_script = R"(
import os, socket, struct, sys, msgpack
s = socket.socket(fileno=int(os.environ["MOTIA_WORKER_FD"]))
def read_exact(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            sys.exit(0)
        buf += chunk
    return bytes(buf)
while True:
    n = struct.unpack(">I", read_exact(4))[0]
    msg = msgpack.unpackb(read_exact(n), raw=False)
    if msg["input"] == "die":
        os._exit(3)
    if msg["input"] == "hang":
        continue
    out = msgpack.packb({"t": "result", "id": msg["id"], "ok": True, "value": msg["input"]}, use_bin_type=True)
    s.sendall(struct.pack(">I", len(out)) + out)
)";

// Collects what a sink is told.
struct sink final : mp::result_sink {
  void on_result(std::uint64_t token, mp::invocation_outcome&& out) override {
    std::lock_guard<std::mutex> g(mu);
    results.emplace_back(token, std::move(out));
    cv.notify_all();
  }
  bool wait(std::size_t n) {
    std::unique_lock<std::mutex> g(mu);
    return cv.wait_for(g, 10s, [&] { return results.size() >= n; });
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::uint64_t, mp::invocation_outcome>> results;
};

std::string invoke_frame(std::uint64_t id, const std::string& input) {
  auto w = motia::msgpack_writer::frame();
  w.map(3).str("t").str("invoke").str("id").uint(id).str("input").str(input);
  return std::move(w).finish();
}

mp::pending_invocation pending(std::shared_ptr<sink> s, std::uint64_t token, std::string step,
                               std::chrono::milliseconds deadline = 0ms) {
  mp::pending_invocation p;
  p.sink = std::move(s);
  p.token = token;
  p.step = std::move(step);
  if (deadline.count() > 0)
    p.deadline = std::chrono::steady_clock::now() + deadline;
  return p;
}

BOOST_AUTO_TEST_CASE(results_go_to_their_sink_with_their_token_and_never_to_on_frame) {
  auto w = spawn_python(answer_script);
  auto s = std::make_shared<sink>();
  for (std::uint64_t t = 1; t <= 50; ++t) {
    auto id = w->next_id();
    BOOST_REQUIRE(w->invoke(id, invoke_frame(id, "in-" + std::to_string(t)), pending(s, t * 10, "step")));
  }
  BOOST_REQUIRE(s->wait(50));
  std::lock_guard<std::mutex> g(s->mu);
  for (auto& [token, out] : s->results) {
    BOOST_TEST((out.code == motia::errc::none));
    BOOST_TEST(out.ok);
    BOOST_TEST(*out.value.as_string() == "in-" + std::to_string(token / 10));
  }
  BOOST_TEST(w->in_flight() == 0u);
  std::lock_guard<std::mutex> lock(rec.mu);
  BOOST_TEST(rec.frames.empty());
  w->close();
}

BOOST_AUTO_TEST_CASE(an_invocation_past_its_deadline_times_out_and_a_late_result_is_dropped) {
  auto w = spawn_python(answer_script);
  auto s = std::make_shared<sink>();
  auto id = w->next_id();
  BOOST_REQUIRE(w->invoke(id, invoke_frame(id, "hang"), pending(s, 7, "step", 50ms)));
  BOOST_REQUIRE(s->wait(1));
  std::lock_guard<std::mutex> g(s->mu);
  BOOST_TEST(s->results[0].first == 7u);
  BOOST_TEST((s->results[0].second.code == motia::errc::handler_timeout));
  BOOST_TEST(w->in_flight() == 0u);
  w->close();
}

BOOST_AUTO_TEST_CASE(past_its_window_a_worker_gets_the_next_invocation_only_when_one_finishes) {
  mp::spawn_options opts;
  opts.window = 2;
  auto w = spawn_python(answer_script, opts);
  auto s = std::make_shared<sink>();
  // Two hang (they fill the window); the third waits in the connection.
  for (std::uint64_t t = 1; t <= 2; ++t) {
    auto id = w->next_id();
    BOOST_REQUIRE(w->invoke(id, invoke_frame(id, "hang"), pending(s, t, "step", t == 1 ? 100ms : 0ms)));
  }
  auto id = w->next_id();
  BOOST_REQUIRE(w->invoke(id, invoke_frame(id, "third"), pending(s, 3, "step")));
  std::this_thread::sleep_for(50ms);
  BOOST_TEST(s->results.empty()); // not sent: the worker would have answered at once
  BOOST_REQUIRE(s->wait(2));        // the first times out, which frees a slot
  std::lock_guard<std::mutex> g(s->mu);
  BOOST_TEST(s->results[0].first == 1u);
  BOOST_TEST(s->results[1].first == 3u);
  BOOST_TEST(*s->results[1].second.value.as_string() == "third");
  w->close();
}

BOOST_AUTO_TEST_CASE(a_worker_that_dies_fails_every_invocation_in_flight_and_names_them) {
  auto w = spawn_python(answer_script);
  auto s = std::make_shared<sink>();
  auto a = w->next_id();
  BOOST_REQUIRE(w->invoke(a, invoke_frame(a, "hang"), pending(s, 1, "waits")));
  auto b = w->next_id();
  BOOST_REQUIRE(w->invoke(b, invoke_frame(b, "die"), pending(s, 2, "kills")));
  BOOST_REQUIRE(s->wait(2));
  BOOST_REQUIRE(rec.wait_closed());
  {
    std::lock_guard<std::mutex> g(s->mu);
    for (auto& [token, out] : s->results)
      BOOST_TEST((out.code == motia::errc::worker_died));
  }
  std::lock_guard<std::mutex> lock(rec.mu);
  BOOST_TEST(rec.lost.size() == 2u);
  auto id = w->next_id();
  BOOST_TEST(!w->invoke(id, invoke_frame(id, "x"), pending(s, 3, "after"))); // refused, not lost
}

BOOST_AUTO_TEST_SUITE_END()
