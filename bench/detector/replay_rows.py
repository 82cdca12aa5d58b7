"""Reading `detector replay` output (shared by the accuracy scorers).

The replay CSV has one line per input row and metric:
    [sensor_id,]timestamp,metric,value,score,flagged,type,explanation[,in_alarm]
`type` is set on the row an alert refers to (point, contextual,
change_point); `flagged` is 1 on every reading that is part of an open
event; `in_alarm` (0/1, newer engines) says the stream is in an anomalous
state on that row. When the binary does not write `in_alarm` yet, it is
taken to be `flagged` (the nearest thing the older output has).
"""
import calendar
import csv
from functools import lru_cache

END_MARK = "(change ended)"  # in the explanation of a change's end alert


@lru_cache(maxsize=1 << 20)
def ts_of(text):
    """Unix seconds from a replay/simulator time cell (Unix seconds, or
    YYYY-MM-DD[ T]HH:MM:SS[.frac], UTC)."""
    try:
        return float(text)
    except ValueError:
        t = text.strip()
        sec = float(t[17:]) if len(t) > 17 else 0.0
        return calendar.timegm((int(t[0:4]), int(t[5:7]), int(t[8:10]), int(t[11:13]),
                                int(t[14:16]), 0, 0, 0, 0)) + sec


def read(path):
    """Yields one dict per line: sensor (or "replay"), ts_text, metric,
    flagged (int), in_alarm (int; the column, else flagged), type ("" when
    no alert refers to the row), end (1 for a change's end alert),
    explanation."""
    with open(path, newline="") as f:
        rd = csv.reader(f)
        cols = next(rd, [])
        need = {"timestamp", "metric", "flagged", "type"}
        if not need.issubset(cols):
            raise SystemExit(f"{path}: not a `detector replay` output (columns {cols})")
        ix = {c: i for i, c in enumerate(cols)}
        i_s = ix.get("sensor_id")
        i_t, i_m, i_f, i_y = ix["timestamp"], ix["metric"], ix["flagged"], ix["type"]
        i_e, i_a = ix.get("explanation"), ix.get("in_alarm")
        for r in rd:
            if len(r) < len(cols):
                continue
            flagged = 1 if r[i_f] == "1" else 0
            alarm = (1 if r[i_a] == "1" else 0) if i_a is not None else flagged
            typ = r[i_y]
            expl = r[i_e] if i_e is not None else ""
            yield {
                "sensor": r[i_s] if i_s is not None else "replay",
                "ts_text": r[i_t],
                "metric": r[i_m],
                "flagged": flagged,
                "in_alarm": alarm,
                "type": typ,
                "end": 1 if typ and END_MARK in expl else 0,
                "explanation": expl,
            }


def has_in_alarm(path):
    """Whether the replay output carries the in_alarm column."""
    with open(path, newline="") as f:
        return "in_alarm" in (f.readline().strip().split(","))
