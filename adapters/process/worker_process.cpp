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
#include <atomic>
#include <deque>
#include <unordered_map>
#include <unordered_set>
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
      : strand_(net::make_strand(ctx)), socket_(strand_), exit_timer_(strand_), sweep_timer_(strand_),
        reader_(opts.max_frame), cbs_(std::move(cbs)), pid_(pid), pidfd_raw_(pidfd),
        max_frame_(opts.max_frame), max_queue_(opts.max_write_queue), window_(opts.window) {
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
    fd_ = fd;
    return ec ? "socket: " + ec.message() : std::string();
  }

  void start() {
    net::post(strand_, [self = shared_from_this()] {
      self->do_read();
      self->watch_exit(std::chrono::milliseconds(1));
    });
  }

  bool send(std::string payload) override {
    if (payload.empty() || payload.size() > max_frame_)
      return false;
    std::string frame;
    frame.reserve(payload.size() + 4);
    frame.resize(4);
    protocol::put_length(payload.size(), frame.data());
    frame += payload;
    return send_framed(std::move(frame));
  }

  bool send_framed(std::string frame) override {
    if (frame.size() <= 4 || frame.size() - 4 > max_frame_)
      return false;
    std::lock_guard<std::mutex> lock(mu_);
    return write_locked(std::move(frame));
  }

  std::uint64_t next_id() override { return ++next_id_; }

  bool invoke(std::uint64_t id, std::string frame, pending_invocation p) override {
    if (frame.size() <= 4 || frame.size() - 4 > max_frame_)
      return false;
    bool timed = p.deadline != std::chrono::steady_clock::time_point::max();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_)
        return false;
      auto [it, fresh] = pending_.emplace(id, entry{std::move(p), false});
      if (!fresh)
        return false;
      if (window_ > 0 && written_ >= window_) {
        // The worker has its window's worth: this one waits its turn.
        if (queued_bytes_ + frame.size() > max_queue_) {
          pending_.erase(it);
          return false;
        }
        queued_bytes_ += frame.size();
        backlog_.emplace_back(id, std::move(frame));
      } else if (!write_locked(std::move(frame), written_ >= 2)) {
        pending_.erase(it);
        return false;
      } else {
        it->second.written = true;
        ++written_;
      }
      if (!timed || sweeping_)
        return true;
      sweeping_ = true;
    }
    net::post(strand_, [self = shared_from_this()] { self->sweep_later(); });
    return true;
  }

  bool find(std::uint64_t id, invocation_view& out) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end())
      return false;
    out.owner = it->second.p.owner;
    out.context = it->second.p.context;
    out.trace_id = it->second.p.trace_id;
    return true;
  }

  void mark_overloaded(std::uint64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = pending_.find(id); it != pending_.end())
      overloaded_.emplace(id);
  }

  std::size_t in_flight() override {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_.size();
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
  /// An invocation in flight: written to the worker, or waiting in the
  /// backlog for a free slot of the window.
  struct entry {
    pending_invocation p;
    bool written = false;
  };

  /// One frame, length prefix included; `sent` bytes of it are written.
  struct out_frame {
    std::string bytes;
    std::size_t sent = 0;
  };

  // Writes `frame` at once when nothing is queued and the worker is not busy
  // (no hand-off to the io thread: the latency path), else queues it behind
  // the others, so that under load the io thread sends many frames in one
  // write and the worker reads them in one go. REQUIRES: mu_ held.
  bool write_locked(std::string frame, bool coalesce = false) {
    if (closed_ || queued_bytes_ + frame.size() > max_queue_)
      return false;
    std::size_t sent = 0;
    if (!write_scheduled_ && !coalesce) {
      ssize_t n;
      do {
        n = ::send(fd_, frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      } while (n < 0 && errno == EINTR);
      if (n == static_cast<ssize_t>(frame.size()))
        return true;
      // EAGAIN or a partial write: the rest goes out from the io thread. Any
      // other error shows again there and closes the connection.
      sent = n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    queued_bytes_ += frame.size() - sent;
    queue_.push_back(out_frame{std::move(frame), sent});
    if (!write_scheduled_) {
      write_scheduled_ = true;
      net::post(strand_, [self = shared_from_this()] { self->do_write(); });
    }
    return true;
  }

  // Forgets invocation `it` (answered, expired or failed); a written one frees
  // a slot of the window for the oldest waiting one. REQUIRES: mu_ held.
  pending_invocation take_locked(std::unordered_map<std::uint64_t, entry>::iterator it) {
    auto p = std::move(it->second.p);
    overloaded_.erase(it->first);
    if (it->second.written) {
      --written_;
    } else {
      auto b = std::find_if(backlog_.begin(), backlog_.end(), [&](auto& f) { return f.first == it->first; });
      if (b != backlog_.end()) {
        queued_bytes_ -= b->second.size();
        backlog_.erase(b);
      }
    }
    pending_.erase(it);
    while (!closed_ && !backlog_.empty() && written_ < window_) {
      auto [id, frame] = std::move(backlog_.front());
      backlog_.pop_front();
      queued_bytes_ -= frame.size();
      auto w = pending_.find(id);
      if (w == pending_.end() || !write_locked(std::move(frame), true))
        continue; // cannot be: it was accepted within the queue's bound
      w->second.written = true;
      ++written_;
    }
    return p;
  }

  // Deadlines are checked by one timer per connection, not one per
  // invocation: a handler is cut at most `sweep_interval` late.
  static constexpr std::chrono::milliseconds sweep_interval{100};

  void sweep_later() {
    sweep_timer_.expires_after(sweep_interval);
    sweep_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec != net::error::operation_aborted)
        self->sweep();
    });
  }

  void sweep() {
    std::vector<pending_invocation> expired;
    bool more = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto now = std::chrono::steady_clock::now();
      std::vector<std::uint64_t> late;
      for (auto& [id, e] : pending_) {
        if (e.p.deadline <= now)
          late.push_back(id);
        else
          more = more || e.p.deadline != std::chrono::steady_clock::time_point::max();
      }
      for (auto id : late)
        expired.push_back(take_locked(pending_.find(id)));
      sweeping_ = more && !closed_;
    }
    for (auto& p : expired) {
      invocation_outcome out;
      out.code = errc::handler_timeout;
      out.message = "handler did not finish before its deadline";
      deliver(p, std::move(out));
    }
    if (more)
      sweep_later();
  }

  void deliver(pending_invocation& p, invocation_outcome&& out) {
    if (!p.sink)
      return;
    guarded("on_result", [&] { p.sink->on_result(p.token, std::move(out)); });
  }

  // A result frame: its invocation's sink gets it (unless it timed out
  // already). Returns false for a result without an id (protocol error).
  bool on_result_frame(const payload& frame) {
    auto id = frame.find("id");
    auto id_value = id ? id->as_uint() : std::nullopt;
    if (!id_value)
      return false;
    pending_invocation p;
    invocation_outcome out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(*id_value);
      if (it == pending_.end())
        return true;
      out.overloaded = overloaded_.count(*id_value) > 0;
      p = take_locked(it);
    }
    auto ok = frame.find("ok");
    out.ok = ok && ok->as_bool().value_or(false);
    if (auto v = frame.find(out.ok ? "value" : "error"))
      out.value = std::move(*v);
    deliver(p, std::move(out));
    return true;
  }

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
        auto msg = payload::adopt(std::move(*frame));
        auto t = msg.find("t");
        if (t && t->as_string() == std::string_view("result")) {
          if (!on_result_frame(msg))
            return close_with("protocol error: a result frame without an id");
          continue;
        }
        if (!guarded("on_frame", [&] {
              if (cbs_.on_frame)
                cbs_.on_frame(std::move(msg));
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
    for (const auto& f : inflight_)
      buffers_.push_back(net::buffer(f.bytes.data() + f.sent, f.bytes.size() - f.sent));
    net::async_write(socket_, buffers_, [self = shared_from_this()](error_code ec, std::size_t) {
      self->on_write(ec);
    });
  }

  void on_write(error_code ec) {
    std::size_t written = 0;
    for (const auto& f : inflight_)
      written += f.bytes.size() - f.sent;
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
    std::unordered_map<std::uint64_t, entry> pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      queued_bytes_ = 0;
      queue_.clear();
      backlog_.clear();
      written_ = 0;
      pending.swap(pending_);
      overloaded_.clear();
    }
    error_code ec;
    socket_.shutdown(net::socket_base::shutdown_both, ec);
    socket_.close(ec);
    sweep_timer_.cancel();
    std::vector<lost_invocation> lost;
    for (auto& [id, e] : pending) {
      auto& p = e.p;
      lost.push_back(lost_invocation{p.step, p.input});
      invocation_outcome out;
      out.code = errc::worker_died;
      out.message = reason;
      deliver(p, std::move(out));
    }
    guarded("on_close", [&] {
      if (cbs_.on_close)
        cbs_.on_close(reason, std::move(lost));
    });
  }

  bool close_requested() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
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
    guarded("on_exit", [&] {
      if (cbs_.on_exit)
        cbs_.on_exit(code, sig);
    });
    return true;
  }

  // A throwing callback must not unwind through Asio and stall this connection.
  template <class F>
  bool guarded(const char* name, F&& f) {
    try {
      f();
      return true;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "motia worker %d: %s threw: %s\n", pid_, name, e.what());
    } catch (...) {
      std::fprintf(stderr, "motia worker %d: %s threw\n", pid_, name);
    }
    if (std::string_view(name) != "on_close" && std::string_view(name) != "on_result")
      close_with(std::string(name) + " threw");
    return false;
  }

  net::strand<net::io_context::executor_type> strand_;
  local_socket socket_;
  std::optional<net::posix::stream_descriptor> pidfd_;
  net::steady_timer exit_timer_;
  net::steady_timer sweep_timer_;
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

  std::atomic<std::uint64_t> next_id_{0};
  int fd_ = -1; // the socket's descriptor, for direct writes under mu_

  std::mutex mu_; // guards the members below
  std::unordered_map<std::uint64_t, entry> pending_;
  std::unordered_set<std::uint64_t> overloaded_;
  std::deque<std::pair<std::uint64_t, std::string>> backlog_; ///< waiting for the window
  std::size_t written_ = 0; ///< invocations written and not finished
  const std::size_t window_;
  bool sweeping_ = false;
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
