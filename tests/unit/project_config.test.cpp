#include "core/project_config.hpp"

#define BOOST_TEST_MODULE project_config
#include <boost/test/unit_test.hpp>

#include <fstream>

namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path = fs::temp_directory_path() / ("motia-pc-" + std::to_string(::getpid()));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() { fs::remove_all(path); }
  void config(const std::string& text) const { std::ofstream(path / "motia-actors.json") << text; }
};

} // namespace

BOOST_AUTO_TEST_CASE(a_project_without_a_config_file_gets_every_default) {
  temp_dir d;
  std::string err;
  auto c = motia::load_project_config(d.path, err);
  BOOST_REQUIRE_MESSAGE(c, err);
  BOOST_CHECK_EQUAL(c->port, 3000);
  BOOST_CHECK_EQUAL(c->host, "127.0.0.1");
  BOOST_CHECK_EQUAL(c->body_limit, 1024u * 1024u);
  BOOST_CHECK(c->data_dir == fs::canonical(d.path) / ".motia-actors");
  BOOST_CHECK(!c->durable_sync);
  BOOST_REQUIRE_EQUAL(c->node.command.size(), 1u);
  BOOST_CHECK_EQUAL(c->node.command[0], "node");
}

BOOST_AUTO_TEST_CASE(settings_in_the_file_override_the_defaults) {
  temp_dir d;
  d.config(R"({"http": {"port": 8080, "bodyLimit": 2048, "readTimeoutMs": 500},
               "dataDir": "var/db", "durability": "strict",
               "workers": {"node": {"command": ["/opt/node/bin/node", "--max-old-space-size=256"], "count": 2}},
               "supervision": {"maxRestarts": 3, "backoffMinMs": 5}, "log": {"level": "debug"}})");
  std::string err;
  auto c = motia::load_project_config(d.path, err);
  BOOST_REQUIRE_MESSAGE(c, err);
  BOOST_CHECK_EQUAL(c->port, 8080);
  BOOST_CHECK_EQUAL(c->body_limit, 2048u);
  BOOST_CHECK_EQUAL(c->read_timeout.count(), 500);
  BOOST_CHECK(c->data_dir == fs::canonical(d.path) / "var/db");
  BOOST_CHECK(c->durable_sync);
  BOOST_CHECK_EQUAL(c->node.command.size(), 2u);
  BOOST_CHECK_EQUAL(c->node.count, 2u);
  BOOST_CHECK_EQUAL(c->supervision.max_restarts, 3u);
  BOOST_CHECK_EQUAL(c->supervision.backoff_min.count(), 5);
  BOOST_CHECK_EQUAL(c->log_level, "debug");
}

BOOST_AUTO_TEST_CASE(bad_config_files_are_refused_with_the_setting_named) {
  struct row {
    const char* text;
    const char* reason;
  };
  const row rows[] = {
    {"{not json", "not valid JSON"},
    {"[]", "must be an object"},
    {R"({"prot": 1})", "unknown setting 'prot'"},
    {R"({"http": {"port": 70000}})", "motia-actors.json.http: 'port' must be a number from 0 to 65535"},
    {R"({"http": {"port": "80"}})", "'port' must be a number"},
    {R"({"durability": "sometimes"})", "'durability' must be"},
    {R"({"workers": {"node": {"command": []}}})", "'command' must be a non-empty array"},
    {R"({"workers": {"ruby": {}}})", "unknown setting 'ruby'"},
    {R"({"log": {"level": "loud"}})", "'level' must be debug, info, warn or error"},
    {R"({"streams": {"sendQueueBytes": 10}})", "motia-actors.json.streams: 'sendQueueBytes' must be a number"},
    {R"({"streams": {"authenticate": 1}})", "'authenticate' must be a string"},
    {R"({"streams": {"auth": "a.js"}})", "unknown setting 'auth'"},
  };
  for (auto& r : rows) {
    temp_dir d;
    d.config(r.text);
    std::string err;
    BOOST_TEST_CONTEXT(r.text) {
      BOOST_CHECK(!motia::load_project_config(d.path, err));
      BOOST_CHECK_MESSAGE(err.find(r.reason) != std::string::npos, "got: " << err);
    }
  }
}

BOOST_AUTO_TEST_CASE(stream_settings_have_defaults_and_are_read) {
  temp_dir d;
  std::string err;
  auto c = motia::load_project_config(d.path, err);
  BOOST_REQUIRE_MESSAGE(c, err);
  BOOST_TEST(c->stream_auth_file.empty());
  BOOST_TEST(c->stream_message_limit == 64u * 1024u);
  BOOST_TEST(c->stream_send_queue == 4u * 1024u * 1024u);
  BOOST_TEST(c->stream_max_subscriptions == 1024u);
  d.config(R"({"streams": {"authenticate": "auth.py", "messageLimit": 1000, "sendQueueBytes": 65536,
                           "idleTimeoutMs": 500, "maxSubscriptions": 8}})");
  c = motia::load_project_config(d.path, err);
  BOOST_REQUIRE_MESSAGE(c, err);
  BOOST_TEST(c->stream_auth_file == "auth.py");
  BOOST_TEST(c->stream_message_limit == 1000u);
  BOOST_TEST(c->stream_send_queue == 65536u);
  BOOST_TEST(c->stream_idle_timeout.count() == 500);
  BOOST_TEST(c->stream_max_subscriptions == 8u);
}

BOOST_AUTO_TEST_CASE(a_missing_project_directory_is_an_error) {
  std::string err;
  BOOST_CHECK(!motia::load_project_config("/nonexistent/motia/project", err));
  BOOST_CHECK(err.find("does not exist") != std::string::npos);
}
