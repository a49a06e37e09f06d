"""Frame splitting, decoding and the batching of outgoing frames."""

import asyncio
import unittest

import msgpack

import helpers  # noqa: F401  (puts this checkout's motia_worker on sys.path)
from motia_worker.codec import FrameDecoder, ProtocolError, decode, encode, encode_frame
from motia_worker.connection import Connection


def frames_of(decoder):
    out = []
    while (p := decoder.next()) is not None:
        out.append(p)
    return out


class FrameDecoderTest(unittest.TestCase):
    def test_splits_frames_that_arrive_in_pieces_and_together(self):
        data = encode_frame({"t": "a"}) + encode_frame({"t": "b", "x": "y" * 300}) + encode_frame({"t": "c"})
        for chunk in (1, 3, 7, len(data)):
            with self.subTest(chunk=chunk):
                d, got = FrameDecoder(), []
                for i in range(0, len(data), chunk):
                    d.feed(data[i:i + chunk])
                    got += frames_of(d)
                self.assertEqual([decode(p)["t"] for p in got], ["a", "b", "c"])

    def test_refuses_an_oversize_length_before_the_body_arrives(self):
        d = FrameDecoder(max_frame=10)
        d.feed((11).to_bytes(4, "big"))
        with self.assertRaisesRegex(ProtocolError, "over the maximum of 10"):
            d.next()

    def test_accepts_a_frame_of_exactly_the_limit(self):
        payload = encode({"t": "x", "p": "z" * 20})
        d = FrameDecoder(max_frame=len(payload))
        d.feed(len(payload).to_bytes(4, "big") + payload)
        self.assertEqual(frames_of(d), [payload])


class DecodeTest(unittest.TestCase):
    def test_keeps_raw_body_bytes_that_are_not_utf8_and_writes_them_back(self):
        raw = msgpack.packb({"t": "invoke", "rawBody": b"\xff\xfeok"}, use_bin_type=False)
        msg = decode(raw)
        self.assertEqual(msg["rawBody"].encode("utf-8", "surrogateescape"), b"\xff\xfeok")
        self.assertEqual(encode(msg), raw)

    def test_reads_maps_with_integer_keys(self):
        self.assertEqual(decode(msgpack.packb({"t": "x", 1: 2}))[1], 2)


class _Transport:
    def __init__(self):
        self.writes = []

    def write(self, data):
        self.writes.append(data)

    def close(self):
        pass


class BatchingTest(unittest.TestCase):
    def test_frames_sent_in_one_loop_turn_leave_in_one_write(self):
        loop = asyncio.new_event_loop()
        try:
            conn = Connection(loop, on_message=None, on_protocol_error=None,
                              on_internal_error=None, on_close=None)
            transport = _Transport()
            conn.connection_made(transport)

            async def results():
                for i in range(3):
                    conn.send({"t": "result", "id": i, "ok": True, "value": None})
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                conn.send({"t": "pong", "id": 9})
                await asyncio.sleep(0)

            loop.run_until_complete(results())
            self.assertEqual(len(transport.writes), 2)
            d = FrameDecoder()
            d.feed(transport.writes[0])
            self.assertEqual([decode(p)["id"] for p in frames_of(d)], [0, 1, 2])
        finally:
            loop.close()


if __name__ == "__main__":
    unittest.main()
