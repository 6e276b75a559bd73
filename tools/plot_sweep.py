#!/usr/bin/python3
"""Scatter plot of a tacsim sweep: two columns of its results.csv, the Pareto front highlighted, a parameter
as colour.

    /usr/bin/python3 tools/plot_sweep.py results/sweep --x sim_time_ns --y pe_array.rows \\
        --color sparsity.weights --out sweep.png

Any column of results.csv is an axis: a metric the sweep kept (--metric) or a swept key. Both axes are
minimised unless --maximize names them. The front follows `tacsim pareto`'s rule: a point is on it when no
other point is as good in both and better in one, so equal points are all kept. Needs matplotlib: Debian's
python3-matplotlib, which /usr/bin/python3 sees (another python3 on PATH may not).
"""
import argparse
import csv
import math
import os
import sys


def die(message, code=2):
    print(f"plot_sweep.py: {message}", file=sys.stderr)
    sys.exit(code)


def number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_results(path):
    if os.path.isdir(path):
        path = os.path.join(path, "results.csv")
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        die(f"{path}: cannot read ({e.strerror})")
    if not rows:
        die(f"{path}: no points")
    return path, rows


def pareto_front(points, maximize):
    """Indices of the points no other point dominates (as good in every objective, better in one)."""

    def key(p):
        return [-v if m else v for v, m in zip(p, maximize)]

    keyed = [key(p) for p in points]
    front = []
    for i, a in enumerate(keyed):
        dominated = any(
            all(x <= y for x, y in zip(b, a)) and any(x < y for x, y in zip(b, a)) for j, b in enumerate(keyed) if j != i
        )
        if not dominated:
            front.append(i)
    return front


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="a sweep folder (its results.csv) or a results.csv file")
    parser.add_argument("--x", required=True, help="the column on the horizontal axis")
    parser.add_argument("--y", required=True, help="the column on the vertical axis")
    parser.add_argument("--color", help="a column that colours the points (a swept key, say)")
    parser.add_argument("--maximize", action="append", default=[], help="an axis that is better when larger")
    parser.add_argument("--out", default="sweep.png", help="the PNG to write (default sweep.png)")
    parser.add_argument("--title", help="the plot's title (default: the sweep's folder)")
    parser.add_argument("--logx", action="store_true", help="logarithmic horizontal axis")
    parser.add_argument("--logy", action="store_true", help="logarithmic vertical axis")
    parser.add_argument("--print-front", action="store_true", help="also print the front's point ids, one a line")
    args = parser.parse_args()

    path, rows = read_results(args.results)
    columns = list(rows[0].keys())
    for name in [args.x, args.y] + ([args.color] if args.color else []) + args.maximize:
        if name not in columns:
            die(f"{path}: no column '{name}' (columns: {', '.join(columns)})")
    for name in args.maximize:
        if name not in (args.x, args.y):
            die(f"--maximize {name}: not one of the axes")
    maximize = [args.x in args.maximize, args.y in args.maximize]

    usable = [r for r in rows if r.get("status", "done") == "done" and number(r[args.x]) is not None
              and number(r[args.y]) is not None]
    if not usable:
        die(f"{path}: no finished point has numbers in both {args.x} and {args.y}")
    xs = [number(r[args.x]) for r in usable]
    ys = [number(r[args.y]) for r in usable]
    front = pareto_front(list(zip(xs, ys)), maximize)
    if args.print_front:
        for i in front:
            print(usable[i]["point"])

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        die("needs matplotlib: on Debian, apt-get install python3-matplotlib, and run this script with "
            "/usr/bin/python3", code=1)

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    if args.color:
        values = [r[args.color] for r in usable]
        numeric = all(number(v) is not None for v in values)
        if numeric:
            sc = ax.scatter(xs, ys, c=[number(v) for v in values], cmap="viridis", s=36, zorder=2)
            fig.colorbar(sc, ax=ax, label=args.color)
        else:
            palette = plt.get_cmap("tab10")
            for k, value in enumerate(dict.fromkeys(values)):
                idx = [i for i, v in enumerate(values) if v == value]
                ax.scatter([xs[i] for i in idx], [ys[i] for i in idx], color=palette(k % 10), s=36, zorder=2,
                           label=f"{args.color} = {value}")
    else:
        ax.scatter(xs, ys, color="tab:blue", s=36, zorder=2)
    # The front: ringed points joined in order of x, as a staircase (each step a trade).
    fx = sorted((xs[i], ys[i]) for i in front)
    ax.step([p[0] for p in fx], [p[1] for p in fx], where="post", color="black", linewidth=1, zorder=1,
            label="Pareto front")
    ax.scatter([p[0] for p in fx], [p[1] for p in fx], facecolors="none", edgecolors="black", s=110,
               linewidths=1.2, zorder=3)
    goal = lambda name, m: f"{name} ({'higher' if m else 'lower'} is better)"
    ax.set_xlabel(goal(args.x, maximize[0]))
    ax.set_ylabel(goal(args.y, maximize[1]))
    if args.logx:
        ax.set_xscale("log")
    if args.logy:
        ax.set_yscale("log")
    ax.set_title(args.title or os.path.basename(os.path.dirname(os.path.abspath(path))))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"plot_sweep.py: {len(usable)} points, {len(front)} on the front: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
