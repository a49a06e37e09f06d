"""Tests of the benchmark harness itself (ctest `bench.harness`): the figures it
derives from cells, its baseline twins and plan, the soak's verdicts, and the
LD_PRELOAD allocation counter read from another process. No server is started.

Run: MALLOC_COUNT_LIB=build/tests/bench/malloc_count.so python3 -m unittest harness_test
(from tests/bench; without MALLOC_COUNT_LIB the counter test is skipped).
"""

import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench  # noqa: E402
import issue12  # noqa: E402
import load  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402
import soak  # noqa: E402
from systems import catalog  # noqa: E402


def get_cell(key, conns, rps, cpu_us, rnd):
    return {"system": key, "scenario": "get", "conns": conns, "rps": rps, "cpu_us": cpu_us,
            "round": rnd}


def flow_cell(key, flows, rnd):
    return {"system": key, "scenario": "flow", "conns": 16, "flows_per_s": flows, "round": rnd}


def count_cell(key, mallocs, cs, rnd):
    return {"system": key, "scenario": "count", "conns": None, "round": rnd,
            "counts": {"64": {"mallocs": mallocs, "malloc_bytes": 4096.0, "cs": cs,
                              "cs_voluntary": cs, "cs_nonvoluntary": 0.0, "worker_cs": 1.0,
                              "rps": 1000.0, "requests": 1000, "errors": 0}}}


def results_with_baseline():
    """Three rounds in which this tree's JS step doubles the baseline's req/s
    while plain Node varies from round to round."""
    rounds = []
    for i, node in enumerate((40_000, 50_000, 30_000)):
        rounds.append([
            get_cell("node", 64, node, 20.0, i + 1),
            get_cell("ours-js", 64, 0.95 * node, 25.0, i + 1),
            get_cell("ours-js@base", 64, 0.475 * node, 55.0, i + 1),
            flow_cell("fastify-bullmq", 3_000, i + 1),
            flow_cell("ours-js-process", 9_000, i + 1),
            flow_cell("ours-js-process@base", 4_000, i + 1),
            count_cell("ours-js", 60.0, 1.0, i + 1),
            count_cell("ours-js@base", 218.0, 2.76, i + 1),
        ])
    return {"meta": {"date": "today", "commit": "abc", "build": "Release", "cores": 2,
                     "cpu": "x", "loadavg": 1.0, "loadavg_end": 2.0, "versions": {},
                     "baseline": {"rev": "1234567", "version": "0.1.0"}},
            "plan": {"rounds": 3, "get_seconds": 3, "flow_seconds": 4, "warmup": 1,
                     "get_conns": [64], "flow_conns": 16, "count_conns": [64]},
            "systems": [s.__dict__ for s in catalog("1234567")], "skipped": {},
            "failures": [], "notes": [], "rounds": rounds}


class FiguresTest(unittest.TestCase):
    def test_a_ratio_is_the_median_of_same_round_ratios(self):
        r = results_with_baseline()
        fig = issue12.FIGURES[0]  # JS GET vs plain Node, 64 connections
        self.assertEqual([round(v, 3) for v in issue12.per_round(r, fig, "")], [0.95] * 3)
        self.assertEqual([round(v, 3) for v in issue12.per_round(r, fig, "base")], [0.475] * 3)

    def test_the_issue_table_gives_before_after_and_verdicts(self):
        text = "\n".join(issue12.table(results_with_baseline()))
        js = next(line for line in text.splitlines() if "JS GET vs plain Node http, 64" in line)
        self.assertIn("0.47x NOT MET", js)
        self.assertIn("0.95x MET", js)
        self.assertTrue(js.rstrip().endswith("2.00x"), js)
        flow = next(line for line in text.splitlines() if "JS flow, process" in line)
        self.assertIn("1.33x NOT MET", flow)
        self.assertIn("3.00x MET", flow)
        cpu = next(line for line in text.splitlines() if "CPU per JS GET" in line)
        self.assertIn("2.75x NOT MET", cpu)
        self.assertIn("1.25x MET", cpu)
        self.assertIn("before 55 vs 20  |  after 25 vs 20", text)
        self.assertIn("@1234567 (before)", text)

    def test_the_table_warns_when_other_processes_took_the_cpu(self):
        r = results_with_baseline()
        self.assertNotIn("WARNING", "\n".join(issue12.table(r)))
        for rnd in r["rounds"]:
            for c in rnd:
                c.update(machine_pct=190.0, main_pct=50.0, rest_pct=0.0, wrk_pct=20.0)
        self.assertIn("WARNING: other processes used a median 120% of the CPU",
                      "\n".join(issue12.table(r)))

    def test_counts_table_shows_both_builds_and_their_change(self):
        text = "\n".join(issue12.counts_table(results_with_baseline()))
        self.assertIn("motia-actors @1234567, JS step", text)
        self.assertIn("218.0", text)
        self.assertIn("0.28x mallocs, 0.36x context switches", text)

    def test_the_whole_report_renders(self):
        text = report.report(results_with_baseline())
        self.assertIn("Issue 12, Performance", text)
        self.assertIn("load average 1.00 at the start, 2.00 at the end", text)


class PlanTest(unittest.TestCase):
    def args(self, *argv):
        saved = sys.argv
        sys.argv = ["bench.py", *argv]
        try:
            return bench.parse_args()
        finally:
            sys.argv = saved

    def test_twins_run_the_baseline_binaries_on_the_same_projects(self):
        systems = {s.key: s for s in catalog("1234567")}
        twin = systems["ours-native-strict@base"]
        self.assertEqual((twin.build, twin.lang, twin.durability), ("base", "native", "strict"))
        self.assertEqual(twin.label, "motia-actors @1234567, native, strict")
        self.assertNotIn("node@base", systems)

    def test_a_baseline_run_leaves_motia_out_and_counts_in(self):
        args = self.args("--rounds", "2", "--baseline-rev", "1234567")
        chosen = [s.key for s in bench.chosen_systems(args, catalog("1234567"))]
        self.assertNotIn("motia", chosen)
        self.assertIn("ours-js-process@base", chosen)
        plan = bench.schedule(args, bench.chosen_systems(args, catalog("1234567")))
        counts = [(i, s.key) for i, s, scenario, _, _ in plan if scenario == "count"]
        self.assertEqual(sorted(k for i, k in counts if i == 0),
                         ["ours-js", "ours-js@base", "ours-native", "ours-native@base"])
        firsts = [[s.key for i, s, sc, _, _ in plan if i == r and sc == "get"][0] for r in (0, 1)]
        self.assertNotEqual(firsts[0], firsts[1])  # the order rotates

    def test_only_count_runs_count_cells_alone(self):
        args = self.args("--only", "count")
        plan = bench.schedule(args, bench.chosen_systems(args, catalog()))
        self.assertEqual({(s.key, sc) for _, s, sc, _, _ in plan},
                         {("ours-js", "count"), ("ours-native", "count")})


class SoakTest(unittest.TestCase):
    def run_of(self, mbs, every=5.0):
        return {"settle_s": 60.0, "samples": [{"t": i * every, "main_kb": mb * 1024}
                                               for i, mb in enumerate(mbs)]}

    def test_rss_within_ten_percent_after_the_first_minute_is_flat(self):
        v = soak.rss_verdict(self.run_of([20] * 12 + [100, 104, 98, 102, 105] * 4))
        self.assertTrue(v["flat"], v)

    def test_rss_that_keeps_growing_is_not_flat(self):
        v = soak.rss_verdict(self.run_of([60 + 2 * i for i in range(60)]))
        self.assertFalse(v["flat"])
        self.assertAlmostEqual(v["slope_mb_per_min"], 24.0, places=3)

    def test_rocksdb_memory_is_read_from_fields_named_bytes(self):
        m = {"emits": 3, "rocksdb": {"memtableBytes": 10, "blockCacheBytes": 5,
                                     "budgetBytes": 64, "files": 3}}
        self.assertEqual(soak.rocksdb_memory(m), (15, 64))
        self.assertIsNone(soak.rocksdb_memory({"emits": 3, "queue": {"pending": 0}}))

    def test_short_soaks_have_short_chunks_and_first_minutes(self):
        self.assertEqual(soak.chunk_seconds(600), 30)
        self.assertEqual(soak.chunk_seconds(120), 12)
        self.assertEqual(soak.settle_seconds(120), 40)


@unittest.skipUnless(os.environ.get("MALLOC_COUNT_LIB"), "MALLOC_COUNT_LIB is not set")
class MallocCounterTest(unittest.TestCase):
    def test_counts_allocations_of_another_process_and_spares_its_children(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "count.txt")
            go = os.path.join(d, "go")
            # 1,000 allocations of 4 kB (past pymalloc: straight to malloc)
            # each time `go` appears; prints whether LD_PRELOAD reached it.
            code = ("import os, time, sys\n"
                    "print(os.environ.get('LD_PRELOAD', 'none'), flush=True)\n"
                    f"while not os.path.exists({go!r}): time.sleep(0.01)\n"
                    "keep = [bytearray(4096) for _ in range(1000)]\n"
                    "print('done', flush=True)\n"
                    "time.sleep(30)\n")
            env = dict(os.environ, LD_PRELOAD=os.environ["MALLOC_COUNT_LIB"],
                       MOTIA_MALLOC_COUNT_FILE=path)
            p = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                                 text=True)
            try:
                self.assertEqual(p.stdout.readline().strip(), "none")
                counter = load.MallocCounter(path)
                self.assertEqual(counter.pid, p.pid)
                calls0, bytes0 = counter.read()
                cs0 = procs.ctx_switches(p.pid)
                open(go, "w").close()
                self.assertEqual(p.stdout.readline().strip(), "done")
                calls1, bytes1 = counter.read()
                self.assertGreaterEqual(calls1 - calls0, 1000)
                self.assertGreaterEqual(bytes1 - bytes0, 4096 * 1000)
                self.assertLess(calls1 - calls0, 5000)
                time.sleep(0.05)
                self.assertGreater(sum(procs.ctx_switches(p.pid)), sum(cs0))
            finally:
                p.kill()
                p.wait()
                p.stdout.close()


if __name__ == "__main__":
    unittest.main()
