#!/usr/bin/env python3
"""Score NAB results files (timestamp,value,anomaly_score,label) against
NAB's windows the way NAB does, for the standard profile:
  - the first 15% of each series is probationary: detections there are ignored;
  - a detection is a row with anomaly_score >= 0.5;
  - inside a window only the first detection counts, weighted by the scaled
    sigmoid of its relative position (earlier is better): A_TP * sigma(y),
    y = -(window_end - t) / window_length in [-1, 0];
  - a detection outside windows scores A_FP * sigma(y) with y its distance
    after the preceding window in window lengths (-1 when none precedes);
  - a window with no detection scores -A_FN;
  - normalised: 100 * (raw - null) / (perfect - null), null = never fires,
    perfect = first row of every window.
Standard profile: A_TP = 1, A_FP = 0.11, A_FN = 1.
usage: nab_score.py WINDOWS.json RESULTS_DIR  (RESULTS_DIR/<category>/<file>.csv)
Prints event recall, false positives and the normalised score."""
import csv
import json
import math
import os
import sys
from datetime import datetime, timezone

A_TP, A_FP, A_FN = 1.0, 0.11, 1.0
PROBATION = 0.15


def ts(s):
    return datetime.strptime(s[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


def sigma(y):
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def main():
    windows = json.load(open(sys.argv[1]))
    rdir = sys.argv[2]
    raw = null = perfect = 0.0
    nwin = found = fps = files = 0
    for key, wins in sorted(windows.items()):
        path = os.path.join(rdir, key)
        if not os.path.exists(path):
            continue
        files += 1
        rows = list(csv.DictReader(open(path)))
        times = [ts(r["timestamp"]) for r in rows]
        prob_end = int(math.floor(PROBATION * len(rows)))
        w = [(ts(a), ts(b)) for a, b in wins]
        hit = [False] * len(w)
        for i, r in enumerate(rows):
            if i < prob_end or float(r["anomaly_score"]) < 0.5:
                continue
            t = times[i]
            inside = [k for k, (a, b) in enumerate(w) if a <= t <= b]
            if inside:
                k = inside[0]
                if not hit[k]:
                    hit[k] = True
                    a, b = w[k]
                    raw += A_TP * sigma(-(b - t) / (b - a))
                continue
            prev = [k for k, (a, b) in enumerate(w) if b < t]
            if prev:
                a, b = w[prev[-1]]
                raw += A_FP * sigma((t - b) / (b - a))
            else:
                raw += -A_FP
            fps += 1
        for k, (a, b) in enumerate(w):
            nwin += 1
            if hit[k]:
                found += 1
            else:
                raw -= A_FN
            null -= A_FN
            perfect += A_TP * sigma(-1.0)
    score = 100.0 * (raw - null) / (perfect - null) if perfect > null else 0.0
    print(f"bench: accuracy.nab.event_recall {found / nwin if nwin else 0:.3f} ratio")
    print(f"bench: accuracy.nab.windows_found {found}/{nwin} windows")
    print(f"bench: accuracy.nab.false_positives {fps} detections")
    print(f"bench: accuracy.nab.standard_score {score:.1f} points")
    print(f"bench: accuracy.nab.files {files} series")


if __name__ == "__main__":
    main()
