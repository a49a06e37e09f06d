#include "actors/error.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <caf/make_message.hpp>

namespace motia {

caf::error make_error(errc e) {
  return {static_cast<std::uint8_t>(e), caf::atom("motia")};
}

caf::error make_error(errc e, std::string message) {
  return {static_cast<std::uint8_t>(e), caf::atom("motia"),
          caf::make_message(std::move(message))};
}

std::string describe(const caf::error& err) {
  if (!err)
    return "ok";
  if (err.category() == caf::atom("motia")) {
    std::string out{to_string(static_cast<errc>(err.code()))};
    if (err.context().match_elements<std::string>())
      out += ": " + err.context().get_as<std::string>(0);
    return out;
  }
  return caf::to_string(err);
}

} // namespace motia
