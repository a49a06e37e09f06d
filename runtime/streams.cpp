#include "runtime/streams.hpp"

#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "runtime/runtime_env.hpp"
#include "adapters/rocksdb/stream_store.hpp"

namespace motia {

void project_streams::check(const std::string& stream) const {
  auto snap = snapshots_.current();
  if (!snap || snap->streams.find(stream) == snap->streams.end())
    throw unknown_stream(fmt::format("no stream named '{}' in this project", stream));
}

json project_streams::get(const std::string& stream, const std::string& group, const std::string& id) {
  check(stream);
  auto item = store_.get(stream, group, id);
  return item ? std::move(*item) : json(nullptr);
}

json project_streams::set(const std::string& stream, const std::string& group, const std::string& id,
                          json data) {
  check(stream);
  return store_.set(stream, group, id, std::move(data));
}

json project_streams::del(const std::string& stream, const std::string& group, const std::string& id) {
  check(stream);
  auto item = store_.del(stream, group, id);
  return item ? std::move(*item) : json(nullptr);
}

json project_streams::get_group(const std::string& stream, const std::string& group) {
  check(stream);
  return store_.get_group(stream, group);
}

void project_streams::send(const std::string& stream, const std::string& group, const std::string& id,
                           json event) {
  check(stream);
  store_.send(stream, group, id, event);
}

std::shared_ptr<const std::string> stream_error_event(const std::string& stream, const std::string& group,
                                                      const std::string& id, std::string_view code,
                                                      const std::string& message) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  json msg = {{"timestamp", now}};
  for (auto [key, value] : {std::pair{"streamName", &stream}, {"groupId", &group}, {"id", &id}})
    if (!value->empty())
      msg[key] = *value;
  msg["event"] = {{"type", "event"},
                  {"event", {{"type", "error"}, {"data", {{"code", code}, {"message", message}}}}}};
  return std::make_shared<const std::string>(msg.dump(-1, ' ', false, json::error_handler_t::replace));
}

namespace {

std::string text_arg(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null())
    return {};
  if (!it->is_string())
    throw std::invalid_argument(fmt::format("'{}' must be a string", key));
  return it->get<std::string>();
}

} // namespace

json stream_call(stream_access& streams, const std::string& op, const json& args) {
  auto stream = text_arg(args, "stream");
  auto group = text_arg(args, "groupId");
  if (op == "stream.get")
    return streams.get(stream, group, text_arg(args, "id"));
  if (op == "stream.set") {
    auto it = args.find("data");
    return streams.set(stream, group, text_arg(args, "id"), it == args.end() ? json(nullptr) : *it);
  }
  if (op == "stream.delete")
    return streams.del(stream, group, text_arg(args, "id"));
  if (op == "stream.getGroup")
    return streams.get_group(stream, group);
  if (op == "stream.send") {
    auto it = args.find("event");
    streams.send(stream, group, text_arg(args, "id"), it == args.end() ? json(nullptr) : *it);
    return nullptr;
  }
  throw std::invalid_argument(fmt::format("unknown op '{}'", op));
}

} // namespace motia
