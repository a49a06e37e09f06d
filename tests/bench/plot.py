"""Plots GET throughput and latency against connections from a results JSON.

Runs on the venv that peers.sh makes (matplotlib). Usage: plot.py RESULTS.json OUT.png
"""

import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)


def series(results, key, name):
    xs, ys = [], []
    for conns in results["plan"]["get_conns"]:
        vals = [c[name] for rnd in results["rounds"] for c in rnd
                if c["system"] == key and c["scenario"] == "get" and c.get("conns") == conns
                and c.get(name)]
        if vals:
            xs.append(conns)
            ys.append(statistics.median(vals))
    return xs, ys


def main(src, out):
    with open(src) as f:
        results = json.load(f)
    labels = {s["key"]: s["label"] for s in results["systems"] if s["scenario"] == "get"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=90)
    for key, label in labels.items():
        xs, rps = series(results, key, "rps")
        if not xs:
            continue
        line, = left.plot(xs, rps, marker="o", label=label)
        _, p50 = series(results, key, "p50")
        _, p99 = series(results, key, "p99")
        if len(p99) == len(xs):
            right.plot(xs, p99, marker="o", color=line.get_color(), label=f"{label} p99")
        if len(p50) == len(xs):
            right.plot(xs, p50, marker=".", linestyle=":", color=line.get_color())
    for ax, title, unit in ((left, "GET /hello throughput", "requests/s"),
                            (right, "GET /hello latency (solid p99, dotted p50)", "ms")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(results["plan"]["get_conns"], [str(c) for c in results["plan"]["get_conns"]])
        ax.set_xlabel("connections")
        ax.set_ylabel(unit)
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7)
    fig.suptitle(f"motia-actors vs peers · {results['meta']['date']} · medians of "
                 f"{results['plan']['rounds']} round(s), shared 2-core machine", fontsize=9)
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
