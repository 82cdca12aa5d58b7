#!/usr/bin/env python3
"""Throughput of one bench/pipeline.sh phase from the detectors' stats log
lines (STATS_INTERVAL=1: `<ISO time> info detector stats readings=N ...
bad=B ... [intake_dropped=D missed=M]`), read from the logs directly so
that a loaded broker cannot delay the figures.

    rate.py T_START T_STOP LOG...

T_START: wall time (Unix s) the publisher started; T_STOP: when the phase
was over (publisher done, detectors idle). For each log it takes
readings + bad at the last line at or before T_START and at the first line
that reached its final value by T_STOP. Prints: `processed <n> seconds <s>
rate <n/s> queue_dropped <d> missed <m>`; seconds runs from T_START to the
last detector's last increase."""
import calendar
import re
import sys
import time

t0, t1 = float(sys.argv[1]), float(sys.argv[2])
LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)Z \S+ detector stats (.*)$")


def parse(path):
    pts = []
    for line in open(path, errors="replace"):
        m = LINE.match(line)
        if not m:
            continue
        t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + float(m.group(2))
        kv = dict(p.split("=", 1) for p in m.group(3).split() if "=" in p)
        num = lambda k: float(kv.get(k, 0))
        pts.append((t, num("readings") + num("bad"), num("intake_dropped"), num("missed")))
    return pts


total = dropped = missed = 0.0
t_last = t0
for path in sys.argv[3:]:
    pts = parse(path)
    before = [p for p in pts if p[0] <= t0]
    during = [p for p in pts if t0 < p[0] <= t1]
    if not during:
        continue
    base = before[-1] if before else (t0, 0.0, 0.0, 0.0)
    final = during[-1]
    t_done = next(p[0] for p in during if p[1] >= final[1])
    total += final[1] - base[1]
    dropped += final[2] - base[2]
    missed += final[3] - base[3]
    if final[1] > base[1]:
        t_last = max(t_last, t_done)
secs = max(t_last - t0, 1e-3)
print("processed %d seconds %.2f rate %.0f queue_dropped %d missed %d"
      % (total, secs, total / secs, dropped, missed))
