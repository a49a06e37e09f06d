#pragma once

// INTERIM (core branch): replaced by the payload branch's builder on merge.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "motia/payload.hpp"

namespace motia {

/// Appends msgpack values to a string, smallest encodings first.
class msgpack_writer {
public:
  msgpack_writer() = default;
  /// Starts with a 4-byte length placeholder (a worker frame); finish_frame() patches it.
  static msgpack_writer frame() {
    msgpack_writer w;
    w.out_.assign(4, '\0');
    w.framed_ = true;
    return w;
  }
  msgpack_writer& map(std::uint32_t n) { return header(n, 0x80, 0xde, 0xdf, 15); }
  msgpack_writer& array(std::uint32_t n) { return header(n, 0x90, 0xdc, 0xdd, 15); }
  msgpack_writer& str(std::string_view s) {
    auto n = s.size();
    if (n < 32)
      put8(0xa0 | n);
    else if (n < 256)
      put8(0xd9), put8(n);
    else if (n < 65536)
      put8(0xda), put_be(n, 2);
    else
      put8(0xdb), put_be(n, 4);
    out_.append(s.data(), s.size());
    return *this;
  }
  msgpack_writer& bin(std::string_view s) {
    auto n = s.size();
    if (n < 256)
      put8(0xc4), put8(n);
    else if (n < 65536)
      put8(0xc5), put_be(n, 2);
    else
      put8(0xc6), put_be(n, 4);
    out_.append(s.data(), s.size());
    return *this;
  }
  msgpack_writer& uint(std::uint64_t v) {
    if (v < 128)
      put8(v);
    else if (v < 256)
      put8(0xcc), put8(v);
    else if (v < 65536)
      put8(0xcd), put_be(v, 2);
    else if (v <= 0xffffffffULL)
      put8(0xce), put_be(v, 4);
    else
      put8(0xcf), put_be(v, 8);
    return *this;
  }
  msgpack_writer& sint(std::int64_t v) {
    if (v >= 0)
      return uint(static_cast<std::uint64_t>(v));
    if (v >= -32)
      put8(static_cast<std::uint8_t>(v));
    else
      put8(0xd3), put_be(static_cast<std::uint64_t>(v), 8);
    return *this;
  }
  msgpack_writer& boolean(bool b) { return put8(b ? 0xc3 : 0xc2), *this; }
  msgpack_writer& nil() { return put8(0xc0), *this; }
  msgpack_writer& raw(const payload& p) {
    auto b = p.bytes();
    out_.append(b.data(), b.size());
    return *this;
  }
  std::string& buffer() { return out_; }
  /// The bytes; for a frame, with its length patched in.
  std::string finish() && {
    if (framed_) {
      auto n = out_.size() - 4;
      for (int i = 0; i < 4; ++i)
        out_[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * (3 - i))) & 0xff);
    }
    return std::move(out_);
  }

private:
  msgpack_writer& header(std::uint32_t n, unsigned fix, unsigned b16, unsigned b32, std::uint32_t fixmax) {
    if (n <= fixmax)
      put8(fix | n);
    else if (n < 65536)
      put8(b16), put_be(n, 2);
    else
      put8(b32), put_be(n, 4);
    return *this;
  }
  void put8(std::uint64_t b) { out_.push_back(static_cast<char>(b & 0xff)); }
  void put_be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i)
      out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
  bool framed_ = false;
};

} // namespace motia
