#pragma once

// The project's streams as handlers see them (`ctx.streams`): a name check in
// front of the RocksDB stream store.

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include "motia/stream.hpp"

namespace motia {

class snapshot_holder;
namespace rocks {
class stream_store;
}

/// Thrown for a stream name the project does not define.
class unknown_stream : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

/// ctx.streams of every language. Thread-safety: as stream_access.
class project_streams final : public stream_access {
public:
  /// Streams are those of the snapshot in force at each call.
  project_streams(const snapshot_holder& snapshots, rocks::stream_store& store)
      : snapshots_(snapshots), store_(store) {}

  json get(const std::string& stream, const std::string& group, const std::string& id) override;
  json set(const std::string& stream, const std::string& group, const std::string& id, json data) override;
  json del(const std::string& stream, const std::string& group, const std::string& id) override;
  json get_group(const std::string& stream, const std::string& group) override;
  void send(const std::string& stream, const std::string& group, const std::string& id, json event) override;

private:
  void check(const std::string& stream) const;

  const snapshot_holder& snapshots_;
  rocks::stream_store& store_;
};

/// The error event Motia's server sends a WebSocket client (`{"timestamp",
/// "streamName"?, "groupId"?, "id"?, "event": {"type": "event", "event":
/// {"type": "error", "data": {code, message}}}}`); empty names are left out.
std::shared_ptr<const std::string> stream_error_event(const std::string& stream, const std::string& group,
                                                      const std::string& id, std::string_view code,
                                                      const std::string& message);

/// Serves one worker `call` whose op starts with "stream.". Throws
/// unknown_stream, std::invalid_argument (bad input) or std::runtime_error.
json stream_call(stream_access& streams, const std::string& op, const json& args);

} // namespace motia
