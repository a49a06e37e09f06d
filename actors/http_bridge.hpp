#pragma once

#include <vector>

#include "actors/admin.hpp"
#include "adapters/http/server.hpp"

namespace motia {

class router;
class actor_slot;

/// The HTTP request handler: routes (404, 405), parses the JSON body (400),
/// builds Motia's `req` and hands it to the api step's actor with the
/// responder. Paths under /_motia/ go to `admin` first. Runs on io threads;
/// never blocks. `routes` and `targets` (one slot per route index) must
/// outlive the server.
http::request_handler make_http_handler(const router& routes,
                                        const std::vector<actor_slot*>& targets,
                                        admin_handler admin = nullptr);

} // namespace motia
