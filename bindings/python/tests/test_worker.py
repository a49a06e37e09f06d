"""The worker end to end: a real bin/worker.py process, this test as runtime."""

import os
import unittest

from helpers import Worker, api_input, step


class WorkerServingTheFixtureProject(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = Worker()
        cls.register = cls.w.init()

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def config(self, name):
        return next(s["config"] for s in self.register["steps"] if s["config"]["name"] == name)

    def test_says_hello_with_protocol_1_its_language_pid_and_python_version(self):
        hello = self.w.hello
        self.assertEqual(hello["protocol"], 1)
        self.assertEqual(hello["lang"], "python")
        self.assertEqual(hello["pid"], self.w.proc.pid)
        self.assertRegex(hello["runtime"], r"^python 3\.\d+\.\d+")

    def test_registers_every_loadable_step_with_its_file(self):
        names = sorted(s["config"]["name"] for s in self.register["steps"])
        self.assertEqual(names, [
            "BadResponse", "Guarded", "HelloApi", "Hourly", "Invoice", "Legacy", "ManualApproval",
            "Nightly", "Slow", "StateOps", "StoreOrder", "SyncApi", "Throws", "Unsendable",
            "UsesStreams"])
        files = {s["config"]["name"]: s["file"] for s in self.register["steps"]}
        self.assertEqual(files["HelloApi"], step("hello_api_step.py"))
        self.assertEqual(files["Legacy"], step("legacy.step.py"))
        self.assertEqual(files["Invoice"], step(os.path.join("billing", "invoice_step.py")))

    def test_registers_configs_as_plain_data_with_middleware_reduced_to_a_flag(self):
        hello = self.config("HelloApi")
        self.assertNotIn("helper", hello)  # functions are dropped
        self.assertEqual(hello["flows"], ["greetings"])  # tuples become arrays
        self.assertEqual(hello["responseSchema"], {"200": {"type": "object"}})  # keys become strings
        self.assertNotIn("hasMiddleware", hello)
        self.assertEqual(self.config("StoreOrder")["infrastructure"],
                         {"queue": {"type": "fifo", "maxRetries": 5}})
        self.assertIs(self.config("Guarded")["hasMiddleware"], True)
        self.assertNotIn("middleware", self.config("Guarded"))

    def test_reports_files_that_fail_to_load_with_message_line_and_stack(self):
        errors = {os.path.basename(e["file"]): e for e in self.register["errors"]}
        self.assertEqual(sorted(errors), [
            "bad_config_step.py", "broken_step.py", "missing_dep_step.py", "no_config_step.py",
            "no_handler_step.py", "raises_step.py"])
        broken = errors["broken_step.py"]
        self.assertEqual(broken["line"], 4)
        self.assertRegex(broken["message"], r"^SyntaxError: ")
        self.assertIn("def handler(data, context)", broken["stack"])
        missing = errors["missing_dep_step.py"]
        self.assertEqual(missing["line"], 3)
        self.assertEqual(missing["message"],
                         "ModuleNotFoundError: No module named 'motia_actors_no_such_package'")
        raises = errors["raises_step.py"]
        self.assertEqual(raises["line"], 4)
        self.assertEqual(raises["message"], "RuntimeError: top level failure")
        self.assertIn('raises_step.py", line 4, in <module>', raises["stack"])
        self.assertNotIn("motia_worker", raises["stack"])
        self.assertNotIn("importlib", raises["stack"])
        self.assertEqual(errors["no_config_step.py"], {
            "file": step("no_config_step.py"), "message": "step file defines no `config` dict"})
        self.assertEqual(errors["no_handler_step.py"], {
            "file": step("no_handler_step.py"), "message": 'step "NoHandler" defines no `handler` function'})
        self.assertRegex(errors["bad_config_step.py"]["message"],
                         r'step "BadConfig" config is not plain data: .*object')

    def test_answers_an_async_api_handler_that_imports_from_the_project_root(self):
        self.w.invoke(1, "HelloApi", "api", api_input({"name": "ada"}, {"q": "x"}, body={"b": 1}),
                      flows=["greetings"])
        res = self.w.result(1)
        self.assertEqual(res, {"t": "result", "id": 1, "ok": True, "value": {
            "status": 200,
            "headers": {"x-trace": "trace-1"},
            "body": {"hello": "hello ada", "query": {"q": "x"}, "flows": ["greetings"],
                     "sameTrace": True, "trigger": "http", "data": {"b": 1}},
        }})

    def test_answers_a_sync_handler_returning_an_object_with_status_and_body(self):
        self.w.invoke(2, "SyncApi", "api", api_input(body={"a": 1}, raw='{"a":1}'))
        self.assertEqual(self.w.result(2)["value"],
                         {"status": 201, "body": {"raw": '{"a":1}', "body": {"a": 1}}})

    def test_round_trips_state_emit_and_log_calls_of_an_event_handler(self):
        w = self.w
        w.invoke(3, "StoreOrder", "event", {"id": "o1", "customer": "c9"}, attempt=2, messageId="m-3")
        get = w.call(3)
        self.assertEqual((get["op"], get["args"]), ("state.get", {"group": "orders", "key": "o1"}))
        w.reply(get, None)
        put = w.call(3)
        self.assertEqual((put["op"], put["args"]), ("state.set", {
            "group": "orders", "key": "o1", "value": {"id": "o1", "customer": "c9", "seen": 1}}))
        self.assertNotEqual(put["id"], get["id"])
        written = {"old_value": None, "new_value": put["args"]["value"]}
        w.reply(put, written)
        emit = w.call(3)
        self.assertEqual((emit["op"], emit["args"]), ("emit", {
            "topic": "order.stored", "data": {"id": "o1"}, "messageGroupId": "c9"}))
        w.reply(emit, None)
        self.assertEqual(w.recv("log"), {
            "t": "log", "inv": 3, "level": "info", "msg": "order stored",
            "fields": {"id": "o1", "attempt": 2, "messageId": "m-3", "sameMessageId": True,
                       "written": written}})
        self.assertEqual(w.result(3), {"t": "result", "id": 3, "ok": True, "value": None})

    def test_sends_update_delete_get_group_and_clear_with_their_replies(self):
        w = self.w
        w.invoke(4, "StateOps", "event", {})
        update = w.call(4)
        self.assertEqual((update["op"], update["args"]), ("state.update", {
            "group": "counters", "key": "c1", "ops": [
                {"type": "increment", "path": "hits", "by": 2},
                {"type": "merge", "value": {"tag": "x"}}]}))
        w.reply(update, {"old_value": None, "new_value": {"hits": 2, "tag": "x"}})
        delete = w.call(4)
        self.assertEqual((delete["op"], delete["args"]), ("state.delete", {"group": "counters", "key": "c0"}))
        w.reply(delete, 5)
        group = w.call(4)
        self.assertEqual((group["op"], group["args"]), ("state.getGroup", {"group": "counters"}))
        w.reply(group, [{"hits": 2, "tag": "x"}])
        clear = w.call(4)
        self.assertEqual((clear["op"], clear["args"]), ("state.clear", {"group": "counters"}))
        w.reply(clear, None)
        self.assertEqual(w.recv("log")["fields"], {
            "updated": {"old_value": None, "new_value": {"hits": 2, "tag": "x"}},
            "removed": 5, "group": [{"hits": 2, "tag": "x"}], "cleared": None})
        self.assertTrue(w.result(4)["ok"])

    def test_calls_a_cron_handler_from_a_dotted_file_with_the_context_only(self):
        w = self.w
        w.invoke(5, "Nightly", "cron", None, flows=["reports"])
        group = w.call(5)
        self.assertEqual((group["op"], group["args"]), ("state.getGroup", {"group": "orders"}))
        w.reply(group, [{"id": "a"}, {"id": "b"}])
        enqueue = w.call(5)
        self.assertEqual((enqueue["op"], enqueue["args"]),
                         ("emit", {"topic": "report.due", "data": {"count": 2}}))
        w.reply(enqueue, None)
        log = w.recv("log")
        self.assertEqual((log["inv"], log["level"], log["fields"]), (5, "warn", {"count": 2, "cron": True}))
        self.assertEqual(w.result(5)["value"], None)

    def test_calls_a_motia_1_cron_handler_with_none_as_input(self):
        self.w.invoke(6, "Hourly", "cron", None)
        self.assertEqual(self.w.recv("log")["fields"], {"input": None})
        self.assertTrue(self.w.result(6)["ok"])

    def test_runs_a_sync_event_handler_from_an_old_style_step_py_file(self):
        self.w.invoke(7, "Legacy", "event", {"n": 1})
        log = self.w.recv("log")
        self.assertEqual((log["inv"], log["level"], log["msg"], log["fields"]),
                         (7, "debug", "legacy got", {"input": {"n": 1}, "trigger": "queue"}))
        self.assertTrue(self.w.result(7)["ok"])

    def test_runs_a_step_that_imports_its_package_relatively(self):
        self.w.invoke(8, "Invoice", "event", {"amount": 5})
        self.assertEqual(self.w.recv("log")["fields"], {"total": 15})
        self.assertTrue(self.w.result(8)["ok"])

    def test_runs_middleware_in_order_and_raises_a_failed_reply_with_its_code(self):
        w = self.w
        w.invoke(9, "Guarded", "api", api_input())
        self.assertEqual(w.result(9)["value"], {"status": 401, "body": {"error": "unauthorized"},
                                                 "headers": {"x-order": ""}})
        w.invoke(10, "Guarded", "api", api_input(headers={"authorization": "secret"}))
        emit = w.call(10)
        w.reply(emit, ok=False, error={"code": "undeclared_emit", "message": "topic not.declared is not in emits"})
        self.assertEqual(w.result(10)["value"], {
            "status": 200, "headers": {"x-order": "auth,stamp,handler"},
            "body": {"rejected": "topic not.declared is not in emits", "code": "undeclared_emit"}})

    def test_runs_invocations_concurrently_and_answers_them_out_of_order(self):
        w = self.w
        for inv in (11, 12, 13):
            w.invoke(inv, "Slow", "api", api_input(query={"key": f"k{inv}"}))
        calls = [w.call(inv) for inv in (11, 12, 13)]
        w.invoke(14, "HelloApi", "api", api_input({"name": "fast"}))
        self.assertEqual(w.recv("result")["id"], 14)  # not held up by the waiting ones
        for c in reversed(calls):
            w.reply(c, c["args"]["key"])
        order = [w.recv("result") for _ in range(3)]
        self.assertEqual([r["id"] for r in order], [13, 12, 11])
        self.assertEqual(order[0]["value"], {"status": 200, "body": {"value": "k13"}})

    def test_turns_a_handler_exception_into_an_error_result_with_its_traceback(self):
        self.w.invoke(15, "Throws", "api", api_input())
        res = self.w.result(15)
        self.assertIs(res["ok"], False)
        self.assertEqual(res["error"]["message"], "kaboom 7")
        self.assertEqual(res["error"]["name"], "ValueError")
        stack = res["error"]["stack"]
        self.assertRegex(stack, r'throws_step\.py", line 9, in handler\n')
        self.assertRegex(stack, r'throws_step\.py", line 5, in fail\n')
        self.assertTrue(stack.endswith("ValueError: kaboom 7"), stack)
        self.assertNotIn("motia_worker", stack)

    def test_refuses_an_api_response_without_an_integer_status(self):
        self.w.invoke(16, "BadResponse", "api", api_input())
        res = self.w.result(16)
        self.assertIs(res["ok"], False)
        self.assertRegex(res["error"]["message"], r'"BadResponse".*status 100-599 \(got status None\)')

    def test_answers_with_an_error_when_the_response_cannot_be_sent(self):
        self.w.invoke(17, "Unsendable", "api", api_input())
        res = self.w.result(17)
        self.assertIs(res["ok"], False)
        self.assertRegex(res["error"]["message"], r"could not be sent: .*object")

    def test_answers_an_unknown_step_and_a_noop_step_with_unknown_step(self):
        self.w.invoke(18, "NoSuchStep", "event", {})
        self.w.invoke(19, "ManualApproval", "event", {})
        unknown, noop = self.w.result(18), self.w.result(19)
        self.assertEqual(unknown["error"]["code"], "unknown_step")
        self.assertIn('unknown step "NoSuchStep"', unknown["error"]["message"])
        self.assertEqual(noop["error"]["code"], "unknown_step")
        self.assertIn("noop", noop["error"]["message"])

    def test_asks_the_runtime_about_a_stream_it_does_not_know(self):
        self.w.invoke(20, "UsesStreams", "event", {})
        call = self.w.call(20)
        self.assertEqual((call["op"], call["args"]), ("stream.get", {"stream": "todos", "groupId": "g", "id": "id"}))
        self.w.reply(call, ok=False, error={"code": "unknown_stream", "message": "no stream named 'todos' in this project"})
        res = self.w.result(20)
        self.assertFalse(res["ok"])
        self.assertIn("no stream named 'todos' in this project", res["error"]["message"])

    def test_answers_ping_with_pong_of_the_same_id(self):
        self.w.send({"t": "ping", "id": 77})
        self.assertEqual(self.w.recv("pong"), {"t": "pong", "id": 77})

    def test_ignores_a_reply_to_no_call(self):
        self.w.send({"t": "reply", "id": 999999, "ok": True, "value": 1})
        self.w.send({"t": "ping", "id": 78})
        self.assertEqual(self.w.recv("pong")["id"], 78)

    def test_zz_printed_nothing_on_stderr(self):
        # Runs last (unittest sorts by name): the worker must still be alive
        # and silent after everything above.
        self.w.send({"t": "ping", "id": 79})
        self.w.recv("pong")
        self.assertIsNone(self.w.proc.poll())
        self.w.sock.close()
        code, stderr = self.w.wait()
        self.assertEqual((code, stderr), (0, ""))


if __name__ == "__main__":
    unittest.main()
