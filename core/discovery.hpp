#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/step_config.hpp"

namespace motia {

/// The step files of a project, by the language that loads them.
struct discovered_files {
  std::vector<std::string> node;      ///< *.step.js|mjs|cjs|ts, *_step.js|ts: the Node worker's
  std::vector<std::string> python;    ///< *_step.py, *.step.py
  std::vector<std::string> typescript; ///< the TS files among `node`
  std::vector<std::string> streams;   ///< *.stream.ts|js, *_stream.py, *.stream.py
};

/// Finds step files under `root/steps` and `root/src`, recursively, skipping
/// node_modules, python_modules and hidden directories. Paths are absolute and
/// sorted, so discovery is deterministic.
discovered_files discover(const std::filesystem::path& root);

/// True if `filename` names a step file of any language.
bool is_step_file(const std::string& filename);

} // namespace motia
