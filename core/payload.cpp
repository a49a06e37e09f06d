// INTERIM (core branch): replaced by the payload branch on merge.
#include "motia/payload.hpp"

#include <cstring>

namespace motia {

namespace {

std::uint64_t be(const char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Length of the msgpack object at s[0..n); 0 when malformed.
std::size_t skip(const char* s, std::size_t n) {
  std::size_t pos = 0, todo = 1;
  while (todo > 0) {
    if (pos >= n)
      return 0;
    auto b = static_cast<unsigned char>(s[pos]);
    --todo;
    auto need = [&](std::size_t k) { return pos + k <= n; };
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      pos += 1;
    } else if ((b & 0xf0) == 0x80) {
      todo += 2 * (b & 0x0f);
      pos += 1;
    } else if ((b & 0xf0) == 0x90) {
      todo += b & 0x0f;
      pos += 1;
    } else if ((b & 0xe0) == 0xa0) {
      pos += 1 + (b & 0x1f);
    } else {
      switch (b) {
        case 0xcc: case 0xd0: pos += 2; break;
        case 0xcd: case 0xd1: pos += 3; break;
        case 0xca: case 0xce: case 0xd2: pos += 5; break;
        case 0xcb: case 0xcf: case 0xd3: pos += 9; break;
        case 0xd9: case 0xc4: if (!need(2)) return 0; pos += 2 + be(s + pos + 1, 1); break;
        case 0xda: case 0xc5: if (!need(3)) return 0; pos += 3 + be(s + pos + 1, 2); break;
        case 0xdb: case 0xc6: if (!need(5)) return 0; pos += 5 + be(s + pos + 1, 4); break;
        case 0xdc: if (!need(3)) return 0; todo += be(s + pos + 1, 2); pos += 3; break;
        case 0xdd: if (!need(5)) return 0; todo += be(s + pos + 1, 4); pos += 5; break;
        case 0xde: if (!need(3)) return 0; todo += 2 * be(s + pos + 1, 2); pos += 3; break;
        case 0xdf: if (!need(5)) return 0; todo += 2 * be(s + pos + 1, 4); pos += 5; break;
        default: return 0;
      }
    }
  }
  return pos <= n ? pos : 0;
}

} // namespace

payload::payload() noexcept = default;

payload payload::adopt(std::string msgpack) {
  payload p;
  p.len_ = msgpack.size();
  p.data_ = std::make_shared<const std::string>(std::move(msgpack));
  return p;
}

payload payload::from_json(const json& v) {
  std::string out;
  json::to_msgpack(v, out);
  return adopt(std::move(out));
}

json payload::to_json() const {
  auto b = bytes();
  return json::from_msgpack(b.begin(), b.end(), true, false);
}

std::string payload::to_json_text() const { return to_json().dump(-1, ' ', false, json::error_handler_t::replace); }

std::vector<std::pair<std::string, payload>> payload::map_entries() const {
  std::vector<std::pair<std::string, payload>> out;
  auto b = bytes();
  const char* s = b.data();
  std::size_t n = b.size(), pos = 0;
  if (n == 0)
    return out;
  auto h = static_cast<unsigned char>(s[0]);
  std::uint64_t count;
  if ((h & 0xf0) == 0x80) {
    count = h & 0x0f;
    pos = 1;
  } else if (h == 0xde && n >= 3) {
    count = be(s + 1, 2);
    pos = 3;
  } else if (h == 0xdf && n >= 5) {
    count = be(s + 1, 4);
    pos = 5;
  } else {
    return out;
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    auto klen = skip(s + pos, n - pos);
    if (!klen)
      return out;
    payload k;
    k.data_ = data_;
    k.off_ = off_ + pos;
    k.len_ = klen;
    pos += klen;
    auto vlen = skip(s + pos, n - pos);
    if (!vlen)
      return out;
    payload v;
    v.data_ = data_;
    v.off_ = off_ + pos;
    v.len_ = vlen;
    pos += vlen;
    if (auto ks = k.as_string())
      out.emplace_back(std::string(*ks), std::move(v));
  }
  return out;
}

std::optional<std::string_view> payload::as_binary() const {
  auto b = bytes();
  if (b.empty())
    return std::nullopt;
  auto h = static_cast<unsigned char>(b[0]);
  std::size_t hl = h == 0xc4 ? 2 : h == 0xc5 ? 3 : h == 0xc6 ? 5 : 0;
  if (hl == 0 || b.size() < hl)
    return std::nullopt;
  auto len = be(b.data() + 1, static_cast<int>(hl - 1));
  if (hl + len > b.size())
    return std::nullopt;
  return b.substr(hl, len);
}

std::optional<payload> payload::find(std::string_view key) const {
  auto b = bytes();
  const char* s = b.data();
  std::size_t n = b.size(), pos = 0;
  if (n == 0)
    return std::nullopt;
  auto h = static_cast<unsigned char>(s[0]);
  std::uint64_t count;
  if ((h & 0xf0) == 0x80) {
    count = h & 0x0f;
    pos = 1;
  } else if (h == 0xde && n >= 3) {
    count = be(s + 1, 2);
    pos = 3;
  } else if (h == 0xdf && n >= 5) {
    count = be(s + 1, 4);
    pos = 5;
  } else {
    return std::nullopt;
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    auto klen = skip(s + pos, n - pos);
    if (!klen)
      return std::nullopt;
    payload k;
    k.data_ = data_;
    k.off_ = off_ + pos;
    k.len_ = klen;
    pos += klen;
    auto vlen = skip(s + pos, n - pos);
    if (!vlen)
      return std::nullopt;
    if (k.as_string() == key) {
      payload v;
      v.data_ = data_;
      v.off_ = off_ + pos;
      v.len_ = vlen;
      return v;
    }
    pos += vlen;
  }
  return std::nullopt;
}

std::optional<std::string_view> payload::as_string() const {
  auto b = bytes();
  if (b.empty())
    return std::nullopt;
  auto h = static_cast<unsigned char>(b[0]);
  std::size_t hl, len;
  if ((h & 0xe0) == 0xa0) {
    hl = 1;
    len = h & 0x1f;
  } else if (h == 0xd9 && b.size() >= 2) {
    hl = 2;
    len = be(b.data() + 1, 1);
  } else if (h == 0xda && b.size() >= 3) {
    hl = 3;
    len = be(b.data() + 1, 2);
  } else if (h == 0xdb && b.size() >= 5) {
    hl = 5;
    len = be(b.data() + 1, 4);
  } else {
    return std::nullopt;
  }
  if (hl + len > b.size())
    return std::nullopt;
  return b.substr(hl, len);
}

std::optional<std::int64_t> payload::as_int() const {
  auto b = bytes();
  if (b.empty())
    return std::nullopt;
  auto h = static_cast<unsigned char>(b[0]);
  if (h <= 0x7f)
    return h;
  if (h >= 0xe0)
    return static_cast<std::int8_t>(h);
  auto sz = [&](int k) { return b.size() >= static_cast<std::size_t>(k + 1); };
  switch (h) {
    case 0xcc: if (sz(1)) return be(b.data() + 1, 1); break;
    case 0xcd: if (sz(2)) return be(b.data() + 1, 2); break;
    case 0xce: if (sz(4)) return be(b.data() + 1, 4); break;
    case 0xcf: if (sz(8)) return static_cast<std::int64_t>(be(b.data() + 1, 8)); break;
    case 0xd0: if (sz(1)) return static_cast<std::int8_t>(be(b.data() + 1, 1)); break;
    case 0xd1: if (sz(2)) return static_cast<std::int16_t>(be(b.data() + 1, 2)); break;
    case 0xd2: if (sz(4)) return static_cast<std::int32_t>(be(b.data() + 1, 4)); break;
    case 0xd3: if (sz(8)) return static_cast<std::int64_t>(be(b.data() + 1, 8)); break;
    default: break;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> payload::as_uint() const {
  auto b = bytes();
  if (!b.empty() && static_cast<unsigned char>(b[0]) == 0xcf && b.size() >= 9)
    return be(b.data() + 1, 8);
  auto v = as_int();
  if (!v || *v < 0)
    return std::nullopt;
  return static_cast<std::uint64_t>(*v);
}

std::optional<bool> payload::as_bool() const {
  auto b = bytes();
  if (b.size() == 1 && (b[0] == '\xc2' || b[0] == '\xc3'))
    return b[0] == '\xc3';
  return std::nullopt;
}

} // namespace motia
