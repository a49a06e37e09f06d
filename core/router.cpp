#include "core/router.hpp"

#include <algorithm>

namespace motia {

namespace {

// Splits "/a/b" into {"a", "b"}. One trailing slash is dropped ("/a/" is
// "/a", "/" has no segments). Returns false if `path` does not start with '/'
// or has an empty segment ("/a//b").
bool split_path(std::string_view path, std::vector<std::string_view>& segs) {
  segs.clear();
  if (path.empty() || path.front() != '/')
    return false;
  path.remove_prefix(1);
  if (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  if (path.empty())
    return true;
  for (;;) {
    const auto slash = path.find('/');
    const auto seg = path.substr(0, slash);
    if (seg.empty())
      return false;
    segs.push_back(seg);
    if (slash == std::string_view::npos)
      return true;
    path.remove_prefix(slash + 1);
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Query strings follow application/x-www-form-urlencoded: '+' is a space. A bad
// escape keeps the raw text, as Node's querystring does, rather than dropping
// the parameter.
std::string decode_query_part(std::string_view s) {
  std::string plus_as_space(s);
  std::replace(plus_as_space.begin(), plus_as_space.end(), '+', ' ');
  auto decoded = percent_decode(plus_as_space);
  return decoded ? std::move(*decoded) : plus_as_space;
}

} // namespace

std::optional<std::string> router::add(std::string_view method, std::string_view path,
                                       std::size_t route) {
  std::vector<std::string_view> segs;
  if (!split_path(path, segs))
    return "invalid path \"" + std::string(path) +
           "\": it must start with '/' and have no empty segment";
  std::vector<std::string> names;
  for (const auto seg : segs) {
    if (seg.front() != ':')
      continue;
    std::string name(seg.substr(1));
    if (name.empty())
      return "invalid path \"" + std::string(path) + "\": empty parameter name";
    if (std::find(names.begin(), names.end(), name) != names.end())
      return "invalid path \"" + std::string(path) + "\": parameter :" + name +
             " appears twice";
    names.push_back(std::move(name));
  }
  // Walk (and grow) the trie; indices, not references, since nodes_ may grow.
  std::size_t n = 0;
  for (const auto seg : segs) {
    std::size_t next = 0;
    if (seg.front() == ':') {
      next = nodes_[n].param;
    } else if (auto it = nodes_[n].statics.find(seg); it != nodes_[n].statics.end()) {
      next = it->second;
    }
    if (next == 0) {
      next = nodes_.size();
      nodes_.emplace_back();
      if (seg.front() == ':')
        nodes_[n].param = next;
      else
        nodes_[n].statics.emplace(std::string(seg), next);
    }
    n = next;
  }
  for (const auto& s : nodes_[n].slots)
    if (s.method == method)
      return std::string(method) + " " + std::string(path) + " conflicts with " +
             s.method + " " + s.path;
  nodes_[n].slots.push_back({std::string(method), std::string(path), std::move(names), route});
  max_depth_ = std::max(max_depth_, segs.size());
  return std::nullopt;
}

// Depth-first, static child before param child, so a static segment wins at
// its depth but a dead end there still falls back to the param route.
bool router::search(std::size_t n, const std::vector<std::string_view>& segs,
                    std::size_t depth, std::string_view method,
                    std::vector<std::string_view>& captured, match_result& out) const {
  const node& nd = nodes_[n];
  if (depth == segs.size()) {
    for (const auto& s : nd.slots) {
      if (s.method != method)
        continue;
      out.what = match_result::kind::found;
      out.route = s.route;
      for (std::size_t i = 0; i < s.names.size(); ++i) {
        auto value = percent_decode(captured[i]);
        out.params.emplace_back(s.names[i],
                                value ? std::move(*value) : std::string(captured[i]));
      }
      return true;
    }
    for (const auto& s : nd.slots)
      out.allowed.push_back(s.method);
    return false;
  }
  if (auto it = nd.statics.find(segs[depth]); it != nd.statics.end())
    if (search(it->second, segs, depth + 1, method, captured, out))
      return true;
  if (nd.param != 0) {
    captured.push_back(segs[depth]);
    if (search(nd.param, segs, depth + 1, method, captured, out))
      return true;
    captured.pop_back();
  }
  return false;
}

router::match_result router::match(std::string_view method, std::string_view path) const {
  match_result out;
  std::vector<std::string_view> segs;
  // Longer paths than any route cannot match; checking first bounds the work
  // an outside request can cause.
  if (!split_path(path, segs) || segs.size() > max_depth_)
    return out;
  std::vector<std::string_view> captured;
  if (search(0, segs, 0, method, captured, out)) {
    out.allowed.clear();
    return out;
  }
  if (!out.allowed.empty()) {
    std::sort(out.allowed.begin(), out.allowed.end());
    out.allowed.erase(std::unique(out.allowed.begin(), out.allowed.end()),
                      out.allowed.end());
    out.what = match_result::kind::method_not_allowed;
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (s.size() - i < 3) // '%' needs two hex digits after it
      return std::nullopt;
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!q.empty() && q.front() == '?')
    q.remove_prefix(1);
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty())
      continue; // "a=1&&b=2"
    const auto eq = part.find('=');
    out.emplace_back(decode_query_part(part.substr(0, eq)),
                     eq == std::string_view::npos ? std::string()
                                                  : decode_query_part(part.substr(eq + 1)));
  }
  return out;
}

} // namespace motia
