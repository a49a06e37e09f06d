#pragma once

// The value type of the public API. nlohmann::json is what handlers see; on the
// wire and in RocksDB the same values travel as msgpack (see docs/formats/).
#include <nlohmann/json.hpp>

namespace motia {
using json = nlohmann::json;
} // namespace motia
