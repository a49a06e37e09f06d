#include "adapters/process/worker_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "adapters/process/io_runtime_impl.hpp"
#include "adapters/process/spawn_child.hpp"
#include "bindings/protocol/frame.hpp"

namespace motia::process {
namespace {

namespace net = boost::asio;
using error_code = boost::system::error_code;
using local_socket = net::local::stream_protocol::socket;

using detail::worker_fd;

/// Owns a file descriptor until released.
class unique_fd {
public:
  explicit unique_fd(int fd = -1) : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_;
};

std::string errno_text(int err) { return std::strerror(err); }

/// The connection to one child: reads frames, writes queued frames in batches,
/// and watches for the child's exit.
///
/// Thread-safety: send/kill/close may run on any thread and touch only the
/// state under `mu_` (and post to the strand). Everything else runs on
/// `strand_`, which also serialises the callbacks.
class worker_connection final : public worker_process,
                                public std::enable_shared_from_this<worker_connection> {
public:
  worker_connection(net::io_context& ctx, pid_t pid, int pidfd, const spawn_options& opts,
                    connection_callbacks cbs)
      : strand_(net::make_strand(ctx)), socket_(strand_), exit_timer_(strand_),
        reader_(opts.max_frame), cbs_(std::move(cbs)), pid_(pid), pidfd_raw_(pidfd),
        max_frame_(opts.max_frame), max_queue_(opts.max_write_queue) {
    if (pidfd >= 0)
      pidfd_.emplace(strand_, pidfd);
  }

  ~worker_connection() override {
    // Nobody is left to wait for the child: reap it if it is already gone,
    // else it is reparented to init when we exit.
    if (!exited_) {
      int status = 0;
      ::waitpid(pid_, &status, WNOHANG);
    }
  }

  /// Adopts our end of the socketpair. Empty string or why it failed.
  std::string assign(int fd) {
    error_code ec;
    socket_.assign(net::local::stream_protocol(), fd, ec);
    return ec ? "socket: " + ec.message() : std::string();
  }

  void start() {
    net::post(strand_, [self = shared_from_this()] {
      self->do_read();
      self->watch_exit(std::chrono::milliseconds(1));
    });
  }

  bool send(std::string frame) override {
    if (frame.empty() || frame.size() > max_frame_)
      return false;
    std::lock_guard<std::mutex> lock(mu_);
    const std::size_t cost = frame.size() + 4;
    if (closed_ || queued_bytes_ + cost > max_queue_)
      return false;
    queued_bytes_ += cost;
    out_frame f;
    protocol::put_length(frame.size(), f.length.data());
    f.payload = std::move(frame);
    queue_.push_back(std::move(f));
    if (!write_scheduled_) {
      write_scheduled_ = true;
      net::post(strand_, [self = shared_from_this()] { self->do_write(); });
    }
    return true;
  }

  void kill(int sig) override {
    // Under the lock so that a reaped pid (maybe reused by now) is never signalled.
    std::lock_guard<std::mutex> lock(mu_);
    if (exited_)
      return;
#ifdef SYS_pidfd_send_signal
    if (pidfd_raw_ >= 0 && ::syscall(SYS_pidfd_send_signal, pidfd_raw_, sig, nullptr, 0) == 0)
      return;
#endif
    ::kill(pid_, sig);
  }

  void close() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_)
        return;
      closed_ = true;
    }
    net::post(strand_, [self = shared_from_this()] { self->close_with("closed by the runtime"); });
  }

  int pid() const override { return pid_; }

private:
  struct out_frame {
    std::array<char, 4> length;
    std::string payload;
  };

  void do_read() {
    socket_.async_read_some(net::buffer(read_buf_),
                            [self = shared_from_this()](error_code ec, std::size_t n) {
                              self->on_read(ec, n);
                            });
  }

  void on_read(error_code ec, std::size_t n) {
    if (close_reported_)
      return;
    if (n > 0) {
      reader_.feed(read_buf_.data(), n);
      while (auto frame = reader_.next()) {
        if (!invoke("on_frame", [&] {
              if (cbs_.on_frame)
                cbs_.on_frame(std::move(*frame));
            }))
          return;
        if (close_requested()) // the callback closed us: close_with is posted
          return;
      }
      if (!reader_.error().empty())
        return close_with("protocol error: " + reader_.error());
    }
    if (ec == net::error::eof)
      return close_with("worker closed the connection (EOF)");
    if (ec)
      return fail(ec, "read");
    do_read();
  }

  void do_write() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty() || closed_) {
        write_scheduled_ = false;
        return;
      }
      inflight_.swap(queue_); // both vectors keep their capacity: no allocation per batch
    }
    buffers_.clear();
    for (const auto& f : inflight_) {
      buffers_.push_back(net::buffer(f.length));
      buffers_.push_back(net::buffer(f.payload));
    }
    net::async_write(socket_, buffers_, [self = shared_from_this()](error_code ec, std::size_t) {
      self->on_write(ec);
    });
  }

  void on_write(error_code ec) {
    std::size_t written = 0;
    for (const auto& f : inflight_)
      written += f.payload.size() + 4;
    inflight_.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      queued_bytes_ -= written;
      if (ec)
        write_scheduled_ = false;
    }
    if (ec)
      return fail(ec, "write");
    do_write();
  }

  void fail(error_code ec, const char* what) {
    close_with(std::string(what) + ": " + ec.message());
  }

  // Ends the connection once; the child sees EOF. The exit watch goes on.
  void close_with(const std::string& reason) {
    if (close_reported_)
      return;
    close_reported_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      queued_bytes_ -= std::min(queued_bytes_, queued_size());
      queue_.clear();
    }
    error_code ec;
    socket_.shutdown(net::socket_base::shutdown_both, ec);
    socket_.close(ec);
    invoke("on_close", [&] {
      if (cbs_.on_close)
        cbs_.on_close(reason);
    });
  }

  bool close_requested() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

  std::size_t queued_size() const {
    std::size_t n = 0;
    for (const auto& f : queue_)
      n += f.payload.size() + 4;
    return n;
  }

  // pidfd (Linux 5.3+) becomes readable when the child exits; without it,
  // poll waitpid with a growing delay.
  void watch_exit(std::chrono::milliseconds delay) {
    if (pidfd_) {
      pidfd_->async_wait(net::posix::stream_descriptor::wait_read,
                         [self = shared_from_this()](error_code ec) {
                           if (ec == net::error::operation_aborted)
                             return;
                           if (!self->try_reap())
                             self->watch_exit(std::chrono::milliseconds(1));
                         });
      return;
    }
    exit_timer_.expires_after(delay);
    exit_timer_.async_wait([self = shared_from_this(), delay](error_code ec) {
      if (ec == net::error::operation_aborted)
        return;
      if (!self->try_reap())
        self->watch_exit(std::min(delay * 2, std::chrono::milliseconds(100)));
    });
  }

  bool try_reap() {
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
      return false;
    int code = -1, sig = 0;
    if (r == pid_ && WIFEXITED(status))
      code = WEXITSTATUS(status);
    else if (r == pid_ && WIFSIGNALED(status))
      sig = WTERMSIG(status);
    // r < 0 (ECHILD): someone else reaped it; report it gone with code -1.
    {
      std::lock_guard<std::mutex> lock(mu_);
      exited_ = true;
    }
    invoke("on_exit", [&] {
      if (cbs_.on_exit)
        cbs_.on_exit(code, sig);
    });
    return true;
  }

  // A throwing callback must not unwind through Asio and stall this connection.
  template <class F>
  bool invoke(const char* name, F&& f) {
    try {
      f();
      return true;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "motia worker %d: %s threw: %s\n", pid_, name, e.what());
    } catch (...) {
      std::fprintf(stderr, "motia worker %d: %s threw\n", pid_, name);
    }
    if (std::string_view(name) != "on_close")
      close_with(std::string(name) + " threw");
    return false;
  }

  net::strand<net::io_context::executor_type> strand_;
  local_socket socket_;
  std::optional<net::posix::stream_descriptor> pidfd_;
  net::steady_timer exit_timer_;
  protocol::frame_reader reader_;
  connection_callbacks cbs_;
  const pid_t pid_;
  const int pidfd_raw_;
  const std::size_t max_frame_;
  const std::size_t max_queue_;
  std::array<char, 64 * 1024> read_buf_;
  std::vector<out_frame> inflight_; // being written; strand only
  std::vector<net::const_buffer> buffers_;
  bool close_reported_ = false; // strand only

  std::mutex mu_; // guards the members below
  std::vector<out_frame> queue_;
  std::size_t queued_bytes_ = 0; // queue_ and inflight_
  bool closed_ = false;
  bool write_scheduled_ = false;
  bool exited_ = false;
};

} // namespace

std::shared_ptr<worker_process> spawn(io::io_runtime& io, const spawn_options& opts,
                                      connection_callbacks cbs, std::string& err) {
  err.clear();
  if (opts.argv.empty() || opts.argv.front().empty()) {
    err = "spawn: empty argv";
    return nullptr;
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    err = "socketpair: " + errno_text(errno);
    return nullptr;
  }
  unique_fd parent(sv[0]), child(sv[1]);
  // dup2(3, 3) would keep O_CLOEXEC and the child would lose its socket.
  if (child.get() == worker_fd)
    child.reset(::fcntl(worker_fd, F_DUPFD_CLOEXEC, worker_fd + 1));
  if (child.get() < 0) {
    err = "fcntl: " + errno_text(errno);
    return nullptr;
  }
  pid_t pid = detail::spawn_child(opts, child.get(), err);
  if (pid < 0)
    return nullptr;
  child.reset();

  int pidfd = -1;
#ifdef SYS_pidfd_open
  pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); // -1 on old kernels: we poll
#endif
  auto conn = std::make_shared<worker_connection>(io::io_context_of(io), pid, pidfd, opts, std::move(cbs));
  if (err = conn->assign(parent.get()); !err.empty()) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return nullptr;
  }
  parent.release();
  conn->start();
  return conn;
}

} // namespace motia::process
