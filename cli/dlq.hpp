#pragma once

#include <string>

#include "motia/app.hpp"

namespace motia {

/// What `motia-actors dlq ACTION` was asked.
struct dlq_request {
  std::string action; ///< list | show | redrive | purge
  std::string id;     ///< a dead letter id (show, redrive, purge)
  std::string step;   ///< only this step's dead letters (list, redrive, purge)
  bool all = false;   ///< redrive / purge every dead letter
  bool json = false;
};

/// Runs a dead-letter command on the project in `opts.project_dir`: straight
/// on its RocksDB when no runtime holds it (a redriven delivery then runs
/// after the next start), else through the running runtime's admin API.
/// Prints the result; returns the process exit code.
int run_dlq_command(const run_options& opts, const dlq_request& req);

} // namespace motia
