#!/usr/bin/env python3
"""Event-level accuracy of `detector replay` on a simulator dataset.

usage: sim_score.py LABELS.csv REPLAY_OUT.csv DAYS [--verbose]

An injected event (labels.csv row) counts as found once when any alert of
the same sensor and metric falls inside [start_ts, end_ts + grace]; grace
covers the alert that ends a change point, which by design arrives a few
readings after the change is over. Alerts matching no event are false.
Prints the bench figures (bench: <name> <value> <unit>): per type, recall
(any alert inside the event finds it), recall_typed (only an alert of the
event's own type finds it, the stricter figure) and the share of found
events whose first alert had the same type.
"""
import csv
import sys
from collections import defaultdict
from datetime import datetime, timezone

GRACE_S = 15 * 60  # end-of-change alerts come end_n readings after the end


def ts_of(text):
    try:
        return float(text)
    except ValueError:
        return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


def main():
    labels_path, replay_path, days = sys.argv[1], sys.argv[2], float(sys.argv[3])
    verbose = "--verbose" in sys.argv
    events = []
    for r in csv.DictReader(open(labels_path)):
        events.append({"sensor": r["sensor_id"], "metric": r["metric"], "type": r["type"],
                       "sub": r["subtype"], "lo": float(r["start_ts"]),
                       "hi": float(r["end_ts"]) + GRACE_S, "found": None, "types": set()})
    by_key = defaultdict(list)
    for e in events:
        by_key[(e["sensor"], e["metric"])].append(e)
    sensors = set()
    alerts = false_alerts = 0
    false_list = []
    for r in csv.DictReader(open(replay_path)):
        sensors.add(r["sensor_id"])
        if not r["type"]:
            continue
        alerts += 1
        t = ts_of(r["timestamp"])
        hit = None
        for e in by_key.get((r["sensor_id"], r["metric"]), ()):
            if e["lo"] <= t <= e["hi"]:
                hit = e
                break
        if hit is None:
            false_alerts += 1
            false_list.append((r["sensor_id"], r["timestamp"], r["metric"], r["type"], r["explanation"][:140]))
        else:
            hit["types"].add(r["type"])
            if hit["found"] is None:
                hit["found"] = r["type"]
    nsensors = max(len(sensors), 1)
    print(f"bench: accuracy.sim.alerts {alerts} count")
    for typ in ("point", "contextual", "change_point"):
        ev = [e for e in events if e["type"] == typ]
        found = [e for e in ev if e["found"]]
        rec = len(found) / len(ev) if ev else float("nan")
        same = sum(1 for e in found if e["found"] == typ) / len(found) if found else float("nan")
        print(f"bench: accuracy.sim.recall.{typ} {rec:.3f} ratio")
        typed = sum(1 for e in ev if typ in e["types"]) / len(ev) if ev else float("nan")
        print(f"bench: accuracy.sim.recall_typed.{typ} {typed:.3f} ratio")
        print(f"bench: accuracy.sim.type_agreement.{typ} {same:.3f} ratio")
    precision = (alerts - false_alerts) / alerts if alerts else float("nan")
    found_all = sum(1 for e in events if e["found"])
    recall_all = found_all / len(events) if events else float("nan")
    f1 = 2 * precision * recall_all / (precision + recall_all) if alerts and found_all else 0.0
    print(f"bench: accuracy.sim.precision {precision:.3f} ratio")
    print(f"bench: accuracy.sim.f1 {f1:.3f} ratio")
    print(f"bench: accuracy.sim.false_per_sensor_week {false_alerts / nsensors / (days / 7.0):.2f} alerts")
    if verbose:
        subs = defaultdict(lambda: [0, 0])
        for e in events:
            subs[e["sub"]][0] += 1
            subs[e["sub"]][1] += 1 if e["found"] else 0
        for s, (n, f) in sorted(subs.items()):
            print(f"  subtype {s}: {f}/{n}", file=sys.stderr)
        for x in false_list[:40]:
            print("  false:", *x, file=sys.stderr)


if __name__ == "__main__":
    main()
