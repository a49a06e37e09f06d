#include "actors/protocol.hpp"

#include <caf/actor_system_config.hpp>

namespace motia {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<payload>("motia.payload");
  cfg.add_message_type<queued_event>("motia.queued_event");
  cfg.add_message_type<std::vector<queued_event>>("motia.queued_events");
  cfg.add_message_type<api_call>("motia.api_call");
  cfg.add_message_type<api_result>("motia.api_result");
  cfg.add_message_type<delivery_batch>("motia.delivery_batch");
  cfg.add_message_type<delivery_outcome>("motia.delivery_outcome");
  cfg.add_message_type<commit_report>("motia.commit_report");
  cfg.add_message_type<scan_result>("motia.scan_result");
  cfg.add_message_type<invocation_done>("motia.invocation_done");
  cfg.add_message_type<cron_tick>("motia.cron_tick");
  cfg.add_message_type<ws_subscription>("motia.ws_subscription");
  cfg.add_message_type<ws_auth_request>("motia.ws_auth_request");
  cfg.add_message_type<stream_change>("motia.stream_change");
  cfg.add_message_type<gateway_actor>("motia.gateway_actor");
  cfg.add_message_type<partition_actor>("motia.partition_actor");
  cfg.add_message_type<step_actor>("motia.step_actor");
}

} // namespace motia
