#pragma once

// The worker wire format (docs/protocol.md): frames of a 4-byte big-endian
// length and one msgpack map with a string field "t".

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "motia/json.hpp"

namespace motia::protocol {

inline constexpr std::uint32_t version = 1;
inline constexpr std::size_t default_max_frame = 16 * 1024 * 1024;

/// Encodes `msg` (a map with "t") as msgpack, without the length prefix.
std::string encode(const json& msg);

/// Decodes one frame payload. Returns nullopt and sets `err` if it is not
/// msgpack, not a map, or has no string "t".
std::optional<json> decode(std::string_view payload, std::string& err);

/// Writes the 4-byte big-endian length of `payload_size` into out[0..4).
void put_length(std::size_t payload_size, char* out);

/// Incremental splitter for a byte stream of frames.
class frame_reader {
public:
  explicit frame_reader(std::size_t max_frame = default_max_frame) : max_(max_frame) {}
  /// Appends received bytes.
  void feed(const char* data, std::size_t n);
  /// The next complete payload, if any. Once a length of 0 or over the max is
  /// seen, returns nullopt forever and error() says why.
  std::optional<std::string> next();
  const std::string& error() const { return error_; }

private:
  std::size_t max_;
  std::string buf_;
  std::size_t pos_ = 0;
  std::string error_;
};

} // namespace motia::protocol
