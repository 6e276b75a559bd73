#!/usr/bin/python3
"""Pictures of trace runs (tacsim run --trace), from their result folders.

  tools/plot_run.py cdf RUN [RUN...] --out latency.png   latency CDF of each run, side by side
  tools/plot_run.py occupancy RUN --out occupancy.png    each engine's busy intervals and the queue over time
                                  [--window 2:3]          only simulated milliseconds 2 to 3

A run is labelled by its policy and engines (stats.json's config), or --labels A,B,... Reads requests.csv,
engines.csv, queue.csv and stats.json. Uses Debian's python3-matplotlib (hence /usr/bin/python3).
Bad input: one line on stderr naming the file, exit 2.
"""
import argparse
import csv
import json
import os
import sys


def fail(message):
    print(f"plot_run: {message}", file=sys.stderr)
    sys.exit(2)


def read_rows(run, name, columns):
    path = os.path.join(run, name)
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                fail(f"{path}: expected columns {', '.join(columns)}; missing {', '.join(missing)}")
            rows = []
            for line, row in enumerate(reader, start=2):
                try:
                    rows.append([int(row[c]) for c in columns])
                except (TypeError, ValueError):
                    fail(f"{path}:{line}: expected whole numbers in {', '.join(columns)}")
            return rows
    except OSError as e:
        fail(f"{path}: cannot read ({e.strerror}); is {run} the folder of a trace run?")


def label_of(run):
    path = os.path.join(run, "stats.json")
    try:
        with open(path) as f:
            config = json.load(f)["config"]
    except (OSError, ValueError, KeyError):
        fail(f"{path}: cannot read the run's config")
    engines = int(config.get("accel.engines", 1))
    return f"{config.get('scheduler.policy', '?')}, {engines} engine{'s' if engines > 1 else ''}"


def plot_cdf(runs, labels, out, plt):
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for run, label in zip(runs, labels):
        latencies = sorted(r[0] / 1e3 for r in read_rows(run, "requests.csv", ["latency_ns"]))
        if not latencies:
            fail(f"{os.path.join(run, 'requests.csv')}: no request rows")
        n = len(latencies)
        p99 = latencies[min(n - 1, (99 * n + 99) // 100 - 1)]
        ax.step(latencies, [(i + 1) / n for i in range(n)], where="post", label=f"{label} (p99 {p99:.0f} us)")
    ax.set_xscale("log")
    ax.set_xlabel("latency, arrival to finish (us)")
    ax.set_ylabel("fraction of requests")
    ax.axhline(0.99, color="grey", linewidth=0.6, linestyle=":")
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def plot_occupancy(run, label, out, window, plt):
    busy = read_rows(run, "engines.csv", ["engine", "start_ns", "end_ns"])
    queue = read_rows(run, "queue.csv", ["time_ns", "waiting", "in_flight"])
    engines = 1 + max((r[0] for r in busy), default=0)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 1.6 + 0.5 * engines + 1.8), sharex=True,
                                      gridspec_kw={"height_ratios": [max(1, engines), 2]})
    for e in range(engines):
        spans = [(s / 1e6, (t - s) / 1e6) for engine, s, t in busy if engine == e]
        top.broken_barh(spans, (e - 0.4, 0.8), facecolor="tab:blue")
    top.set_yticks(range(engines))
    top.set_yticklabels([f"engine{e}" for e in range(engines)])
    top.set_ylim(engines - 0.5, -0.5)
    top.set_title(f"{label}: engines busy (blue) over time", fontsize=9)
    times = [r[0] / 1e6 for r in queue]
    bottom.step(times, [r[1] for r in queue], where="post", label="requests waiting")
    bottom.step(times, [r[2] for r in queue], where="post", label="batches in flight")
    bottom.set_xlabel("simulated time (ms)")
    if window:
        bottom.set_xlim(*window)
    bottom.legend(loc="upper right", fontsize=8)
    bottom.grid(True, linewidth=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["cdf", "occupancy"])
    parser.add_argument("runs", nargs="+", metavar="RUN")
    parser.add_argument("--out", required=True, help="the PNG to write")
    parser.add_argument("--labels", help="comma-separated, one per run (default: policy and engines)")
    parser.add_argument("--window", help="occupancy: START:END, simulated milliseconds")
    args = parser.parse_args()
    window = None
    if args.window:
        try:
            window = tuple(float(x) for x in args.window.split(":"))
            if len(window) != 2 or not window[0] < window[1]:
                raise ValueError
        except ValueError:
            fail(f"--window: expected START:END in milliseconds with START < END, got '{args.window}'")
    if args.what == "occupancy" and len(args.runs) != 1:
        fail("occupancy draws one run")
    labels = args.labels.split(",") if args.labels else [label_of(r) for r in args.runs]
    if len(labels) != len(args.runs):
        fail(f"--labels: {len(labels)} labels for {len(args.runs)} runs")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        fail("needs matplotlib: apt-get install python3-matplotlib, and run with /usr/bin/python3")
    if args.what == "cdf":
        plot_cdf(args.runs, labels, args.out, plt)
    else:
        plot_occupancy(args.runs[0], labels[0], args.out, window, plt)


if __name__ == "__main__":
    main()
