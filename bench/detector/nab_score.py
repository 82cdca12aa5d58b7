#!/usr/bin/env python3
"""Score `detector replay` output on NAB series exactly as NAB v1.0 does
(nab/scorer.py + sweeper.py), at the detector's own decision:

usage: nab_score.py [--verbose] [--alarm-rows] [--prefix P] NAB_DIR RESULTS_DIR

  NAB_DIR      the NAB data: NAB_DIR/windows.json and NAB_DIR/<category>/<file>.csv
  RESULTS_DIR  RESULTS_DIR/<category>/<file>.csv, each the output of a plain
               `detector replay NAB_DIR/<category>/<file>.csv` (default engine);
               the older NAB results format (timestamp,value,anomaly_score,label,
               from `replay --nab`) is read too (a detection: anomaly_score >= 0.5).
               Only the series present in RESULTS_DIR are scored.
  --alarm-rows a detection is a row the engine alerted on OR held in
               alarm (in_alarm, or `flagged` for binaries without that
               column); by default it is a row an alert that opens an
               event refers to (type set, not a change's end alert, which
               says the stream is back and detects nothing; sim_score.py
               likewise counts a change's start and end as one detection):
               NAB asks when a detector raises an alarm, and every
               detection outside a window is a false positive, so a held
               alarm state is scored on SKAB's row-level problem instead.
  --with-end-alerts  count a change's end alert as a detection too (the
               scoring before issue 16's second round; for comparison).
  --prefix P   figure names start with P (default accuracy.nab).
  --verbose    one line per series on stderr.

Scoring (NAB v1.0):
  - probationary rows: the first min(floor(0.15 n), 0.15 * 5000) rows of a
    series are not scored (neither detections nor window rows there);
  - windows are located by row (matching their bounds against the data's
    timestamps); a detection inside a window weighs
        A_tp * S(-(right - i + 1) / width) / S(-1)
    where width = rows in the window and S(y) = 2 / (1 + e^(5y)) - 1, the
    scaled sigmoid; only the first detection in a window counts;
  - a detection outside windows weighs A_fp * S(y), y = (i - right) /
    (width - 1) of the preceding window, or S = -1 when none precedes
    (or y >= 3), i.e. between -A_fp and about 0 just after a window;
  - a window with no detection scores -A_fn;
  - profiles: standard A_tp 1, A_fp 0.11, A_fn 1; reward_low_FP_rate A_fp
    0.22; reward_low_FN_rate A_fn 2. Corpus score normalised
    100 * (raw - null) / (perfect - null), null (never fires) = -A_fn per
    window, perfect = +A_tp per window.
Prints (`bench: <name> <value> <unit>`): score (standard), score_low_fp,
score_low_fn, event_recall, windows_found, false_positives, files.
"""
import argparse
import csv
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import replay_rows  # noqa: E402

PROFILES = {  # name: (A_tp, A_fp, A_fn)
    "standard": (1.0, 0.11, 1.0),
    "low_fp": (1.0, 0.22, 1.0),
    "low_fn": (1.0, 0.11, 2.0),
}
PROBATION = 0.15


def scaled_sigmoid(y):
    if y >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def norm_ts(s):
    # NAB's windows carry microseconds ("2014-02-19 10:50:00.000000");
    # the data files do not: compare on the first 19 characters.
    return s.strip().replace("T", " ")[:19]


def detections(path, alarm_rows, with_ends=False):
    """Set of detected timestamps (normalised) in one results file."""
    with open(path, newline="") as f:
        header = f.readline()
    det = set()
    if "anomaly_score" in header:
        for r in csv.DictReader(open(path, newline="")):
            if float(r["anomaly_score"]) >= 0.5:
                det.add(norm_ts(r["timestamp"]))
        return det
    for r in replay_rows.read(path):
        if (r["type"] and (with_ends or not r["end"])) or (alarm_rows and r["in_alarm"]):
            det.add(norm_ts(r["ts_text"]))
    return det


def score_series(times, det_ts, wins):
    """times: the series' timestamps in row order; det_ts: detected ones.
    Returns (tp weights of found windows (un-weighted S/S(-1)), number of
    missed windows, fp sigmoid values S(y) (<= 0), windows scored)."""
    n = len(times)
    index = {t: i for i, t in reversed(list(enumerate(times)))}
    prob = min(math.floor(PROBATION * n), PROBATION * 5000)
    det = [t in det_ts for t in times]
    spans = []
    for a, b in wins:
        a, b = norm_ts(a), norm_ts(b)
        if a in index and b in index:
            spans.append((index[a], index[b]))
        else:
            print(f"warning: window {a}..{b} not on a row", file=sys.stderr)
    max_tp = scaled_sigmoid(-1.0)
    best = {}
    fp = []
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
                    best[k] = scaled_sigmoid(-(right - i + 1) / width) / max_tp
            continue
        if i < prob or not det[i]:
            continue
        if prev is None:
            fp.append(scaled_sigmoid(3.0))
        else:
            fp.append(scaled_sigmoid(abs(prev[0] - i) / float(max(prev[1] - 1, 1))))
    tps = [v for v in best.values() if v is not None]
    missed = sum(1 for v in best.values() if v is None)
    return tps, missed, fp, len(best)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("nab_dir")
    ap.add_argument("results_dir")
    ap.add_argument("--alarm-rows", action="store_true")
    ap.add_argument("--with-end-alerts", action="store_true")
    ap.add_argument("--prefix", default="accuracy.nab")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    windows = json.load(open(os.path.join(a.nab_dir, "windows.json")))
    raw = {p: 0.0 for p in PROFILES}
    nwin = found = fps = files = 0
    for key, wins in sorted(windows.items()):
        path = os.path.join(a.results_dir, key)
        if not os.path.exists(path):
            continue
        files += 1
        with open(os.path.join(a.nab_dir, key), newline="") as f:
            times = [norm_ts(r["timestamp"]) for r in csv.DictReader(f)]
        tps, missed, fp, w = score_series(times, detections(path, a.alarm_rows, a.with_end_alerts), wins)
        for p, (atp, afp, afn) in PROFILES.items():
            raw[p] += atp * sum(tps) - afn * missed + afp * sum(fp)
        nwin += w
        found += len(tps)
        fps += len(fp)
        if a.verbose:
            r = sum(tps) - missed + 0.11 * sum(fp)
            print(f"  {key}: windows {len(tps)}/{w} fp {len(fp)} raw {r:.2f}", file=sys.stderr)
    out = {}
    for p, (atp, afp, afn) in PROFILES.items():
        null, perfect = -afn * nwin, atp * nwin
        out[p] = 100.0 * (raw[p] - null) / (perfect - null) if perfect > null else 0.0
    P = a.prefix
    print(f"bench: {P}.score {out['standard']:.1f} points")
    print(f"bench: {P}.score_low_fp {out['low_fp']:.1f} points")
    print(f"bench: {P}.score_low_fn {out['low_fn']:.1f} points")
    print(f"bench: {P}.event_recall {found / nwin if nwin else 0:.3f} ratio")
    print(f"bench: {P}.windows_found {found}/{nwin} windows")
    print(f"bench: {P}.false_positives {fps} detections")
    print(f"bench: {P}.files {files} series")


if __name__ == "__main__":
    main()
