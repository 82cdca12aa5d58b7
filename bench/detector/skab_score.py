#!/usr/bin/env python3
"""SKAB (Skoltech Anomaly Benchmark) accuracy of `detector replay`, and the
plain scikit-learn IsolationForest baseline measured the same way.

usage:
  skab_score.py convert SKAB_DIR OUT_DIR [--runs 0,5]
      each SKAB_DIR/valve1/<run>.csv (';'-separated) -> OUT_DIR/<run>.csv, a
      comma CSV `timestamp,<8 metrics>` the detector replays as one sensor
  skab_score.py score SKAB_DIR REPLAY_DIR [--runs 0,5] [--prefix P] [--verbose]
      REPLAY_DIR/<run>.csv = `detector replay OUT_DIR/<run>.csv` (default engine)
  skab_score.py sklearn SKAB_DIR [--runs 0,5] [--contamination 0.01] [--verbose]
      IsolationForest baseline (needs scikit-learn: run with /usr/bin/python3)

Metric names written by `convert` (the sensor's own quantities, named as a
user would, none of them a name the engine knows units for: "pressure" and
"temperature" would make the engine judge bar as hPa):
  accelerometer1_rms accelerometer2_rms current pressure_bar
  motor_temperature_c thermocouple_c voltage volume_flow_rate_rms

Scoring, as SKAB's README and leaderboard (all runs pooled):
  - rows 0..399 of each run are for learning and not scored; the detector
    replays the whole run (learning online from row 0; its warm-up is 300
    readings), the baseline is trained on them;
  - outlier problem: a scored row is "in fault" for the detector when any of
    its metrics has in_alarm = 1 (the replay column; `flagged` for binaries
    without it); F1 over rows, FAR = % of normal rows in fault, MAR = % of
    fault rows not in fault;
  - changepoint problem (SKAB's tsad chp_score, metric "nab"): predicted
    changepoints are the rows an alert refers to (any type, a change's end
    alert too); one window per true changepoint (label `changepoint` = 1),
    from it to 60 s later; overlapping windows: the later one starts where
    the earlier ends ("cut right window"); the first detection in a window
    scores from A_tp = 1 at its left edge down to A_fp = -0.11 at its right
    edge along tsad's tanh scale; a window without detection -1; every
    detection outside the windows -0.11 (flat); normalised
    100 * (raw - null) / (perfect - null), null = -1 and perfect = +1 per
    window (no detection 0, perfect 100).
  - baseline (SKAB's isolation_forest notebook): StandardScaler and
    IsolationForest(n_estimators=100, contamination, random_state=0) fitted
    on rows 0..399, predict on every row (outlier = 1); changepoints where
    the prediction changes on the scored rows (both edges: |diff|, the first
    scored row when it is an outlier, as their notebooks do).
Prints `bench: <P>.f1|far|mar|cpd_nab <value> <unit>` (P = accuracy.skab, or
accuracy.skab with suffix _sklearn for the baseline).
"""
import argparse
import csv
import glob
import math
import os
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

TRAIN_ROWS = 400
WINDOW_S = 60.0
A_TP, A_FP, A_FN = 1.0, 0.11, 1.0
A_FP_SIGNED = -A_FP
METRICS = ["accelerometer1_rms", "accelerometer2_rms", "current", "pressure_bar",
           "motor_temperature_c", "thermocouple_c", "voltage", "volume_flow_rate_rms"]
SOURCE = ["Accelerometer1RMS", "Accelerometer2RMS", "Current", "Pressure", "Temperature",
          "Thermocouple", "Voltage", "Volume Flow RateRMS"]


def runs_of(skab_dir, runs):
    paths = glob.glob(os.path.join(skab_dir, "valve1", "*.csv"))
    names = sorted((os.path.basename(p)[:-4] for p in paths), key=lambda s: (len(s), s))
    if runs:
        want = runs.split(",")
        missing = [r for r in want if r not in names]
        if missing:
            raise SystemExit(f"no SKAB run(s) {missing} in {skab_dir}/valve1")
        names = want
    if not names:
        raise SystemExit(f"no SKAB runs in {skab_dir}/valve1")
    return names


def load_run(skab_dir, run):
    """Returns (timestamps (s), values (list of 8 floats), anomaly, changepoint)."""
    ts, vals, anom, cp = [], [], [], []
    with open(os.path.join(skab_dir, "valve1", run + ".csv"), newline="") as f:
        for r in csv.DictReader(f, delimiter=";"):
            ts.append(datetime.strptime(r["datetime"], "%Y-%m-%d %H:%M:%S")
                      .replace(tzinfo=timezone.utc).timestamp())
            vals.append([float(r[c]) for c in SOURCE])
            anom.append(int(float(r["anomaly"])))
            cp.append(int(float(r["changepoint"])))
    return ts, vals, anom, cp


def cmd_convert(a):
    os.makedirs(a.out_dir, exist_ok=True)
    for run in runs_of(a.skab_dir, a.runs):
        src = os.path.join(a.skab_dir, "valve1", run + ".csv")
        with open(src, newline="") as f, open(os.path.join(a.out_dir, run + ".csv"), "w") as o:
            o.write("timestamp," + ",".join(METRICS) + "\n")
            for r in csv.DictReader(f, delimiter=";"):
                o.write(r["datetime"] + "," + ",".join(r[c] for c in SOURCE) + "\n")


def replay_decisions(path, nrows):
    """Per input row: (in fault, an alert refers to it), from replay output."""
    import replay_rows
    fault, alert = [], []
    cur_ts, seen = None, set()
    for r in replay_rows.read(path):
        if r["ts_text"] != cur_ts or r["metric"] in seen:
            fault.append(0)
            alert.append(0)
            cur_ts, seen = r["ts_text"], set()
        seen.add(r["metric"])
        fault[-1] |= r["in_alarm"]
        alert[-1] |= 1 if r["type"] else 0
    if len(fault) != nrows:
        raise SystemExit(f"{path}: {len(fault)} rows in the replay output, {nrows} in the run")
    return fault, alert


def tp_weight(t, lo, hi):
    """tsad's "improved" scale (SKAB's metrics.py, my_scale, koef 1): A_tp at
    the window's left edge falling along a tanh to A_fp at its right edge,
    sampled on 1000 steps."""
    event = int((t - lo) / (hi - lo) * 1000) if hi > lo else 0
    x = -math.pi / 2 + math.pi * min(event, 999) / 999.0
    half = (A_TP - A_FP_SIGNED) / 2
    return half * -math.tanh(x) / math.tanh(math.pi / 2) + half + A_FP_SIGNED


def cpd_raw(ts, cp, det):
    """NAB-like changepoint score of one run over rows >= TRAIN_ROWS, as
    SKAB's tsad chp_score(metric="nab", window_width="60s",
    anomaly_window_destination="righter", intersection_mode="cut right
    window"). Returns (raw, windows, found, false detections)."""
    n = len(ts)
    wins = [[ts[i], ts[i] + WINDOW_S] for i in range(TRAIN_ROWS, n) if cp[i]]
    for k in range(len(wins) - 1):  # cut right window
        if wins[k][1] >= wins[k + 1][0]:
            wins[k + 1][0] = wins[k][1]
    best = [None] * len(wins)
    raw, fps = 0.0, 0
    for i in range(TRAIN_ROWS, n):
        if not det[i]:
            continue
        t = ts[i]
        k = next((k for k, (lo, hi) in enumerate(wins) if lo <= t <= hi), None)
        if k is None:
            raw -= A_FP
            fps += 1
        elif best[k] is None:
            best[k] = tp_weight(t, *wins[k])
    found = sum(1 for b in best if b is not None)
    raw += sum(b for b in best if b is not None) - A_FN * (len(wins) - found)
    return raw, len(wins), found, fps


class Tally:
    def __init__(self):
        self.tp = self.fp = self.fn = self.tn = 0
        self.raw = 0.0
        self.win = self.found = self.cfp = 0

    def add(self, ts, anom, cp, fault, det):
        for i in range(TRAIN_ROWS, len(ts)):
            if anom[i] and fault[i]:
                self.tp += 1
            elif anom[i]:
                self.fn += 1
            elif fault[i]:
                self.fp += 1
            else:
                self.tn += 1
        r, w, f, p = cpd_raw(ts, cp, det)
        self.raw += r
        self.win += w
        self.found += f
        self.cfp += p
        return r

    def report(self, prefix, suffix=""):
        f1 = 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0
        far = 100.0 * self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0
        mar = 100.0 * self.fn / (self.fn + self.tp) if self.fn + self.tp else 0.0
        null, perfect = -A_FN * self.win, A_TP * self.win
        nab = 100.0 * (self.raw - null) / (perfect - null) if self.win else 0.0
        print(f"bench: {prefix}.f1{suffix} {f1:.3f} ratio")
        print(f"bench: {prefix}.far{suffix} {far:.1f} %")
        print(f"bench: {prefix}.mar{suffix} {mar:.1f} %")
        print(f"bench: {prefix}.cpd_nab{suffix} {nab:.1f} points")
        print(f"bench: {prefix}.cpd_found{suffix} {self.found}/{self.win} changepoints")
        print(f"bench: {prefix}.cpd_false{suffix} {self.cfp} detections")


def cmd_score(a):
    t = Tally()
    runs = runs_of(a.skab_dir, a.runs)
    for run in runs:
        ts, _, anom, cp = load_run(a.skab_dir, run)
        fault, alert = replay_decisions(os.path.join(a.replay_dir, run + ".csv"), len(ts))
        r = t.add(ts, anom, cp, fault, alert)
        if a.verbose:
            sc = range(TRAIN_ROWS, len(ts))
            print(f"  {run}: in fault {sum(fault[i] for i in sc)}/{len(sc)} rows "
                  f"(true {sum(anom[i] for i in sc)}), alerts "
                  f"{[i for i in sc if alert[i]]}, changepoints {[i for i in sc if cp[i]]}, "
                  f"cpd raw {r:.2f}", file=sys.stderr)
    print(f"bench: {a.prefix}.runs {len(runs)} runs")
    t.report(a.prefix)


def cmd_sklearn(a):
    import numpy as np
    from sklearn.ensemble import IsolationForest
    from sklearn.preprocessing import StandardScaler
    t = Tally()
    for run in runs_of(a.skab_dir, a.runs):
        ts, vals, anom, cp = load_run(a.skab_dir, run)
        X = np.array(vals)
        sc = StandardScaler().fit(X[:TRAIN_ROWS])
        m = IsolationForest(n_estimators=100, contamination=a.contamination, random_state=0,
                            n_jobs=1).fit(sc.transform(X[:TRAIN_ROWS]))
        pred = (m.predict(sc.transform(X)) == -1).astype(int)
        # SKAB's notebooks on the scored part: cp = |diff|, cp[0] = pred[0]
        test = pred[TRAIN_ROWS:]
        edges = [0] * TRAIN_ROWS + np.abs(np.diff(test, prepend=0)).tolist()
        r = t.add(ts, anom, cp, pred.tolist(), edges)
        if a.verbose:
            print(f"  {run}: in fault {int(pred[TRAIN_ROWS:].sum())} rows, cpd raw {r:.2f}",
                  file=sys.stderr)
    t.report(a.prefix, "_sklearn")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert", help="SKAB runs -> comma CSVs for `detector replay`")
    c.add_argument("skab_dir")
    c.add_argument("out_dir")
    c.add_argument("--runs", help="comma-separated run names (default: all of valve1/)")
    s = sub.add_parser("score", help="score `detector replay` outputs")
    s.add_argument("skab_dir")
    s.add_argument("replay_dir")
    s.add_argument("--runs")
    s.add_argument("--prefix", default="accuracy.skab")
    s.add_argument("--verbose", action="store_true")
    k = sub.add_parser("sklearn", help="IsolationForest baseline (needs scikit-learn)")
    k.add_argument("skab_dir")
    k.add_argument("--runs")
    k.add_argument("--contamination", type=float, default=0.01)
    k.add_argument("--prefix", default="accuracy.skab")
    k.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    {"convert": cmd_convert, "score": cmd_score, "sklearn": cmd_sklearn}[a.cmd](a)


if __name__ == "__main__":
    main()
