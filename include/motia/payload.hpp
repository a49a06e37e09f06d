#pragma once

// INTERIM (core branch): the minimal payload the new core is written against;
// replaced by the payload branch's implementation on merge.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "motia/json.hpp"

namespace motia {

/// An immutable, shared msgpack value.
class payload {
public:
  payload() noexcept;
  static payload adopt(std::string msgpack);
  static payload from_json(const json& v);
  json to_json() const;
  std::string to_json_text() const;
  std::string_view bytes() const noexcept { return {data_ ? data_->data() + off_ : "\xc0", data_ ? len_ : 1}; }
  bool is_nil() const noexcept { return bytes() == std::string_view("\xc0", 1); }
  std::optional<payload> find(std::string_view key) const;
  std::optional<std::string_view> as_string() const;
  std::optional<std::uint64_t> as_uint() const;
  std::optional<std::int64_t> as_int() const;
  std::optional<bool> as_bool() const;
  std::optional<std::string_view> as_binary() const;
  /// Map entries with string keys (others skipped), in order.
  std::vector<std::pair<std::string, payload>> map_entries() const;

private:
  std::shared_ptr<const std::string> data_;
  std::size_t off_ = 0, len_ = 0;
};

} // namespace motia
