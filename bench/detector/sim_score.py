#!/usr/bin/env python3
"""Event-level accuracy of `detector replay` on simulator datasets, per
seed and the worst over seeds.

usage: sim_score.py [--days 14] [--verbose] RUN_DIR [RUN_DIR ...]

Each RUN_DIR holds all.labels.csv (from `simulator --csv RUN_DIR/all.csv`)
and out.csv (`detector replay RUN_DIR/all.csv`, default engine); its base
name (e.g. seed7) names the figures.

Definitions (per seed):
  - detection: an alert (row with a type) that is not the end alert of a
    change ("(change ended)"): a change's start and end are one detection;
  - an event (labels.csv row) is hit by a detection of the same sensor and
    metric whose row time lies in [start_ts, end_ts + 15 min];
  - recall_<type>: events of that type hit by a detection *of that type*
    (typed recall; a change reported as contextual does not count);
  - precision: events hit (by any type) / (events hit + detections hitting
    no event), i.e. counted per event: several alerts on one event are one;
  - delay_readings: mean, over events hit, of the sensor's readings from the
    event's first reading to the row of its first detection (0 = the first
    anomalous reading), and delay_p90_readings the 90th percentile (most
    events are caught on their first reading; drifts, slow by nature, make
    the tail). The row is the one the alert refers to: a
    point alert is decided one reading later, which this does not add;
  - false_per_sensor_week: detections hitting no event / sensors / weeks,
    counted over the whole dataset from its first day (warm-up included).
Figures: accuracy.sim.<figure>.<run> and accuracy.sim.<figure>.min (recall,
precision: the lowest over runs) or .max (delay, false alerts: the highest).
"""
import argparse
import bisect
import csv
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import replay_rows  # noqa: E402

GRACE_S = 15 * 60
TYPES = ("point", "contextual", "change_point")


def score_run(run_dir, days, verbose):
    events = []
    with open(os.path.join(run_dir, "all.labels.csv"), newline="") as f:
        for r in csv.DictReader(f):
            events.append({"sensor": r["sensor_id"], "metric": r["metric"], "type": r["type"],
                           "sub": r["subtype"], "lo": float(r["start_ts"]),
                           "hi": float(r["end_ts"]) + GRACE_S, "first": None, "types": set()})
    by_key = defaultdict(list)
    for e in events:
        by_key[(e["sensor"], e["metric"])].append(e)
    times = defaultdict(set)
    dets = []
    for r in replay_rows.read(os.path.join(run_dir, "out.csv")):
        t = replay_rows.ts_of(r["ts_text"])
        times[r["sensor"]].add(t)
        if r["type"] and not r["end"]:
            dets.append((r["sensor"], r["metric"], t, r["type"], r["explanation"]))
    times = {s: sorted(v) for s, v in times.items()}
    false = []
    for s, m, t, typ, expl in dets:
        hit = None
        for e in by_key.get((s, m), ()):
            if e["lo"] <= t <= e["hi"]:
                hit = e
                break
        if hit is None:
            false.append((s, m, t, typ, expl[:140]))
            continue
        hit["types"].add(typ)
        if hit["first"] is None or t < hit["first"]:
            hit["first"] = t
    fig = {}
    for typ in TYPES:
        ev = [e for e in events if e["type"] == typ]
        fig["recall_" + typ] = (sum(1 for e in ev if typ in e["types"]) / len(ev)
                                if ev else float("nan"))
    hit = [e for e in events if e["first"] is not None]
    fig["precision"] = len(hit) / (len(hit) + len(false)) if hit or false else float("nan")
    delays = []
    for e in hit:
        ts = times.get(e["sensor"], [])
        delays.append(bisect.bisect_left(ts, e["first"]) - bisect.bisect_left(ts, e["lo"]))
    fig["delay_readings"] = sum(delays) / len(delays) if delays else float("nan")
    fig["delay_p90_readings"] = sorted(delays)[int(len(delays) * 0.9)] if delays else float("nan")
    fig["false_per_sensor_week"] = len(false) / max(len(times), 1) / (days / 7.0)
    if verbose:
        name = os.path.basename(os.path.normpath(run_dir))
        print(f"  {name}: {len(events)} events, {len(dets)} detections, {len(false)} false, "
              f"{len(times)} sensors", file=sys.stderr)
        subs = defaultdict(lambda: [0, 0, 0])
        for e in events:
            subs[e["type"] + "/" + e["sub"]][0] += 1
            subs[e["type"] + "/" + e["sub"]][1] += 1 if e["first"] is not None else 0
            subs[e["type"] + "/" + e["sub"]][2] += 1 if e["type"] in e["types"] else 0
        for s, (n, f, ty) in sorted(subs.items()):
            print(f"    {s}: hit {f}/{n}, typed {ty}/{n}", file=sys.stderr)
        for x in false[:40]:
            print("    false:", *x, file=sys.stderr)
    return fig


UNITS = {"recall_point": "ratio", "recall_contextual": "ratio", "recall_change_point": "ratio",
         "precision": "ratio", "delay_readings": "readings", "delay_p90_readings": "readings",
         "false_per_sensor_week": "alerts"}
WORST_IS_MAX = {"delay_readings", "delay_p90_readings", "false_per_sensor_week"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("run_dirs", nargs="+")
    ap.add_argument("--days", type=float, default=14.0, help="days simulated (14)")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    figs = {}
    for d in a.run_dirs:
        figs[os.path.basename(os.path.normpath(d))] = score_run(d, a.days, a.verbose)
    for k, unit in UNITS.items():
        fmt = "%.2f" if k in WORST_IS_MAX else "%.3f"
        for name, f in figs.items():
            print(f"bench: accuracy.sim.{k}.{name} {fmt % f[k]} {unit}")
        vals = [f[k] for f in figs.values()]
        if k in WORST_IS_MAX:
            print(f"bench: accuracy.sim.{k}.max {fmt % max(vals)} {unit}")
        else:
            print(f"bench: accuracy.sim.{k}.min {fmt % min(vals)} {unit}")


if __name__ == "__main__":
    main()
