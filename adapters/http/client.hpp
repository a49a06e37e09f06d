#pragma once

// A small blocking HTTP/1.1 client for the CLI's admin calls (one request
// per connection). Includes no Beast: cheap to include.

#include <chrono>
#include <cstdint>
#include <string>

namespace motia::http {

struct client_result {
  unsigned status = 0; ///< 0 when no response came (error says why)
  std::string body;
  std::string error;
};

/// Sends one request to host:port and reads the whole response, within
/// `timeout` for connect + write + read.
client_result fetch(const std::string& host, std::uint16_t port, const std::string& method,
                    const std::string& target, const std::string& body = {},
                    const std::string& bearer_token = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

} // namespace motia::http
