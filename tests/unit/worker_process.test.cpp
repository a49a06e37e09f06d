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
        [this](std::string&& f) { record([&] { frames.push_back(std::move(f)); }); },
        [this](const std::string& r) { record([&] { close_reasons.push_back(r); }); },
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

BOOST_AUTO_TEST_SUITE_END()
