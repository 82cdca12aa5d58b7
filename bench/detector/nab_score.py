#!/usr/bin/env python3
"""Score NAB results files (timestamp,value,anomaly_score,label) against
NAB's windows exactly as NAB v1.0 does (nab/sweeper.py, standard profile),
at a fixed threshold (a detection is anomaly_score >= 0.5; the detector
writes 1.0 on an alert and less than 0.5 otherwise, so NAB's own threshold
sweep could only pick this threshold or a worse one):
  - probationary rows: the first min(floor(0.15 n), 0.15 * 5000) rows of a
    series are not scored (neither detections nor window rows there);
  - windows are located by row (NAB matches the window bounds against the
    timestamps); a row inside a window weighs
        A_tp * S(-(right - i + 1) / width) / S(-1)
    where width = rows in the window and S(y) = 2 / (1 + e^(5y)) - 1, the
    scaled sigmoid; only the best (= first) detection in a window counts;
  - a detection outside windows weighs A_fp * S(y), y = (i - right) /
    (width - 1) of the preceding window, or S = -1 when none precedes
    (or y >= 3), i.e. between -A_fp and about 0 just after a window;
  - a window with no detection scores -A_fn;
  - standard profile A_tp = 1, A_fp = 0.11, A_fn = 1; the corpus score is
    normalised 100 * (raw - null) / (perfect - null), with null (never
    fires) = -A_fn per window and perfect = +A_tp per window.
usage: nab_score.py WINDOWS.json RESULTS_DIR [--verbose]
  (RESULTS_DIR/<category>/<file>.csv). Prints event recall, windows found,
false positives (detections outside windows after the probation) and the
normalised score, as `bench:` lines; --verbose adds one line per series."""
import csv
import json
import math
import os
import sys

A_TP, A_FP, A_FN = 1.0, 0.11, 1.0
PROBATION = 0.15


def scaled_sigmoid(y):
    if y >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def norm_ts(s):
    # NAB's windows carry microseconds ("2014-02-19 10:50:00.000000");
    # the data files do not: compare on the first 19 characters.
    return s.strip()[:19]


def score_series(rows, wins):
    """Returns (raw, windows scored, windows found, false positives)."""
    n = len(rows)
    times = [norm_ts(r["timestamp"]) for r in rows]
    index = {t: i for i, t in reversed(list(enumerate(times)))}
    prob = min(math.floor(PROBATION * n), PROBATION * 5000)
    det = [float(r["anomaly_score"]) >= 0.5 for r in rows]
    spans = []
    for a, b in wins:
        a, b = norm_ts(a), norm_ts(b)
        if a in index and b in index:
            spans.append((index[a], index[b]))
        else:
            print(f"warning: window {a}..{b} not on a row", file=sys.stderr)
    max_tp = scaled_sigmoid(-1.0)
    best = {}
    fps = 0
    raw = 0.0
    prev = None  # (right index, width) of the last window passed
    k = 0
    for i in range(n):
        while k < len(spans) and spans[k][1] < i:
            prev = (spans[k][1], spans[k][1] - spans[k][0] + 1)
            k += 1
        inside = k < len(spans) and spans[k][0] <= i <= spans[k][1]
        if inside:
            left, right = spans[k]
            if i >= prob:
                best.setdefault(k, None)
                if det[i] and best[k] is None:
                    width = right - left + 1
                    best[k] = A_TP * scaled_sigmoid(-(right - i + 1) / width) / max_tp
            continue
        if i < prob or not det[i]:
            continue
        fps += 1
        if prev is None:
            raw += A_FP * scaled_sigmoid(3.0)
        else:
            raw += A_FP * scaled_sigmoid(abs(prev[0] - i) / float(prev[1] - 1))
    found = 0
    for k, v in best.items():
        if v is None:
            raw -= A_FN
        else:
            raw += v
            found += 1
    return raw, len(best), found, fps


def main():
    windows = json.load(open(sys.argv[1]))
    rdir = sys.argv[2]
    verbose = "--verbose" in sys.argv
    raw = null = perfect = 0.0
    nwin = found = fps = files = 0
    for key, wins in sorted(windows.items()):
        path = os.path.join(rdir, key)
        if not os.path.exists(path):
            continue
        files += 1
        rows = list(csv.DictReader(open(path)))
        r, w, f, p = score_series(rows, wins)
        raw += r
        null -= A_FN * w
        perfect += A_TP * w
        nwin += w
        found += f
        fps += p
        if verbose:
            print(f"  {key}: windows {f}/{w} fp {p} raw {r:.2f}", file=sys.stderr)
    score = 100.0 * (raw - null) / (perfect - null) if perfect > null else 0.0
    print(f"bench: accuracy.nab.event_recall {found / nwin if nwin else 0:.3f} ratio")
    print(f"bench: accuracy.nab.windows_found {found}/{nwin} windows")
    print(f"bench: accuracy.nab.false_positives {fps} detections")
    print(f"bench: accuracy.nab.score {score:.1f} points")
    print(f"bench: accuracy.nab.standard_score {score:.1f} points")
    print(f"bench: accuracy.nab.files {files} series")


if __name__ == "__main__":
    main()
