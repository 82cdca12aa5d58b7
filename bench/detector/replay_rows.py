"""Reading `detector replay` output (shared by the accuracy scorers).

The replay CSV has one line per input row and metric:
    [sensor_id,]timestamp,metric,value,score,flagged,type,explanation[,in_alarm]
`type` is set on the row an alert refers to (point, contextual,
change_point); `flagged` is 1 on every reading that is part of an open
event; `in_alarm` (0/1, newer engines) says the stream is in an anomalous
state on that row. When the binary does not write `in_alarm` yet, it is
taken to be `flagged` (the nearest thing the older output has).
"""
import csv
from datetime import datetime, timezone

END_MARK = "(change ended)"  # in the explanation of a change's end alert


def ts_of(text):
    """Unix seconds from a replay/simulator time cell."""
    try:
        return float(text)
    except ValueError:
        t = text.strip().replace("T", " ")
        return datetime.strptime(t[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


def read(path):
    """Yields one dict per line: sensor (or "replay"), ts_text, metric,
    flagged (int), in_alarm (int; the column, else flagged), type ("" when
    no alert refers to the row), end (1 for a change's end alert),
    explanation."""
    with open(path, newline="") as f:
        rd = csv.DictReader(f)
        cols = rd.fieldnames or []
        need = {"timestamp", "metric", "flagged", "type"}
        if not need.issubset(cols):
            raise SystemExit(f"{path}: not a `detector replay` output (columns {cols})")
        has_alarm = "in_alarm" in cols
        for r in rd:
            flagged = int(r["flagged"] or 0)
            alarm = int(r["in_alarm"] or 0) if has_alarm else flagged
            expl = r.get("explanation") or ""
            yield {
                "sensor": r.get("sensor_id") or "replay",
                "ts_text": r["timestamp"],
                "metric": r["metric"],
                "flagged": flagged,
                "in_alarm": alarm,
                "type": r["type"] or "",
                "end": 1 if r["type"] and END_MARK in expl else 0,
                "explanation": expl,
            }


def has_in_alarm(path):
    """Whether the replay output carries the in_alarm column."""
    with open(path, newline="") as f:
        return "in_alarm" in (f.readline().strip().split(","))
