#!/usr/bin/env python3
"""Writes a DRAM trace in the format both tacsim memtest and DRAMsim3 read: '0x<hex address> READ|WRITE <cycle>'.

Kinds (64-byte requests, addresses below --capacity, deterministic for a seed):
  stream  consecutive reads from address 0, all offered at cycle 0 (saturating)
  random  uniform addresses, 30 % writes, all at cycle 0 (saturating)
  mixed   each request continues one of 8 sequential streams (half the time) or goes to a uniform
          address; 30 % writes; all at cycle 0 (saturating)
  light   uniform reads, one every 64 cycles (an idle memory: latency without queueing)

Usage: dram_traces.py KIND COUNT CAPACITY_BYTES [--seed N] > trace
"""
import argparse
import random
import sys

LINE = 64


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["stream", "random", "mixed", "light"])
    ap.add_argument("count", type=int)
    ap.add_argument("capacity", type=int)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    lines = a.capacity // LINE
    streams = [rng.randrange(lines) for _ in range(8)]
    out = sys.stdout
    buf = []
    for i in range(a.count):
        write = False
        cycle = 0
        if a.kind == "stream":
            line = i % lines
        elif a.kind == "light":
            line = rng.randrange(lines)
            cycle = 64 * i
        else:
            write = rng.random() < 0.3
            if a.kind == "mixed" and rng.random() < 0.5:
                s = rng.randrange(8)
                line = streams[s]
                streams[s] = (line + 1) % lines
            else:
                line = rng.randrange(lines)
        buf.append("0x%x %s %d\n" % (line * LINE, "WRITE" if write else "READ", cycle))
        if len(buf) == 65536:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))


if __name__ == "__main__":
    main()
