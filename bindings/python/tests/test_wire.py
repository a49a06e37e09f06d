"""Values made plain data for the runtime, configs, and log frames."""

import dataclasses
import datetime
import enum
import unittest
import uuid

import helpers  # noqa: F401  (puts this checkout's motia_worker on sys.path)
from motia_worker.config import plain_config
from motia_worker.context import Request, log_frame, make_request
from motia_worker.runner import api_response
from motia_worker.wire import MAX_DEPTH, error_to_wire, to_wire

try:
    import pydantic
except ImportError:  # optional dependency
    pydantic = None


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: int


class ToWireTest(unittest.TestCase):
    def test_converts_values_the_way_json_would_carry_them(self):
        when = datetime.datetime(2024, 1, 2, 3, 4, 5)
        uid = uuid.UUID(int=1)
        cases = [
            ({200: "ok", True: 1, None: 2, 1.5: 3}, {"200": "ok", "true": 1, "null": 2, "1.5": 3}),
            ((1, [2, (3,)]), [1, [2, [3]]]),
            (float("nan"), None),
            (float("inf"), None),
            (when, "2024-01-02T03:04:05"),
            (Color.RED, "red"),
            (uid, str(uid)),
            (Point(1, 2), {"x": 1, "y": 2}),
            (bytearray(b"\x00\x01"), b"\x00\x01"),
            (2 ** 64 - 1, 2 ** 64 - 1),
            (frozenset(), []),
        ]
        for value, expected in cases:
            with self.subTest(value=value):
                self.assertEqual(to_wire(value), expected)

    def test_refuses_values_the_runtime_cannot_hold(self):
        circular = []
        circular.append(circular)
        for value, pattern in [(2 ** 64, "64 bits"), (-(2 ** 63) - 1, "64 bits"),
                               (object(), "type object"), (circular, str(MAX_DEPTH)),
                               ({(1, 2): 3}, "map keys")]:
            with self.subTest(pattern=pattern):
                with self.assertRaisesRegex(TypeError, pattern):
                    to_wire(value)


class ConfigTest(unittest.TestCase):
    def test_drops_functions_and_flags_middleware(self):
        def mw(req, ctx, nxt):
            return nxt()

        plain = plain_config({"name": "A", "middleware": [mw], "fn": len, "list": [mw, 1]})
        self.assertEqual(plain, {"name": "A", "list": [None, 1], "hasMiddleware": True})

    @unittest.skipIf(pydantic is None, "pydantic is not installed")
    def test_turns_pydantic_model_classes_into_json_schema(self):
        class Body(pydantic.BaseModel):
            name: str

        plain = plain_config({"name": "A", "bodySchema": Body, "responseSchema": {200: Body}})
        self.assertEqual(plain["bodySchema"], Body.model_json_schema())
        self.assertEqual(plain["responseSchema"], {"200": Body.model_json_schema()})


class ApiResponseTest(unittest.TestCase):
    def test_accepts_dicts_objects_and_status_code(self):
        class R:
            status, body, headers = 204, None, {"a": "b"}

        cases = [
            ({"status": 200, "body": 1}, {"status": 200, "body": 1}),
            ({"status_code": 201, "body": 2, "headers": {}}, {"status": 201, "body": 2}),
            (R(), {"status": 204, "body": None, "headers": {"a": "b"}}),
            ({"status": True, "body": 1}, None),
            ({"status": 600}, None),
            ("text", None),
            (None, None),
        ]
        for value, expected in cases:
            with self.subTest(value=value):
                self.assertEqual(api_response(value), expected)


class RequestAndLogTest(unittest.TestCase):
    def test_request_reads_fields_as_keys_and_attributes(self):
        req = make_request({"pathParams": {"id": "1"}, "rawBody": "x"})
        self.assertIsInstance(req, Request)
        self.assertEqual(req.path_params, {"id": "1"})
        self.assertIs(req.pathParams, req["pathParams"])
        self.assertEqual((req.raw_body, req.body, req.query_params, req.headers), ("x", None, {}, {}))
        with self.assertRaises(AttributeError):
            req.nope

    def test_log_frames_never_raise_and_keep_what_they_can(self):
        try:
            raise KeyError("k")
        except KeyError as err:
            caught = err
        cases = [
            (("m", None), {"t": "log", "inv": 1, "level": "info", "msg": "m"}),
            (("m", 5), {"t": "log", "inv": 1, "level": "info", "msg": "m", "fields": {"value": 5}}),
            (("m", {"o": object()}), {"t": "log", "inv": 1, "level": "info", "msg": "m", "fields": {
                "fieldsError": "log fields could not be encoded: a value of type object cannot be sent to the runtime"}}),
        ]
        for (msg, fields), expected in cases:
            with self.subTest(fields=fields):
                self.assertEqual(log_frame(1, "info", msg, fields), expected)
        frame = log_frame(1, "error", caught, None, {"extra": 1})
        self.assertEqual(frame["msg"], "'k'")
        self.assertEqual(frame["fields"]["error"]["name"], "KeyError")
        self.assertIn("raise KeyError", frame["fields"]["error"]["stack"])
        self.assertEqual(frame["fields"]["extra"], 1)

    def test_error_to_wire_names_an_empty_exception_by_its_type(self):
        self.assertEqual(error_to_wire(ValueError())["message"], "ValueError")


if __name__ == "__main__":
    unittest.main()
