# `detector replay`: the NAB results format on real labelled series from
# ../shared/data/nab (one row per input row, in order, the same timestamps
# and values, scores in 0..1, labels 1 exactly inside the anomaly windows,
# at least one detection inside a window of a series with an obvious
# failure, none on a flat line) and the per-metric output on a simulator
# dataset, deterministic across runs.
. "$(dirname "$0")/../lib.sh"
NAB=${NAB_DIR:-$ROOT/../shared/data/nab}
[ -d "$NAB" ] || skip "NAB data not found at $NAB"
check_nab() { # check_nab CATEGORY/FILE.csv  -> $T/out.csv
    local rel=$1
    "$BIN/detector" replay "$NAB/$rel" --nab --windows "$NAB/windows.json" >"$T/out.csv" 2>"$T/replay.log" \
        || fail "replay --nab $rel failed: $(tail -3 "$T/replay.log")"
    /usr/bin/python3 - "$NAB/$rel" "$T/out.csv" "$NAB/windows.json" "$rel" <<'PY' || fail "NAB output of $rel is wrong"
import csv, json, sys
src, out, win, key = sys.argv[1:5]
rows = list(csv.DictReader(open(src)))
res = list(csv.DictReader(open(out)))
assert list(res[0].keys()) == ["timestamp", "value", "anomaly_score", "label"], res[0].keys()
assert len(res) == len(rows), (len(res), len(rows))
windows = json.load(open(win))[key]
inside = lambda t: any(a[:19] <= t <= b[:19] for a, b in windows)
for r, s in zip(rows, res):
    assert r["timestamp"][:19] == s["timestamp"][:19], (r, s)
    assert abs(float(r["value"]) - float(s["value"])) <= 1e-6 * max(1.0, abs(float(r["value"]))), (r, s)
    sc = float(s["anomaly_score"])
    assert 0.0 <= sc <= 1.0, s
    assert s["label"] == ("1" if inside(s["timestamp"][:19]) else "0"), s
hits = [s for s in res if float(s["anomaly_score"]) >= 0.5]
print(key, "rows", len(res), "detections", len(hits), "in windows", sum(inside(s["timestamp"][:19]) for s in hits))
if windows:
    assert any(inside(s["timestamp"][:19]) for s in hits), "no detection inside any window"
else:
    assert not hits, "detections on a series without anomalies"
PY
}
check_nab realKnownCause/ec2_request_latency_system_failure.csv
check_nab artificialNoAnomaly/art_flatline.csv
cp "$T/out.csv" "$T/first.csv"
check_nab artificialNoAnomaly/art_flatline.csv
cmp -s "$T/first.csv" "$T/out.csv" || fail "replay --nab is not deterministic"

# Simulator dataset through plain replay: every row scored, alerts carry a
# type and an explanation naming their metric.
"$BIN/simulator" --csv "$T/sim" --sensors 2 --days 3 --seed 5 >/dev/null 2>"$T/sim.log" || fail "simulator --csv failed"
f=$(ls "$T"/sim/*.csv | grep -v labels | head -1)
"$BIN/detector" replay "$f" >"$T/replay.csv" 2>"$T/replay2.log" || fail "replay failed: $(tail -3 "$T/replay2.log")"
head -1 "$T/replay.csv" | grep -q '^timestamp,metric,value,score,flagged,type,explanation' || fail "replay header: $(head -1 "$T/replay.csv")"
rows=$(($(wc -l <"$f") - 1))
lines=$(($(wc -l <"$T/replay.csv") - 1))
[ "$lines" -ge "$rows" ] || fail "replay wrote $lines lines for $rows rows"
/usr/bin/python3 - "$T/replay.csv" <<'PY' || fail "replay output is wrong"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
types = [r["type"] for r in rows if r["type"]]
assert all(t in ("point", "contextual", "change_point") for t in types), set(types)
assert types, "no alert at all on a simulated series with injected anomalies"
for r in rows:
    assert 0.0 <= float(r["score"]) <= 1.0, r
    if r["type"]:
        assert r["flagged"] == "1" and r["metric"] in r["explanation"], r
PY
echo "replay ok"
