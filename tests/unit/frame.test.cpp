#include "bindings/protocol/frame.hpp"

#define BOOST_TEST_MODULE frame
#include <boost/test/unit_test.hpp>

#include <random>

namespace proto = motia::protocol;
using motia::json;

namespace {

std::string framed(const std::string& payload) {
  std::string out(4, '\0');
  proto::put_length(payload.size(), out.data());
  return out + payload;
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b)
    s.push_back(static_cast<char>(c));
  return s;
}

std::vector<std::string> drain(proto::frame_reader& r) {
  std::vector<std::string> out;
  while (auto f = r.next())
    out.push_back(std::move(*f));
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(frame)

BOOST_AUTO_TEST_CASE(encode_then_decode_returns_the_same_message) {
  const json msg = {{"t", "invoke"},
                    {"id", 7},
                    {"neg", -3},
                    {"big", 1ull << 40},
                    {"pi", 3.25},
                    {"ok", true},
                    {"nil", nullptr},
                    {"s", "h\xC3\xA9llo"},
                    {"list", {1, "two", json::object()}},
                    {"bin", json::binary({1, 2, 3})}};
  std::string err;
  const auto back = proto::decode(proto::encode(msg), err);
  BOOST_REQUIRE_MESSAGE(back, err);
  BOOST_TEST(*back == msg);
}

BOOST_AUTO_TEST_CASE(decode_rejects_payloads_that_break_the_protocol) {
  const struct {
    const char* what;
    std::string payload;
    const char* error;
  } cases[] = {
    {"empty", "", "truncated"},
    {"not msgpack", bytes({0xC1}), "unknown type byte 0xc1"},
    {"a string", bytes({0xA2, 'h', 'i'}), "frame is a msgpack string, not a map"},
    {"an array", bytes({0x91, 0x01}), "not a map"},
    {"no t", bytes({0x81, 0xA1, 'x', 0x01}), "no string field \"t\""},
    {"t not a string", bytes({0x81, 0xA1, 't', 0x01}), "no string field \"t\""},
    {"truncated map", bytes({0x82, 0xA1, 't', 0xA1, 'x'}), "truncated"},
    {"truncated string", bytes({0x81, 0xA1, 't', 0xA5, 'a'}), "truncated"},
    {"huge str32 length", bytes({0x81, 0xA1, 't', 0xDB, 0xFF, 0xFF, 0xFF, 0xFF}),
     "truncated"},
    {"huge array32 count", bytes({0xDD, 0xFF, 0xFF, 0xFF, 0xFF}), "truncated"},
    {"trailing bytes", bytes({0x81, 0xA1, 't', 0xA1, 'x', 0x00}), "1 trailing bytes"},
    {"invalid UTF-8", bytes({0x81, 0xA1, 't', 0xA1, 0xFF}), "not valid UTF-8"},
    {"UTF-16 surrogate", bytes({0x81, 0xA1, 't', 0xA3, 0xED, 0xA0, 0x80}),
     "not valid UTF-8"},
    {"integer map key", bytes({0x81, 0x01, 0x01}), "bad msgpack"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      std::string err;
      BOOST_TEST(!proto::decode(c.payload, err).has_value());
      BOOST_TEST(err.find(c.error) != std::string::npos, "error was: " << err);
    }
  }
}

BOOST_AUTO_TEST_CASE(decode_rejects_deep_nesting_without_overflowing_the_stack) {
  // {"t": [[[[...]]]]} one million levels deep.
  std::string payload = bytes({0x81, 0xA1, 't'});
  payload.append(1'000'000, static_cast<char>(0x91));
  payload.push_back(0x01);
  std::string err;
  BOOST_TEST(!proto::decode(payload, err).has_value());
  BOOST_TEST(err.find("nested deeper than") != std::string::npos, "error was: " << err);
}

BOOST_AUTO_TEST_CASE(decode_survives_random_bytes) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::string payload(rng() % 64, '\0');
    for (char& c : payload)
      c = static_cast<char>(rng());
    if (i % 2 == 0 && !payload.empty())
      payload[0] = static_cast<char>(0x80 | (rng() % 16)); // start as a map
    std::string err;
    const auto msg = proto::decode(payload, err);
    if (msg) {
      BOOST_TEST(msg->is_object());
      BOOST_TEST(msg->at("t").is_string());
      BOOST_TEST(!msg->dump().empty()); // valid UTF-8: dump does not throw
    } else {
      BOOST_TEST(!err.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(put_length_writes_big_endian) {
  char out[4];
  proto::put_length(0x01020304, out);
  BOOST_TEST(std::string(out, 4) == bytes({1, 2, 3, 4}));
  proto::put_length(0xFFFFFFFF, out);
  BOOST_TEST(std::string(out, 4) == bytes({0xFF, 0xFF, 0xFF, 0xFF}));
}

BOOST_AUTO_TEST_CASE(reader_assembles_frames_fed_one_byte_at_a_time) {
  const std::string stream = framed("first") + framed("second");
  proto::frame_reader r;
  std::vector<std::string> got;
  for (char c : stream) {
    r.feed(&c, 1);
    for (auto& f : drain(r))
      got.push_back(std::move(f));
  }
  const std::vector<std::string> expected = {"first", "second"};
  BOOST_TEST(got == expected, boost::test_tools::per_element());
  BOOST_TEST(r.error().empty());
}

BOOST_AUTO_TEST_CASE(reader_returns_every_frame_of_one_feed_in_order) {
  const std::string stream = framed("a") + framed("bb") + framed("ccc");
  proto::frame_reader r;
  r.feed(stream.data(), stream.size());
  const std::vector<std::string> expected = {"a", "bb", "ccc"};
  BOOST_TEST(drain(r) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(reader_keeps_order_across_random_chunk_boundaries) {
  // Enough data that the reader compacts its buffer several times.
  std::string stream;
  std::vector<std::string> expected;
  for (int i = 0; i < 5000; ++i) {
    expected.push_back("frame-" + std::to_string(i) + std::string(i % 97, '.'));
    stream += framed(expected.back());
  }
  std::mt19937 rng(7);
  proto::frame_reader r;
  std::vector<std::string> got;
  for (std::size_t i = 0; i < stream.size();) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % 9000, stream.size() - i);
    r.feed(stream.data() + i, n);
    i += n;
    for (auto& f : drain(r))
      got.push_back(std::move(f));
  }
  BOOST_TEST(got == expected);
}

BOOST_AUTO_TEST_CASE(reader_holds_a_truncated_frame_until_it_is_complete) {
  const std::string f = framed("payload");
  proto::frame_reader r;
  r.feed(f.data(), 2); // half the length prefix
  BOOST_TEST(!r.next().has_value());
  r.feed(f.data() + 2, f.size() - 3); // all but the last byte
  BOOST_TEST(!r.next().has_value());
  r.feed(f.data() + f.size() - 1, 1);
  BOOST_TEST(r.next().value_or("") == "payload");
  BOOST_TEST(!r.next().has_value());
  BOOST_TEST(r.error().empty());
}

BOOST_AUTO_TEST_CASE(reader_stops_for_good_on_a_zero_or_oversized_length) {
  const struct {
    const char* what;
    std::string bad_prefix;
    const char* error;
  } cases[] = {
    {"zero", bytes({0, 0, 0, 0}), "frame length is 0"},
    {"oversized", bytes({0, 0, 0x04, 0x01}), "frame of 1025 bytes exceeds the maximum of 1024"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      proto::frame_reader r(1024);
      const std::string stream = framed("ok") + c.bad_prefix + framed("never");
      r.feed(stream.data(), stream.size());
      BOOST_TEST(r.next().value_or("") == "ok");
      BOOST_TEST(!r.next().has_value());
      BOOST_TEST(r.error() == c.error);
      r.feed(framed("later").data(), 9);
      BOOST_TEST(!r.next().has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(reader_accepts_a_frame_of_exactly_the_maximum) {
  proto::frame_reader r(8);
  const std::string f = framed("12345678");
  r.feed(f.data(), f.size());
  BOOST_TEST(r.next().value_or("") == "12345678");
}

BOOST_AUTO_TEST_CASE(a_ten_mebibyte_frame_passes_in_small_chunks) {
  json msg = {{"t", "result"}, {"value", std::string(10u << 20, 'x')}};
  const std::string stream = framed(proto::encode(msg)) + framed(proto::encode({{"t", "pong"}}));
  proto::frame_reader r;
  std::vector<std::string> got;
  for (std::size_t i = 0; i < stream.size(); i += 4096) {
    r.feed(stream.data() + i, std::min<std::size_t>(4096, stream.size() - i));
    for (auto& f : drain(r))
      got.push_back(std::move(f));
  }
  BOOST_REQUIRE_EQUAL(got.size(), 2u);
  std::string err;
  const auto back = proto::decode(got[0], err);
  BOOST_REQUIRE_MESSAGE(back, err);
  BOOST_TEST((*back == msg));
  BOOST_TEST(proto::decode(got[1], err).value_or(json()).at("t") == "pong");
}

BOOST_AUTO_TEST_SUITE_END()
