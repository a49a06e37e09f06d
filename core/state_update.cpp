#include "core/state_update.hpp"

#include <fmt/format.h>

namespace motia {

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size() && !path.empty()) {
    auto dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos)
      break;
    start = dot + 1;
  }
  return parts;
}

// The object that holds the last path segment, creating objects on the way.
json* parent_of(json& root, const std::vector<std::string>& parts, std::string& err) {
  json* cur = &root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (cur->is_null())
      *cur = json::object();
    if (!cur->is_object()) {
      err = fmt::format("'{}' is not an object", parts[i == 0 ? 0 : i - 1]);
      return nullptr;
    }
    cur = &(*cur)[parts[i]];
  }
  if (cur->is_null())
    *cur = json::object();
  if (!cur->is_object()) {
    err = "the parent of the path is not an object";
    return nullptr;
  }
  return cur;
}

bool apply_one(json& root, const json& op, std::string& err) {
  if (!op.is_object() || !op.contains("type") || !op["type"].is_string()) {
    err = "each op must be an object with a string 'type'";
    return false;
  }
  const auto type = op["type"].get<std::string>();
  std::string path;
  if (auto p = op.find("path"); p != op.end() && !p->is_null()) {
    if (!p->is_string()) {
      err = fmt::format("{}: 'path' must be a string", type);
      return false;
    }
    path = p->get<std::string>();
  }
  const auto parts = split_path(path);
  if (type == "remove") {
    if (parts.empty()) {
      root = json::object();
      return true;
    }
    json* cur = &root; // walk without creating anything
    for (std::size_t i = 0; i + 1 < parts.size() && cur; ++i)
      cur = cur->is_object() && cur->contains(parts[i]) ? &(*cur)[parts[i]] : nullptr;
    if (cur && cur->is_object())
      cur->erase(parts.back());
    return true;
  }
  json* target = &root;
  json* parent = nullptr;
  if (!parts.empty()) {
    parent = parent_of(root, parts, err);
    if (!parent) {
      err = fmt::format("{} at '{}': {}", type, path, err);
      return false;
    }
    target = &(*parent)[parts.back()];
  }
  if (type == "set") {
    if (!op.contains("value")) {
      err = "set needs a 'value'";
      return false;
    }
    *target = op["value"];
    return true;
  }
  if (type == "merge") {
    const auto& v = op.contains("value") ? op["value"] : json();
    if (!v.is_object()) {
      err = "merge needs an object 'value'";
      return false;
    }
    if (target->is_null())
      *target = json::object();
    if (!target->is_object()) {
      err = fmt::format("merge at '{}': the value there is not an object", path);
      return false;
    }
    for (auto& [k, x] : v.items())
      (*target)[k] = x;
    return true;
  }
  if (type == "increment" || type == "decrement") {
    json by = op.contains("by") ? op["by"] : json(1);
    if (!by.is_number()) {
      err = fmt::format("{}: 'by' must be a number", type);
      return false;
    }
    if (target->is_null())
      *target = 0;
    if (!target->is_number()) {
      err = fmt::format("{} at '{}': the value there is not a number", type, path);
      return false;
    }
    const bool sub = type == "decrement";
    if (target->is_number_integer() && by.is_number_integer()) {
      auto a = target->get<std::int64_t>(), b = by.get<std::int64_t>();
      *target = sub ? a - b : a + b;
    } else {
      auto a = target->get<double>(), b = by.get<double>();
      *target = sub ? a - b : a + b;
    }
    return true;
  }
  err = fmt::format("unknown op type '{}' (set, merge, increment, decrement, remove)", type);
  return false;
}

} // namespace

bool apply_update_ops(json& value, const json& ops, std::string& err) {
  if (!ops.is_array()) {
    err = "'ops' must be an array";
    return false;
  }
  if (value.is_null())
    value = json::object();
  for (const auto& op : ops)
    if (!apply_one(value, op, err))
      return false;
  return true;
}

} // namespace motia
