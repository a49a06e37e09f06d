#include "core/error.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace motia {

caf::error make_error(errc e) {
  return {static_cast<std::uint8_t>(e), caf::atom("motia")};
}

caf::error make_error(errc e, std::string message) {
  return {static_cast<std::uint8_t>(e), caf::atom("motia"),
          caf::make_message(std::move(message))};
}

errc code_of(const caf::error& err) {
  if (!err)
    return errc::none;
  if (err.category() == caf::atom("motia"))
    return static_cast<errc>(err.code());
  if (err == caf::sec::request_receiver_down || err == caf::sec::request_timeout)
    return errc::unavailable;
  return errc::handler_failed;
}

std::string message_of(const caf::error& err) {
  if (err && err.category() == caf::atom("motia") && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return {};
}

std::string describe(const caf::error& err) {
  if (!err)
    return "ok";
  if (err.category() == caf::atom("motia")) {
    std::string out{to_string(static_cast<errc>(err.code()))};
    if (auto m = message_of(err); !m.empty())
      out += ": " + m;
    return out;
  }
  return caf::to_string(err);
}

} // namespace motia
