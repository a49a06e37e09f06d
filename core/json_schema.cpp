#include "core/json_schema.hpp"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace motia {

struct json_schema::impl {
  valijson::Schema schema;
};

json_schema::json_schema() : impl_(std::make_unique<impl>()) {}
json_schema::~json_schema() = default;

std::shared_ptr<const json_schema> json_schema::compile(const json& schema, std::string& err) {
  if (!schema.is_object() && !schema.is_boolean()) {
    err = "a JSON Schema must be an object";
    return nullptr;
  }
  std::shared_ptr<json_schema> out(new json_schema());
  try {
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter(schema);
    parser.populateSchema(adapter, out->impl_->schema);
  } catch (const std::exception& e) {
    err = std::string("invalid JSON Schema: ") + e.what();
    return nullptr;
  }
  return out;
}

bool json_schema::validate(const json& value, std::vector<std::string>& errors) const {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(value);
  if (validator.validate(impl_->schema, target, &results))
    return true;
  valijson::ValidationResults::Error e;
  while (results.popError(e) && errors.size() < 20) {
    // valijson adds a summary line per enclosing property ("Failed to validate
    // against schema associated with property name 'x'"): the leaf says more.
    if (e.description.rfind("Failed to validate against schema associated with", 0) == 0)
      continue;
    std::string path;
    for (auto& c : e.context)
      if (c != "<root>")
        path += c.size() > 2 && c.front() == '[' && c.back() == ']'
                  ? "/" + c.substr(1, c.size() - 2)
                  : "/" + c;
    errors.push_back((path.empty() ? "/" : path) + ": " + e.description);
  }
  if (errors.empty())
    errors.push_back("/: does not match the schema");
  return false;
}

} // namespace motia
