// An LD_PRELOAD allocation counter for the benchmark (tests/bench/README.md,
// "Per-request counters"). It interposes malloc, calloc, realloc, memalign,
// posix_memalign, aligned_alloc, valloc and pvalloc, counts the calls and the
// bytes asked for, and forwards to glibc's own allocator (__libc_*). free is not
// interposed: every pointer still comes from glibc's malloc.
//
// Cheap on the hot path: each thread owns one cache line of `motia_malloc_counters`
// and bumps it with a relaxed load and store (no locked instruction, no sharing);
// threads past the last slot share one slot with fetch_add. Slots are never
// reused, so totals only grow, even across thread exits.
//
// Read from outside, without a signal (a signal would interrupt the runtime's
// epoll and futex waits): at start the library writes "pid address slots\n" to
// $MOTIA_MALLOC_COUNT_FILE; the harness reads the slots from /proc/<pid>/mem at
// the start and the end of its window (load.py, MallocCounter). Then it removes
// LD_PRELOAD from the environment, so the workers the runtime spawns are not
// counted (set MOTIA_MALLOC_COUNT_CHILDREN=1 to keep it).
//
// Not counted: allocations glibc makes internally (they do not go through the
// dynamic symbol), and anything before this library's first call.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* __libc_valloc(std::size_t);
void* __libc_pvalloc(std::size_t);
}

constexpr int motia_malloc_slot_count = 256; // the last one is shared by threads beyond it

struct alignas(64) motia_malloc_slot {
  std::atomic<std::uint64_t> calls;
  std::atomic<std::uint64_t> bytes;
};

// The layout the harness reads: slot_count slots of 64 bytes, calls then bytes.
extern "C" __attribute__((visibility("default")))
motia_malloc_slot motia_malloc_counters[motia_malloc_slot_count];
motia_malloc_slot motia_malloc_counters[motia_malloc_slot_count];

namespace {

constexpr int slot_count = motia_malloc_slot_count;
using slot = motia_malloc_slot;

std::atomic<int> next_slot{0};
// initial-exec: no allocation and no lock on first access from any thread.
__thread int my_slot __attribute__((tls_model("initial-exec"))) = -1;

inline void count(std::size_t bytes) {
  int s = my_slot;
  if (s < 0)
    s = my_slot = next_slot.fetch_add(1, std::memory_order_relaxed);
  if (s < slot_count - 1) { // owned by this thread alone: no locked instruction
    slot& own = motia_malloc_counters[s];
    own.calls.store(own.calls.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    own.bytes.store(own.bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
  } else {
    slot& shared = motia_malloc_counters[slot_count - 1];
    shared.calls.fetch_add(1, std::memory_order_relaxed);
    shared.bytes.fetch_add(bytes, std::memory_order_relaxed);
  }
}

// Async-signal-safe enough for a constructor: no stdio, no allocation.
char* put_number(char* out, std::uintptr_t v, unsigned base) {
  char digits[32];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  while (n)
    *out++ = digits[--n];
  return out;
}

__attribute__((constructor)) void announce() {
  if (const char* file = std::getenv("MOTIA_MALLOC_COUNT_FILE")) {
    char line[96];
    char* p = put_number(line, static_cast<std::uintptr_t>(::getpid()), 10);
    *p++ = ' ';
    *p++ = '0';
    *p++ = 'x';
    p = put_number(p, reinterpret_cast<std::uintptr_t>(&motia_malloc_counters[0]), 16);
    *p++ = ' ';
    p = put_number(p, slot_count, 10);
    *p++ = '\n';
    int fd = ::open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ssize_t ignored = ::write(fd, line, static_cast<std::size_t>(p - line));
      (void)ignored;
      ::close(fd);
    }
  }
  if (!std::getenv("MOTIA_MALLOC_COUNT_CHILDREN")) {
    ::unsetenv("LD_PRELOAD");
    ::unsetenv("MOTIA_MALLOC_COUNT_FILE");
  }
}

bool power_of_two(std::size_t v) { return v && !(v & (v - 1)); }

} // namespace

extern "C" {

__attribute__((visibility("default"))) void* malloc(std::size_t size) noexcept {
  count(size);
  return __libc_malloc(size);
}

__attribute__((visibility("default"))) void* calloc(std::size_t n, std::size_t size) noexcept {
  count(n * size);
  return __libc_calloc(n, size);
}

__attribute__((visibility("default"))) void* realloc(void* p, std::size_t size) noexcept {
  count(size);
  return __libc_realloc(p, size);
}

__attribute__((visibility("default"))) void* memalign(std::size_t alignment, std::size_t size) noexcept {
  count(size);
  return __libc_memalign(alignment, size);
}

__attribute__((visibility("default"))) void* aligned_alloc(std::size_t alignment,
                                                           std::size_t size) noexcept {
  count(size);
  if (!power_of_two(alignment)) {
    errno = EINVAL;
    return nullptr;
  }
  return __libc_memalign(alignment, size);
}

__attribute__((visibility("default"))) int posix_memalign(void** out, std::size_t alignment,
                                                          std::size_t size) noexcept {
  count(size);
  if (!power_of_two(alignment) || alignment % sizeof(void*) != 0)
    return EINVAL;
  void* p = __libc_memalign(alignment, size);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}

__attribute__((visibility("default"))) void* valloc(std::size_t size) noexcept {
  count(size);
  return __libc_valloc(size);
}

__attribute__((visibility("default"))) void* pvalloc(std::size_t size) noexcept {
  count(size);
  return __libc_pvalloc(size);
}

} // extern "C"
