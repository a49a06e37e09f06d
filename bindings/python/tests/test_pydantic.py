"""A step that uses pydantic models for its schemas and its response."""

import os
import unittest

from helpers import TYPED_PROJECT, Worker, api_input, fixture_files

try:
    import pydantic
except ImportError:  # optional dependency
    pydantic = None


@unittest.skipIf(pydantic is None, "pydantic is not installed")
class PydanticStep(unittest.TestCase):
    def test_registers_json_schema_and_answers_with_a_model(self):
        w = Worker()
        try:
            reg = w.init(fixture_files(TYPED_PROJECT), root=TYPED_PROJECT)
            self.assertEqual(reg["errors"], [])
            config = reg["steps"][0]["config"]
            self.assertEqual(config["bodySchema"]["required"], ["name"])
            self.assertEqual(config["bodySchema"]["properties"]["name"], {"title": "Name", "type": "string"})
            self.assertEqual(config["responseSchema"]["201"]["title"], "Pet")
            w.invoke(1, "TypedApi", "api", api_input(body={"name": "rex"}))
            self.assertEqual(w.result(1)["value"], {"status": 201, "body": {"id": "p1", "name": "rex"}})
        finally:
            w.close()

    def test_registers_a_stream_schema_from_a_model(self):
        w = Worker()
        try:
            w.hello = w.recv("hello")
            stream_file = os.path.join(TYPED_PROJECT, "steps", "pets_stream.py")
            w.send({"t": "init", "root": TYPED_PROJECT, "files": [], "streamFiles": [stream_file]})
            reg = w.recv("register")
            self.assertEqual(reg["errors"], [])
            config = reg["streams"][0]["config"]
            self.assertEqual((config["name"], config["canAccess"]), ("pets", False))
            self.assertEqual((config["schema"]["title"], config["schema"]["required"]), ("Pet", ["id", "name"]))
        finally:
            w.close()


if __name__ == "__main__":
    unittest.main()
