"""Bytes that break docs/protocol.md end the worker with exit code 2 and a
reason on stderr."""

import unittest

import msgpack

from helpers import Worker, frame, pack


def length_only(n):
    return n.to_bytes(4, "big")


CASES = [
    # (name, bytes sent after register, stderr pattern)
    ("a frame of length 0", length_only(0), r"frame length is 0"),
    ("a frame over 16 MiB, refused before its body", length_only(16 * 1024 * 1024 + 1),
     r"frame length 16777217 is over the maximum of 16777216 bytes"),
    ("a payload that is not msgpack", frame(b"\x82\xa1"), r"not valid msgpack"),
    ("the reserved byte 0xc1", frame(b"\xc1"), r"not valid msgpack"),
    ("a payload with trailing bytes", frame(b"\x80\x01"), r"not valid msgpack"),
    ("a payload that is not a map", frame(pack([1, 2])), r"not a msgpack map \(got array\)"),
    ("a map without t", frame(pack({"id": 1})), r'no string field "t"'),
    ("a map whose t is not a string", frame(pack({"t": 7})), r'no string field "t"'),
    ("an unknown message type", frame(pack({"t": "teleport"})), r'unknown message type "teleport"'),
    ("an invoke without an id", frame(pack({"t": "invoke", "step": "X"})),
     r"invoke has no unsigned integer id"),
    ("a ping with a negative id", frame(pack({"t": "ping", "id": -1})), r"ping has no unsigned integer id"),
    ("a second init", frame(pack({"t": "init", "root": "/", "files": []})), r"init received twice"),
]


class WorkerGivenABrokenFrame(unittest.TestCase):
    def expect_exit_2(self, w, pattern):
        code, stderr = w.wait()
        self.assertEqual(code, 2, stderr)
        self.assertRegex(stderr, r"^motia-actors python worker: protocol error: ")
        self.assertRegex(stderr, pattern)
        self.assertEqual(stderr.count("\n"), 1, stderr)  # one line

    def test_exits_2_with_one_line_on_stderr(self):
        for name, data, pattern in CASES:
            with self.subTest(name):
                w = Worker()
                try:
                    w.init([])
                    w.write_raw(data)
                    self.expect_exit_2(w, pattern)
                finally:
                    w.close()

    def test_exits_2_on_an_init_whose_auth_is_not_a_path(self):
        w = Worker()
        try:
            w.recv("hello")
            w.send({"t": "init", "root": "/", "files": [], "auth": ["auth.py"]})
            self.expect_exit_2(w, r"init: streamFiles and streams must be arrays of strings, auth a string")
        finally:
            w.close()

    def test_exits_2_on_a_frame_over_the_limit_set_by_the_runtime(self):
        w = Worker(env={"MOTIA_WORKER_MAX_FRAME": "1000"})
        try:
            w.init([])
            w.send({"t": "ping", "id": 1, "pad": "x" * 981})  # 1000 bytes: fits
            self.assertEqual(w.recv("pong")["id"], 1)
            w.send({"t": "ping", "id": 2, "pad": "x" * 982})
            self.expect_exit_2(w, r"frame length 1001 is over the maximum of 1000 bytes")
        finally:
            w.close()

    def test_exits_2_on_an_invoke_before_init(self):
        w = Worker()
        try:
            w.recv("hello")
            w.invoke(1, "X", "api", {})
            self.expect_exit_2(w, r"invoke before register")
        finally:
            w.close()

    def test_handles_frames_that_arrive_split_and_joined_before_the_bad_one(self):
        w = Worker()
        try:
            w.init([])
            data = frame(pack({"t": "ping", "id": 1})) + frame(pack({"t": "ping", "id": 2}))
            data += frame(msgpack.packb({"t": "nope"}))
            for i in range(len(data)):  # one byte at a time
                w.write_raw(data[i:i + 1])
            self.assertEqual([w.recv("pong")["id"], w.recv("pong")["id"]], [1, 2])
            self.expect_exit_2(w, r'unknown message type "nope"')
        finally:
            w.close()


class WorkerStartedWrongly(unittest.TestCase):
    def run_worker(self, env):
        w = Worker(env=env)
        try:
            return w.wait()
        finally:
            w.close()

    def test_exits_2_without_a_runtime_connection(self):
        code, stderr = self.run_worker({"MOTIA_WORKER_FD": ""})
        self.assertEqual(code, 2)
        self.assertIn("set MOTIA_WORKER_FD (or MOTIA_WORKER_SOCKET)", stderr)

    def test_exits_2_when_the_fd_is_not_a_socket(self):
        code, stderr = self.run_worker({"MOTIA_WORKER_FD": "0"})  # /dev/null
        self.assertEqual(code, 2)
        self.assertIn("MOTIA_WORKER_FD=0 is not a usable socket", stderr)

    def test_exits_2_on_a_bad_frame_limit(self):
        code, stderr = self.run_worker({"MOTIA_WORKER_MAX_FRAME": "lots"})
        self.assertEqual(code, 2)
        self.assertIn('MOTIA_WORKER_MAX_FRAME is not a positive integer: "lots"', stderr)


if __name__ == "__main__":
    unittest.main()
