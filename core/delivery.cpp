#include "core/delivery.hpp"

#include <algorithm>

#include "core/backoff.hpp"
#include "core/msgpack_writer.hpp"

namespace motia {

namespace {
constexpr int record_version = 1;
} // namespace

std::string encode_queued_event(const queued_event& e) {
  std::uint32_t n = 9 + (e.retry_at_ms != 0) + !e.last_error.empty() + (e.failed_at_ms != 0);
  msgpack_writer w;
  w.map(n);
  w.str("v").uint(record_version);
  w.str("step").str(e.step);
  w.str("topic").str(e.topic);
  w.str("data").raw(e.data);
  w.str("traceId").str(e.trace_id);
  w.str("messageGroupId").str(e.message_group_id);
  w.str("messageId").str(e.message_id);
  w.str("attempts").uint(e.attempts);
  w.str("enqueuedAt").sint(e.enqueued_at_ms);
  if (e.retry_at_ms != 0)
    w.str("retryAt").sint(e.retry_at_ms);
  if (!e.last_error.empty())
    w.str("lastError").str(e.last_error);
  if (e.failed_at_ms != 0)
    w.str("failedAt").sint(e.failed_at_ms);
  return std::move(w).finish();
}

namespace {

std::string string_field(const payload& p, std::string_view key) {
  auto v = p.find(key);
  auto s = v ? v->as_string() : std::nullopt;
  return s ? std::string(*s) : std::string();
}

std::int64_t int_field(const payload& p, std::string_view key) {
  auto v = p.find(key);
  auto i = v ? v->as_int() : std::nullopt;
  return i ? *i : 0;
}

} // namespace

bool decode_queued_event(const payload& bytes, queued_event& out, std::string& err) {
  auto version = bytes.find("v");
  if (!version || version->as_int() != record_version) {
    err = "not a version-1 queue record";
    return false;
  }
  auto data = bytes.find("data");
  auto step = bytes.find("step");
  auto topic = bytes.find("topic");
  if (!data || !step || !step->as_string() || !topic || !topic->as_string()) {
    err = "bad queue record: it lacks step, topic or data";
    return false;
  }
  out.step = std::string(*step->as_string());
  out.topic = std::string(*topic->as_string());
  out.data = *data;
  out.trace_id = string_field(bytes, "traceId");
  out.message_group_id = string_field(bytes, "messageGroupId");
  out.message_id = string_field(bytes, "messageId");
  out.attempts = static_cast<unsigned>(int_field(bytes, "attempts"));
  out.enqueued_at_ms = int_field(bytes, "enqueuedAt");
  out.retry_at_ms = int_field(bytes, "retryAt");
  out.last_error = string_field(bytes, "lastError");
  out.failed_at_ms = int_field(bytes, "failedAt");
  return true;
}

std::uint16_t shard_of(std::string_view step, std::string_view key, std::uint16_t shards) {
  if (shards <= 1)
    return 0;
  std::uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s)
      h = (h ^ c) * 1099511628211ULL;
  };
  mix(step);
  h = (h ^ 0xff) * 1099511628211ULL; // separator: ("ab","c") != ("a","bc")
  mix(key);
  return static_cast<std::uint16_t>(h % shards);
}

json to_json(const queued_event& e) {
  json j = {{"id", std::to_string(e.seq)},
            {"step", e.step},
            {"topic", e.topic},
            {"data", e.data.to_json()},
            {"traceId", e.trace_id},
            {"messageId", e.message_id},
            {"attempts", e.attempts},
            {"enqueuedAt", e.enqueued_at_ms}};
  if (!e.message_group_id.empty())
    j["messageGroupId"] = e.message_group_id;
  if (!e.last_error.empty())
    j["lastError"] = e.last_error;
  if (e.failed_at_ms != 0)
    j["failedAt"] = e.failed_at_ms;
  return j;
}

std::optional<std::uint64_t> parse_dead_letter_id(std::string_view text) {
  // Up to 19 digits always fits in 64 bits.
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text)
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  return v;
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::chrono::milliseconds retry_delay(const queue_settings& q, unsigned failed,
                                      double unit_random) {
  constexpr std::chrono::milliseconds cap{3'600'000};
  supervision_settings s;
  s.backoff_min = std::min(q.backoff_delay, cap);
  s.backoff_max = q.exponential ? cap : s.backoff_min;
  s.jitter = q.exponential ? 0.2 : 0.0;
  return restart_backoff(s, std::max(failed, 1u), unit_random);
}

delivery_scheduler::delivery_scheduler(unsigned concurrency, bool fifo)
    : concurrency_(std::max(concurrency, 1u)), fifo_(fifo) {}

void delivery_scheduler::push(std::uint64_t seq, const std::string& group) {
  ++waiting_;
  if (!fifo_) {
    ready_.push_back(seq);
    return;
  }
  auto& q = groups_[group];
  q.push_back(seq);
  if (q.size() == 1 && busy_.count(group) == 0)
    ready_groups_.push_back(group);
}

std::optional<std::uint64_t> delivery_scheduler::next() {
  if (running_ >= concurrency_)
    return std::nullopt;
  std::optional<std::uint64_t> seq;
  if (!retries_.empty()) {
    seq = retries_.front();
    retries_.pop_front();
  } else if (!fifo_) {
    if (ready_.empty())
      return std::nullopt;
    seq = ready_.front();
    ready_.pop_front();
  } else {
    // A group may be listed twice or be busy by now (claim): skip those; it
    // is listed again when its running delivery finishes.
    while (!seq && !ready_groups_.empty()) {
      auto g = std::move(ready_groups_.front());
      ready_groups_.pop_front();
      auto it = groups_.find(g);
      if (it == groups_.end() || it->second.empty() || busy_.count(g) != 0)
        continue;
      seq = it->second.front();
      it->second.pop_front();
      if (it->second.empty())
        groups_.erase(it);
      busy_.insert(std::move(g));
    }
    if (!seq)
      return std::nullopt;
  }
  --waiting_;
  ++running_;
  return seq;
}

void delivery_scheduler::finished(const std::string& group) {
  if (running_ > 0)
    --running_;
  if (!fifo_)
    return;
  busy_.erase(group);
  if (auto it = groups_.find(group); it != groups_.end() && !it->second.empty())
    ready_groups_.push_back(group);
}

void delivery_scheduler::retry_wait(const std::string&) {
  if (running_ > 0)
    --running_;
}

void delivery_scheduler::retry_ready(std::uint64_t seq) {
  ++waiting_;
  retries_.push_back(seq);
}

void delivery_scheduler::claim(const std::string& group) {
  if (fifo_)
    busy_.insert(group);
}

} // namespace motia
