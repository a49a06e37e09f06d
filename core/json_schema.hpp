#pragma once

#include <memory>
#include <string>
#include <vector>

#include "motia/json.hpp"

namespace motia {

/// A compiled JSON Schema (draft 4/6/7, as zod and pydantic emit them), for
/// event `input` and api `bodySchema` validation. Built once per step.
///
/// Thread-safety: validate() is const and may run on many threads at once.
class json_schema {
public:
  /// Compiles `schema`; returns nullptr and sets `err` when it is not a schema
  /// this validator understands.
  static std::shared_ptr<const json_schema> compile(const json& schema, std::string& err);
  ~json_schema();

  /// True when `value` conforms. Otherwise false, with one line per problem
  /// ("<path>: <what>", path like `/items/0/qty`, at most 20) in `errors`.
  bool validate(const json& value, std::vector<std::string>& errors) const;

private:
  json_schema();
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace motia
