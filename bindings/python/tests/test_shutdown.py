"""Drain, EOF, and the other ways to start a worker."""

import os
import socket
import subprocess
import sys
import tempfile
import unittest

from helpers import PACKAGE_DIR, PROJECT, Worker, api_input, pack, frame, step


class WorkerShuttingDown(unittest.TestCase):
    def test_finishes_in_flight_work_on_drain_refuses_new_invocations_says_bye_and_exits_0(self):
        w = Worker()
        try:
            w.init([step("slow_step.py"), step("hello_api_step.py")])
            w.invoke(1, "Slow", "api", api_input(query={"key": "k"}))
            get = w.call(1)
            w.send({"t": "drain"})
            w.invoke(2, "HelloApi", "api", api_input({"name": "late"}))
            refused = w.result(2)
            self.assertEqual(refused["error"], {"message": "draining", "name": "DrainingError",
                                                "code": "draining"})
            self.assertEqual(w.inbox, [])  # no bye while Slow is in flight
            w.reply(get, 1)
            self.assertEqual(w.result(1)["value"], {"status": 200, "body": {"value": 1}})
            w.recv("bye")
            self.assertEqual(w.wait(), (0, ""))
        finally:
            w.close()

    def test_says_bye_at_once_on_drain_when_idle(self):
        w = Worker()
        try:
            w.init([])
            w.send({"t": "drain"})
            w.recv("bye")
            self.assertEqual(w.wait(), (0, ""))
        finally:
            w.close()

    def test_exits_0_quietly_when_the_runtime_closes_the_socket_even_with_work_in_flight(self):
        w = Worker()
        try:
            w.init([step("slow_step.py")])
            w.invoke(1, "Slow", "api", api_input(query={"key": "k"}))
            w.call(1)
            w.sock.shutdown(socket.SHUT_WR)
            self.assertEqual(w.wait(), (0, ""))
        finally:
            w.close()

    def test_registers_a_duplicate_step_name_so_the_runtime_can_report_both_files(self):
        w = Worker()
        try:
            reg = w.init([step("hello_api_step.py"), step("hello_api_step.py")])
            self.assertEqual([s["config"]["name"] for s in reg["steps"]], ["HelloApi", "HelloApi"])
            self.assertEqual(reg["errors"], [])
        finally:
            w.close()


class WorkerStartedOtherwise(unittest.TestCase):
    def test_runs_as_python_m_motia_worker_from_pythonpath(self):
        env = {"PYTHONPATH": PACKAGE_DIR + os.pathsep + os.environ.get("PYTHONPATH", "")}
        w = Worker(env=env, argv=[sys.executable, "-m", "motia_worker"])
        try:
            w.init([step("hello_api_step.py")])
            w.invoke(1, "HelloApi", "api", api_input({"name": "m"}))
            self.assertEqual(w.result(1)["value"]["body"]["hello"], "hello m")
        finally:
            w.close()

    def test_connects_to_motia_worker_socket_and_says_hello(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "rt.sock")
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(path)
            server.listen(1)
            server.settimeout(10)
            proc = subprocess.Popen([sys.executable, os.path.join(PACKAGE_DIR, "bin", "worker.py")],
                                    env=dict(os.environ, MOTIA_WORKER_FD="", MOTIA_WORKER_SOCKET=path),
                                    stderr=subprocess.PIPE, cwd=PROJECT)
            try:
                conn, _ = server.accept()
                with conn:
                    conn.settimeout(10)
                    head = conn.recv(4, socket.MSG_WAITALL)
                    body = conn.recv(int.from_bytes(head, "big"), socket.MSG_WAITALL)
                    self.assertIn(b"hello", body)
                    conn.sendall(frame(pack({"t": "drain"})))
                    self.assertEqual(proc.wait(timeout=10), 0)
            finally:
                server.close()
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                proc.stderr.close()

    def test_exits_2_when_nothing_listens_at_motia_worker_socket(self):
        w = Worker(env={"MOTIA_WORKER_FD": "", "MOTIA_WORKER_SOCKET": "/nonexistent/motia.sock"})
        try:
            code, stderr = w.wait()
            self.assertEqual(code, 2)
            self.assertIn("cannot connect to /nonexistent/motia.sock", stderr)
        finally:
            w.close()


if __name__ == "__main__":
    unittest.main()
