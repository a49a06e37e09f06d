#include "bindings/protocol/frame.hpp"

#include <vector>

namespace motia::protocol {

namespace {

// nlohmann's msgpack reader recurses once per nesting level, so a frame of a
// few MB of 0x91 bytes would overflow the stack. Frames are first checked
// here, iteratively, for depth, truncation, trailing bytes and UTF-8 (a string
// that is not UTF-8 would make every later json::dump() throw).
constexpr std::size_t max_depth = 256;

// Returns the length of the valid UTF-8 sequence at s[0..n), or 0.
std::size_t utf8_sequence(const unsigned char* s, std::size_t n) {
  const unsigned char c = s[0];
  if (c < 0x80)
    return 1;
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0)
      lo = 0xA0; // overlong
    if (c == 0xED)
      hi = 0x9F; // UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0)
      lo = 0x90; // overlong
    if (c == 0xF4)
      hi = 0x8F; // above U+10FFFF
  } else {
    return 0;
  }
  if (n < len || s[1] < lo || s[1] > hi)
    return 0;
  for (std::size_t i = 2; i < len; ++i)
    if ((s[i] & 0xC0) != 0x80)
      return 0;
  return len;
}

bool valid_utf8(const unsigned char* s, std::size_t n) {
  for (std::size_t i = 0; i < n;) {
    const std::size_t len = utf8_sequence(s + i, n - i);
    if (len == 0)
      return false;
    i += len;
  }
  return true;
}

class msgpack_checker {
public:
  explicit msgpack_checker(std::string_view in)
    : p_(reinterpret_cast<const unsigned char*>(in.data())), n_(in.size()) {}

  // Walks exactly one value; true if it is well-formed and ends the input.
  bool run(std::string& err) {
    std::vector<std::uint64_t> open; // items still expected per container
    std::uint64_t pending = 1;       // items still expected at the top level
    while (pending > 0 || !open.empty()) {
      if (pending == 0) {
        pending = open.back();
        open.pop_back();
        continue;
      }
      --pending;
      std::uint64_t children = 0;
      if (!item(children, err))
        return false;
      if (children > 0) {
        if (open.size() >= max_depth)
          return fail(err, "nested deeper than " + std::to_string(max_depth) + " levels");
        open.push_back(pending);
        pending = children;
      }
    }
    if (i_ != n_)
      return fail(err, std::to_string(n_ - i_) + " trailing bytes after the value");
    return true;
  }

private:
  bool fail(std::string& err, std::string why) {
    err = "bad msgpack at byte " + std::to_string(i_) + ": " + std::move(why);
    return false;
  }

  bool read_uint(std::size_t width, std::uint64_t& v, std::string& err) {
    if (n_ - i_ < width)
      return fail(err, "truncated");
    v = 0;
    for (std::size_t k = 0; k < width; ++k)
      v = (v << 8) | p_[i_++];
    return true;
  }

  bool skip(std::uint64_t len, std::string& err) {
    if (n_ - i_ < len)
      return fail(err, "truncated");
    i_ += static_cast<std::size_t>(len);
    return true;
  }

  bool str(std::uint64_t len, std::string& err) {
    const std::size_t at = i_;
    if (!skip(len, err))
      return false;
    if (!valid_utf8(p_ + at, static_cast<std::size_t>(len)))
      return fail(err, "string is not valid UTF-8");
    return true;
  }

  // Consumes one value's own bytes; containers report their child count.
  bool item(std::uint64_t& children, std::string& err) {
    if (i_ >= n_)
      return fail(err, "truncated");
    const unsigned char b = p_[i_++];
    std::uint64_t len = 0;
    if (b <= 0x7F || b >= 0xE0 || b == 0xC0 || b == 0xC2 || b == 0xC3)
      return true; // fixints, nil, bools
    if (b <= 0x8F) {
      children = 2 * std::uint64_t(b & 0x0F);
      return true;
    }
    if (b <= 0x9F) {
      children = b & 0x0F;
      return true;
    }
    if (b <= 0xBF)
      return str(b & 0x1F, err);
    switch (b) {
      case 0xC4: case 0xC5: case 0xC6: // bin 8/16/32
        return read_uint(std::size_t{1} << (b - 0xC4), len, err) && skip(len, err);
      case 0xC7: case 0xC8: case 0xC9: // ext 8/16/32: length, type, data
        return read_uint(std::size_t{1} << (b - 0xC7), len, err) && skip(len + 1, err);
      case 0xCA: return skip(4, err);
      case 0xCB: return skip(8, err);
      case 0xCC: case 0xCD: case 0xCE: case 0xCF: // uint 8..64
        return skip(std::size_t{1} << (b - 0xCC), err);
      case 0xD0: case 0xD1: case 0xD2: case 0xD3: // int 8..64
        return skip(std::size_t{1} << (b - 0xD0), err);
      case 0xD4: case 0xD5: case 0xD6: case 0xD7: case 0xD8: // fixext: type, data
        return skip(1 + (std::size_t{1} << (b - 0xD4)), err);
      case 0xD9: case 0xDA: case 0xDB: // str 8/16/32
        return read_uint(std::size_t{1} << (b - 0xD9), len, err) && str(len, err);
      case 0xDC: case 0xDD: // array 16/32
        return read_uint(b == 0xDC ? 2 : 4, children, err);
      case 0xDE: case 0xDF: // map 16/32
        if (!read_uint(b == 0xDE ? 2 : 4, len, err))
          return false;
        children = 2 * len;
        return true;
      default: // 0xC1 is never used
        --i_;
        return fail(err, "unknown type byte 0xc1");
    }
  }

  const unsigned char* p_;
  std::size_t n_;
  std::size_t i_ = 0;
};

} // namespace

std::string encode(const json& msg) {
  std::string out;
  json::to_msgpack(msg, out);
  return out;
}

std::optional<json> decode(std::string_view payload, std::string& err) {
  if (!msgpack_checker(payload).run(err))
    return std::nullopt;
  json msg;
  try {
    msg = json::from_msgpack(payload.begin(), payload.end(), /*strict=*/true);
  } catch (const json::exception& e) {
    // The checker accepts what msgpack allows; nlohmann still refuses e.g.
    // maps with non-string keys.
    err = std::string("bad msgpack: ") + e.what();
    return std::nullopt;
  }
  if (!msg.is_object()) {
    err = std::string("frame is a msgpack ") + msg.type_name() + ", not a map";
    return std::nullopt;
  }
  const auto t = msg.find("t");
  if (t == msg.end() || !t->is_string()) {
    err = "frame has no string field \"t\"";
    return std::nullopt;
  }
  return msg;
}

void put_length(std::size_t payload_size, char* out) {
  // REQUIRES payload_size <= max_frame, which fits in 32 bits.
  const auto n = static_cast<std::uint32_t>(payload_size);
  out[0] = static_cast<char>((n >> 24) & 0xFF);
  out[1] = static_cast<char>((n >> 16) & 0xFF);
  out[2] = static_cast<char>((n >> 8) & 0xFF);
  out[3] = static_cast<char>(n & 0xFF);
}

void frame_reader::feed(const char* data, std::size_t n) {
  if (!error_.empty())
    return;
  // Drop consumed bytes only when they are at least half the buffer, so each
  // byte is moved O(1) times on average however the stream is chunked.
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ >= 4096 && pos_ * 2 >= buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data, n);
}

std::optional<std::string> frame_reader::next() {
  if (!error_.empty() || buf_.size() - pos_ < 4)
    return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
  const std::size_t len = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) |
                          (std::size_t{p[2]} << 8) | std::size_t{p[3]};
  if (len == 0 || len > max_) {
    error_ = len == 0 ? "frame length is 0"
                      : "frame of " + std::to_string(len) + " bytes exceeds the maximum of " +
                          std::to_string(max_);
    std::string().swap(buf_); // free the memory; nothing more will be read
    pos_ = 0;
    return std::nullopt;
  }
  if (buf_.size() - pos_ - 4 < len)
    return std::nullopt;
  std::string payload = buf_.substr(pos_ + 4, len);
  pos_ += 4 + len;
  return payload;
}

} // namespace motia::protocol
