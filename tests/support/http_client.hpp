#pragma once

// A tiny blocking HTTP/1.1 client for tests: one request per connection,
// loopback only. Deliberately independent of the server's code (raw sockets).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace motia::test {

struct http_result {
  int status = 0; ///< 0 when the connection failed
  std::string headers;
  std::string body;
};

inline http_result http_request(std::uint16_t port, const std::string& method,
                                const std::string& target, const std::string& body = {},
                                const std::string& content_type = "application/json") {
  http_result r;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty())
    req += "Content-Type: " + content_type + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (std::size_t off = 0; off < req.size();) {
    auto n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      break;
    off += static_cast<std::size_t>(n);
  }
  std::string resp;
  char buf[16384];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto head_end = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos)
    return r;
  r.status = std::stoi(resp.substr(9, 3));
  r.headers = resp.substr(0, head_end);
  r.body = resp.substr(head_end + 4);
  return r;
}

} // namespace motia::test
