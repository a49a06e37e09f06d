#pragma once

namespace motia {

class runtime;

/// The startup summary: steps by kind, routes, topics, schedules, address.
void print_summary(const runtime& rt);

/// The `steps` command: a table of steps and their wiring, or JSON.
void print_steps(const runtime& rt, bool as_json);

} // namespace motia
