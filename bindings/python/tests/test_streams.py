"""Stream definition files, context.streams calls and the canAccess and
authenticate invocations, against real worker processes."""

import os
import unittest

from helpers import HERE, Worker
from motia_worker import Context

ROOT = os.path.join(HERE, "fixtures", "streams")


def path(name):
    return os.path.join(ROOT, name)


STREAM_FILES = [path(f"steps/{f}") for f in (
    "todos_stream.py", "chat.stream.py", "open_stream.py", "broken_stream.py", "nameless_stream.py")]


def start(auth, stream_files=(), streams=(), files=()):
    """A worker given the streams fixture project; returns (worker, register)."""
    w = Worker()
    w.hello = w.recv("hello")
    init = {"t": "init", "root": ROOT, "files": list(files), "streamFiles": list(stream_files),
            "streams": list(streams)}
    if auth is not None:
        init["auth"] = auth
    w.send(init)
    return w, w.recv("register")


class WorkerServingStreams(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w, cls.register = start(path("auth.py"), STREAM_FILES, ["todos", "chat", "open", "remote"],
                                    [path("steps/streamer_step.py")])
        cls.next_id = 1

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def invoke(self, kind, step, data):
        inv = WorkerServingStreams.next_id
        WorkerServingStreams.next_id += 1
        self.w.invoke(inv, step, kind, data)
        return self.w.result(inv)

    def stream(self, name):
        return next(s for s in self.register["streams"] if s["config"]["name"] == name)

    def test_registers_streams_with_name_schema_and_can_access_flag(self):
        self.assertEqual([s["file"] for s in self.register["streams"]], STREAM_FILES[:3])
        self.assertEqual(self.stream("todos")["config"], {
            "name": "todos", "schema": {"type": "object", "properties": {"text": {"type": "string"}}},
            "baseConfig": {"storageType": "default"}, "canAccess": True})
        self.assertIs(self.stream("chat")["config"]["canAccess"], True)
        self.assertEqual(self.stream("open")["config"],
                         {"name": "open", "baseConfig": {"storageType": "default"}, "canAccess": False})
        self.assertEqual([s["config"]["name"] for s in self.register["steps"]], ["Streamer"])
        self.assertIs(self.register["auth"], True)

    def test_reports_a_broken_stream_file_with_its_line_and_a_nameless_one(self):
        errors = {os.path.basename(e["file"]): e for e in self.register["errors"]}
        self.assertEqual(sorted(errors), ["broken_stream.py", "nameless_stream.py"])
        self.assertEqual(errors["broken_stream.py"]["line"], 3)
        self.assertRegex(errors["broken_stream.py"]["message"], r"^SyntaxError: ")
        self.assertEqual(errors["nameless_stream.py"], {
            "file": path("steps/nameless_stream.py"), "message": "stream config has no string `name`"})

    def test_sends_stream_calls_and_returns_the_replies_raising_with_the_code(self):
        w = self.w
        inv = WorkerServingStreams.next_id
        WorkerServingStreams.next_id += 1
        w.invoke(inv, "Streamer", "event", {"groupId": "g1"})
        item = {"text": "tea", "id": "t1"}
        group = [{"id": "m0", "text": "hi"}]
        for op, args, value in [
                ("stream.set", {"stream": "todos", "groupId": "g1", "id": "t1", "data": {"text": "tea"}}, item),
                ("stream.get", {"stream": "todos", "groupId": "g1", "id": "t1"}, item),
                ("stream.getGroup", {"stream": "chat", "groupId": "g1"}, group),
                ("stream.getGroup", {"stream": "chat", "groupId": "g1"}, group),
                ("stream.delete", {"stream": "todos", "groupId": "g1", "id": "t1"}, item),
                ("stream.send", {"stream": "chat", "groupId": "g1", "id": "m1",
                                 "event": {"type": "typing", "data": {"who": "ada"}}}, None)]:
            call = w.call(inv)
            self.assertEqual((call["op"], call["args"]), (op, args))
            w.reply(call, value)
        call = w.call(inv)
        self.assertEqual((call["op"], call["args"]), ("stream.get", {"stream": "remote", "groupId": "g1", "id": "x"}))
        w.reply(call, ok=False, error={"code": "unknown_stream", "message": 'no stream "remote"'})
        self.assertEqual(w.recv("log")["fields"], {
            "set": item, "got": item, "group": group, "same": group, "removed": item, "sent": None,
            "failure": {"code": "unknown_stream", "message": 'no stream "remote"'},
            "anyName": True, "listed": True})
        self.assertTrue(w.result(inv)["ok"])

    def test_answers_can_access_truthy_falsy_raising_async_and_absent(self):
        def sub(group_id, item=None, auth=None):
            subscription = {"groupId": group_id} if item is None else {"groupId": group_id, "id": item}
            return {"subscription": subscription,
                    "authContext": auth if auth is not None else {"userId": "u1", "rooms": ["r1"]}}

        self.assertEqual(self.invoke("canAccess", "todos", sub("u1", "t1"))["value"], True)
        self.assertEqual(self.invoke("canAccess", "todos", sub("u2"))["value"], False)
        self.assertEqual(self.invoke("canAccess", "todos", {"subscription": {"groupId": "u1"}})["value"], False)
        raised = self.invoke("canAccess", "todos", sub("explode"))
        self.assertEqual((raised["ok"], raised["error"]["message"], raised["error"]["name"]),
                         (False, "access check failed", "PermissionError"))
        self.assertIs(self.invoke("canAccess", "chat", sub("r1"))["value"], True)
        self.assertIs(self.invoke("canAccess", "chat", sub("r1", "m1"))["value"], False)
        self.assertIs(self.invoke("canAccess", "chat", sub("r2"))["value"], False)
        self.assertIs(self.invoke("canAccess", "open", sub("any"))["value"], True)
        unknown = self.invoke("canAccess", "remote", sub("g"))
        self.assertEqual((unknown["ok"], unknown["error"]["code"], unknown["error"]["message"]),
                         (False, "unknown_step", 'unknown stream "remote"'))

    def test_answers_authenticate_with_the_async_hooks_context_none_or_an_error(self):
        def req(token=None):
            return {"headers": {"sec-websocket-protocol": token} if token else {}, "url": "/?x=1"}

        self.assertEqual(self.invoke("authenticate", "", req("u1"))["value"], {"userId": "u1", "url": "/?x=1"})
        none = self.invoke("authenticate", "", req())
        self.assertEqual((none["ok"], none["value"]), (True, None))
        refused = self.invoke("authenticate", "", req("bad"))
        self.assertEqual((refused["ok"], refused["error"]["message"]), (False, "invalid token"))

    def test_zz_printed_nothing_on_stderr(self):
        self.w.sock.close()
        self.assertEqual(self.w.wait(), (0, ""))


class WorkerWhoseInitNamesNoStreams(unittest.TestCase):
    def test_still_has_context_streams_for_the_streams_it_defines(self):
        w, _ = start(None, STREAM_FILES[:2], files=[path("steps/streamer_step.py")])
        try:
            w.invoke(1, "Streamer", "event", {"groupId": "g"})
            call = w.call(1)
            self.assertEqual((call["op"], call["args"]), (
                "stream.set", {"stream": "todos", "groupId": "g", "id": "t1", "data": {"text": "tea"}}))
        finally:
            w.close()


class AuthFiles(unittest.TestCase):
    def test_uses_a_sync_authenticate(self):
        w, register = start(path("sync_auth.py"))
        try:
            self.assertEqual((register["auth"], register["errors"], register["streams"]), (True, [], []))
            w.invoke(1, "", "authenticate", {"headers": {}, "url": "/ws"})
            self.assertEqual(w.result(1)["value"], {"via": "sync", "url": "/ws"})
        finally:
            w.close()

    def test_reports_a_file_without_a_hook_and_refuses_authenticate_with_unknown_step(self):
        w, register = start(path("no_auth.py"))
        try:
            self.assertIs(register["auth"], False)
            self.assertEqual(register["errors"], [{
                "file": path("no_auth.py"), "message": "auth file defines no `authenticate` function"}])
            w.invoke(1, "", "authenticate", {"headers": {}, "url": "/ws"})
            self.assertEqual(w.result(1)["error"]["code"], "unknown_step")
        finally:
            w.close()


class StreamArguments(unittest.TestCase):
    def test_refuses_wrong_argument_types_without_sending_a_call(self):
        calls = []

        class Runner:
            stream_names = frozenset({"todos"})

            def call(self, inv, op, args):
                calls.append(op)

        streams = Context(Runner(), {"id": 1}).streams
        with self.assertRaisesRegex(TypeError, r"^streams\.todos\.get: group_id must be a str, not int$"):
            streams.todos.get(1, "i")
        with self.assertRaisesRegex(TypeError, r"^streams\.todos\.set: id must be a str"):
            streams.todos.set("g", None, {})
        with self.assertRaisesRegex(TypeError, r"channel must be a dict"):
            streams.todos.send("g", {"type": "t"})
        with self.assertRaisesRegex(TypeError, r"event must be a dict \{type: str, data\}"):
            streams.todos.send({"groupId": "g"}, {"data": 1})
        with self.assertRaises(KeyError):
            streams[""]
        self.assertEqual(calls, [])
        streams.todos.send({"group_id": "g"}, {"type": "t"})
        self.assertEqual(calls, ["stream.send"])


if __name__ == "__main__":
    unittest.main()
