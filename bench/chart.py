"""Render bench/results/latest.json (from bench/run.py) as a bar chart: docs/bench.png.

Two panels: records/s per workload (log scale) and the ratio vs the plain-Python loop, one bar
per engine and parallelism, with the figure above each bar. The title names the machine (cores,
CPU model, Python, date of the run) and N / runs.

    .venv/bin/python bench/chart.py                       # bench/results/latest.json -> docs/bench.png
    .venv/bin/python bench/chart.py --json other.json --out /tmp/bench.png

Needs matplotlib, which is not a dependency of strom: ``.venv/bin/pip install matplotlib``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

COLORS = {"plain": "#7f7f7f", "strom+types": "#1f77b4", "strom": "#6baed6",
          "bytewax": "#ff7f0e", "pyflink": "#d62728"}


def _rate(x: float) -> str:
    if x >= 1e6:
        return "%.2fM" % (x / 1e6)
    if x >= 1e3:
        return "%.0fk" % (x / 1e3)
    return "%.0f" % x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", default=str(HERE / "results" / "latest.json"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "bench.png"))
    args = ap.parse_args(argv)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print("bench/chart.py needs matplotlib, which strom does not depend on.\n"
              "Install it into the venv for this run:  .venv/bin/pip install matplotlib",
              file=sys.stderr)
        return 2
    try:
        data = json.loads(Path(args.json).read_text())
    except (OSError, ValueError) as exc:
        print("cannot read %s (run bench/run.py first): %s" % (args.json, exc), file=sys.stderr)
        return 2

    m, a = data.get("machine", {}), data.get("args", {})
    # one plain bar: the main phase's (the peers' ratios are against the plain runs of their phase)
    rows = [r for r in data["results"] if r.get("status") == "ok" and r.get("records_per_s")
            and not (r["engine"] == "plain" and r.get("phase") == "peers")]
    workloads = sorted({r["workload"] for r in rows})
    series = []  # (engine, p) in first-seen order, plain first
    for r in sorted(rows, key=lambda r: (r["engine"] != "plain", r["engine"], r["parallelism"])):
        key = (r["engine"], r["parallelism"])
        if key not in series:
            series.append(key)
    by = {(r["workload"], r["engine"], r["parallelism"]): r for r in rows}

    fig, axes = plt.subplots(2, 1, figsize=(11, 8.5), sharex=True)
    width = 0.8 / max(1, len(series))
    for panel, (ax, field) in enumerate(zip(axes, ("records_per_s", "ratio_vs_plain"))):
        for s, (engine, p) in enumerate(series):
            xs, ys = [], []
            for w_i, w in enumerate(workloads):
                r = by.get((w, engine, p))
                if r is not None and r.get(field) is not None:
                    xs.append(w_i + (s - (len(series) - 1) / 2) * width)
                    ys.append(r[field])
            label = engine if engine in ("plain", "bytewax", "pyflink") else "%s p=%d" % (engine, p)
            hatch = "//" if isinstance(p, int) and p > 1 else None
            bars = ax.bar(xs, ys, width * 0.95, label=label, color=COLORS.get(engine, "#2ca02c"),
                          hatch=hatch, edgecolor="white" if hatch else None, linewidth=0)
            for b, y in zip(bars, ys):
                text = _rate(y) if panel == 0 else ("%.2fx" if y >= 0.1 else "%.3fx") % y
                ax.annotate(text, (b.get_x() + b.get_width() / 2, y), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    axes[0].set_ylabel("records/s (median of runs)")
    axes[0].yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: _rate(v)))
    top = max(r["records_per_s"] for r in rows)
    axes[0].set_ylim(0, top * 1.3)  # room for the legend
    axes[1].set_ylabel("ratio vs plain Python loop")
    axes[1].set_ylim(0, max(1.0, max(r.get("ratio_vs_plain") or 0 for r in rows)) * 1.15)
    axes[1].axhline(1.0, color="#7f7f7f", linewidth=0.8, linestyle="--")
    axes[1].set_xticks(range(len(workloads)))
    names = {"W1": "W1 stateless map/filter", "W2": "W2 10 s tumbling event-time window",
             "W3": "W3 keyed ValueState counter"}
    axes[1].set_xticklabels([names.get(w, w) for w in workloads])
    axes[0].legend(ncol=min(5, len(series)), fontsize=9, loc="upper right")
    date = str(m.get("date", ""))[:16].replace("T", " ")
    fig.suptitle("strom benchmarks (bench/run.py, N = %s, %s runs each, median)\n"
                 "%s cores, %s, Python %s, %s" % (
                     "{:,}".format(a.get("n", 0)).replace(",", " "), a.get("runs", "?"),
                     m.get("nproc", "?"), m.get("cpu", "unknown CPU"), m.get("python", "?"), date),
                 fontsize=11)
    note = ("strom = no declared output types; strom+types = declared (validated per record) "
            "as pyflink_bench.py does;\np = strom's parallelism (one thread either way); hatched = p > 1. "
            "Ratios: median over rounds of (run / plain run of the same round). strom commit %s."
            % m.get("strom_commit", "?"))
    plain2 = {r["workload"]: r["records_per_s"] for r in data["results"]
              if r["engine"] == "plain" and r.get("phase") == "peers" and r.get("records_per_s")}
    if plain2:
        note += ("\nPeers ran in a second phase, with the plain loop run again among them as their "
                 "baseline (%s)." % ", ".join("%s %s" % (w, _rate(v)) for w, v in sorted(plain2.items())))
    fig.text(0.01, 0.005, note, fontsize=8, color="#555555")
    fig.tight_layout(rect=(0, 0.05 if plain2 else 0.035, 1, 1))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print("wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
