#include "adapters/http/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace motia::http {

namespace beast = boost::beast;
namespace asio = boost::asio;

client_result fetch(const std::string& host, std::uint16_t port, const std::string& method,
                    const std::string& target, const std::string& body,
                    const std::string& bearer_token, std::chrono::milliseconds timeout) {
  client_result out;
  try {
    asio::io_context ioc;
    asio::ip::tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(host, std::to_string(port)));
    beast::http::request<beast::http::string_body> req;
    req.method(beast::http::string_to_verb(method));
    req.target(target);
    req.version(11);
    req.set(beast::http::field::host, host);
    req.set(beast::http::field::user_agent, "motia-actors-cli");
    req.set(beast::http::field::connection, "close");
    if (!bearer_token.empty())
      req.set(beast::http::field::authorization, "Bearer " + bearer_token);
    if (!body.empty())
      req.set(beast::http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    beast::http::write(stream, req);
    beast::flat_buffer buf;
    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    beast::http::read(stream, buf, parser);
    out.status = parser.get().result_int();
    out.body = std::move(parser.get().body());
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  } catch (const std::exception& e) {
    out.status = 0;
    out.error = e.what();
  }
  return out;
}

} // namespace motia::http
