#!/usr/bin/env bash
# notify — the notifier (issue #18) against a real mosquitto and local
# receivers (tests/integration/notify_receiver.py: webhook, ntfy, Telegram
# over HTTP; SMTP with STARTTLS via python3-aiosmtpd). Lifecycle events are
# published as the gateway does (bus/alarm.h's format, QoS 1):
#   - an opened alarm reaches the webhook (minimal config form) with a
#     valid X-Signature-256 and its idempotency key, and ntfy, Telegram,
#     e-mail (STARTTLS) and the MQTT republish topic in their formats;
#   - five alarms within the grouping window give ONE grouped message;
#   - reminders every 3 s until acknowledged, none after;
#   - clearing sends a recovery message; a muted alarm sends nothing;
#   - Home Assistant discovery (retained) and availability;
#   - receiver down, notifier killed with kill -9 while events wait, more
#     events published while it is dead: after restart and recovery every
#     idempotency key arrives (LOST: otherwise);
#   - per-channel counters in status/notifier/{instance}.
. "$(dirname "$0")/../lib.sh"
[ -x "$BIN/notifier" ] || skip "missing $BIN/notifier"
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd not installed (scripts/install-deps.sh --test)"
command -v openssl >/dev/null || skip "openssl not installed"
RX=$(dirname "$0")/notify_receiver.py
# Debian's python3 (a python3 earlier on PATH may lack python3-aiosmtpd)
PY=/usr/bin/python3

start_mosquitto
MP=$MQTT_PORT
H=$(free_port)
D=$(free_port)
while [ "$D" = "$H" ]; do D=$(free_port); done
S=$(free_port)
while [ "$S" = "$H" ] || [ "$S" = "$D" ]; do S=$(free_port); done
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$T/smtp.key" -out "$T/smtp.crt" >/dev/null 2>&1 || fail "openssl could not make a certificate"
bg rx-http python3 "$RX" http "$H" "$T/http.jsonl" s3cret
bg rx-smtp "$PY" "$RX" smtp "$S" "$T/smtp.jsonl" "$T/smtp.crt" "$T/smtp.key"
start_dur_rx() { bg rx-dur python3 "$RX" http "$D" "$T/dur.jsonl" dursecret; DUR_PID=$LAST_PID; }
start_dur_rx
wait_port "$H" 10 || fail "SLOW-START: http receiver"
wait_port "$S" 10 || fail "SLOW-START: smtp receiver"
wait_port "$D" 10 || fail "SLOW-START: dur receiver"

cat >"$T/notify.json" <<JSON
{"channels": [
  {"name": "ops", "type": "webhook", "url": "http://127.0.0.1:$H/hook", "secret": "s3cret", "min_severity": "warning"},
  {"name": "phone", "type": "ntfy", "url": "http://127.0.0.1:$H/ntfy/alerts", "sensors": ["room-1"]},
  {"name": "tg", "type": "telegram", "base_url": "http://127.0.0.1:$H", "token": "123:abc",
   "chat_id": 42, "sensors": ["room-1"]},
  {"name": "mail", "type": "email", "url": "smtp://127.0.0.1:$S", "from": "iotad@example.org",
   "to": ["ops@example.org"], "ca_file": "$T/smtp.crt", "sensors": ["room-1"], "events": ["opened"]},
  {"name": "bus", "type": "mqtt", "topic": "notify/out/ops", "sensors": ["room-1"], "events": ["opened"]},
  {"name": "grp", "type": "webhook", "url": "http://127.0.0.1:$H/grp", "secret": "s3cret",
   "sensors": ["cold-*"], "events": ["opened"], "group_seconds": 2},
  {"name": "rem", "type": "webhook", "url": "http://127.0.0.1:$H/rem", "secret": "s3cret",
   "sensors": ["boiler"], "remind_minutes": 0.05, "rate_per_minute": 600},
  {"name": "dur", "type": "webhook", "url": "http://127.0.0.1:$D/dur", "secret": "dursecret",
   "sensors": ["dur-*"], "events": ["opened"], "rate_per_minute": 6000, "group_max": 7,
   "backoff_max_seconds": 1, "timeout_seconds": 2}
]}
JSON
"$BIN/notifier" --config "$T/notify.json" check-config >/dev/null || fail "check-config refused a valid file"
# a broken file is refused at start with a message naming the place
echo '{"channels": [{"name": "x", "type": "webhook"}]}' >"$T/bad.json"
out=$("$BIN/notifier" --config "$T/bad.json" check-config 2>&1) && fail "a webhook without url was accepted"
grep -q 'channels\[0\].url: required for type webhook' <<<"$out" || fail "unclear error: $out"

export NOTIFY_CONFIG=$T/notify.json NOTIFY_OUTBOX=$T/outbox NOTIFY_STATUS_INTERVAL=1
start_notifier() { bg notifier "$BIN/notifier"; NPID=$LAST_PID; }
mosquitto_sub -p "$MP" -t notify/out/ops -v >"$T/bus.out" 2>/dev/null &
PIDS+=($!)
start_notifier
wait_for 10 grep -q notify_started "$T/notifier.log" || fail "SLOW-START: notifier did not start"
sleep 0.5 # subscriptions

NOW=$(($(date +%s) * 1000))
# ev EVENT SENSOR ID [SEVERITY [STATE [ACKED [MUTED_UNTIL]]]]: a lifecycle event as the gateway writes it
ev() {
    local e=$1 s=$2 id=$3 sev=${4:-major} st=${5:-active} ack=${6:-false} mu=${7:-null}
    local cl=null
    [ "$st" = cleared ] && cl=$NOW
    printf '{"event":"%s","at":%s,"by":null,"alarm":{"id":"%s","sensor_id":"%s","metric":"temperature","kind":"point","severity":"%s","state":"%s","acked":%s,"acked_by":null,"muted_until":%s,"opened_at":%s,"cleared_at":%s,"count":1,"peak_value":81.5,"peak_score":0.91,"last_anomaly_id":null,"explanation":"temperature 81.5 is far above 19..24","last_at":%s,"false_positive":false}}' \
        "$e" "$((NOW + ${SEQ:-0}))" "$id" "$s" "$sev" "$st" "$ack" "$mu" "$NOW" "$cl" "$NOW"
}
pub() { mosquitto_pub -p "$MP" -q 1 -t "alarms/events/$2" -m "$(ev "$@")"; }
count() { [ -f "$1" ] && grep -c "$2" "$1" || echo 0; }

# 1. one fault: every channel, each in its own format
SEQ=1 pub opened room-1 a1
wait_for 10 grep -q '"path": "/hook"' "$T/http.jsonl" || fail "the webhook got nothing"
python3 - "$T/http.jsonl" <<'PY' || fail "webhook body or signature wrong"
import json, sys
hooks = [json.loads(l) for l in open(sys.argv[1]) if '"/hook"' in l]
h = hooks[0]
assert h["sig_ok"], "X-Signature-256 does not verify"
b = h["body"]
assert b["event"] == "opened" and b["alarm"]["id"] == "a1" and b["alarm"]["severity"] == "major", b
assert b["idempotency_key"].startswith("a1:opened:"), b
assert h["headers"]["Idempotency-Key"] == b["idempotency_key"]
PY
wait_for 10 grep -q '"kind": "ntfy"' "$T/http.jsonl" || fail "ntfy got nothing"
wait_for 10 grep -q '"kind": "telegram"' "$T/http.jsonl" || fail "telegram got nothing"
wait_for 15 grep -q '"kind": "smtp"' "$T/smtp.jsonl" || fail "the SMTP server got nothing"
wait_for 5 grep -q '"idempotency_key":"a1:opened' "$T/bus.out" || fail "nothing on the MQTT republish topic"
python3 - "$T/http.jsonl" "$T/smtp.jsonl" <<'PY' || fail "ntfy/telegram/smtp format wrong"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n = [r for r in rows if r["kind"] == "ntfy"][0]
assert n["path"] == "/ntfy/alerts" and "room-1" in n["body"] and n["headers"]["Priority"] == "4", n
assert "room-1" in n["headers"]["Title"], n
t = [r for r in rows if r["kind"] == "telegram"][0]
assert t["path"] == "/bot123:abc/sendMessage" and t["body"]["chat_id"] == "42", t
assert "room-1" in t["body"]["text"], t
m = json.loads(open(sys.argv[2]).readline())
assert m["tls"], "mail went without STARTTLS"
assert m["to"] == ["ops@example.org"] and "Subject: [iotad] major: room-1" in m["data"], m
assert "Message-ID: <a1:opened:" in m["data"], m["data"][:400]
PY

# 2. grouping: five alarms within group_seconds -> one message of five
for i in 2 3 4 5 6; do SEQ=$i pub opened "cold-$i" "c$i"; done
wait_for 10 grep -q '"path": "/grp"' "$T/http.jsonl" || fail "the grouped channel got nothing"
sleep 2.5
[ "$(count "$T/http.jsonl" '"path": "/grp"')" = 1 ] || fail "DUP: five events within the window gave $(count "$T/http.jsonl" '"path": "/grp"') messages, not one"
python3 - "$T/http.jsonl" <<'PY' || fail "grouped message wrong"
import json, sys
g = [json.loads(l) for l in open(sys.argv[1]) if '"/grp"' in l][0]
b = g["body"]
assert g["sig_ok"] and b["event"] == "group" and b["count"] == 5 and b["sensors"] == 5, b
assert sorted(e["alarm"]["id"] for e in b["events"]) == ["c2", "c3", "c4", "c5", "c6"], b
assert "5 alarm events on 5 sensors" in b["text"], b["text"]
PY

# 3. reminders every 3 s until acknowledged
SEQ=10 pub opened boiler b1
wait_for 12 bash -c "[ \$(grep -c '\"reminder\"' '$T/http.jsonl') -ge 2 ]" || fail "fewer than two reminders in 12 s"
SEQ=11 pub acknowledged boiler b1 major active true
sleep 1
r1=$(count "$T/http.jsonl" '"reminder"')
sleep 4.5
r2=$(count "$T/http.jsonl" '"reminder"')
[ "$r1" = "$r2" ] || fail "reminders went on after the acknowledgement ($r1 -> $r2)"
grep '"/rem"' "$T/http.jsonl" | grep -q '"acknowledged"' || fail "the acknowledgement was not sent"

# 4. a muted alarm sends nothing; clearing sends a recovery message
SEQ=12 pub opened room-2 m1 critical active false $((NOW + 3600000))
SEQ=13 pub cleared room-1 a1 major cleared
wait_for 15 grep -q 'a1:cleared' "$T/http.jsonl" || fail "no recovery message on clearing"
grep 'a1:cleared' "$T/http.jsonl" | grep -q 'recovered' || fail "the recovery message does not say so"
grep -q '"m1"' "$T/http.jsonl" && fail "a muted alarm was notified"

# 5. Home Assistant: discovery (retained), availability, attributes
mosquitto_pub -p "$MP" -q 1 -r -t alarms/room-1 -m "{\"sensor_id\":\"room-1\",\"at\":$NOW,\"active_total\":1,\"active\":[$(ev opened room-1 a1 | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["alarm"]))')]}"
wait_for 5 bash -c "mosquitto_sub -p $MP -t homeassistant/binary_sensor/iotad/room-1_anomaly/config -C 1 -W 1 >'$T/ha.json'" ||
    fail "no retained discovery config for room-1"
python3 - "$T/ha.json" <<'PY' || fail "discovery payload wrong"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["device_class"] == "problem" and c["state_topic"] == "alarms/room-1", c
assert c["availability_topic"] == "status/notifier/notifier/availability", c
assert c["device"]["identifiers"] == ["iotad_room-1"] and c["unique_id"], c
PY
[ "$(mosquitto_sub -p "$MP" -t status/notifier/notifier/availability -C 1 -W 2)" = online ] || fail "availability is not online"
wait_for 5 bash -c "mosquitto_sub -p $MP -t notify/ha/room-1 -C 1 -W 1 | grep -q '\"state\":\"ON\"'" || fail "no ON summary on notify/ha/room-1"

# the last anomaly's score and expected range reach the summary
AID=$(printf 'ab%.0s' $(seq 32))
mosquitto_pub -p "$MP" -q 1 -t anomalies/room-1 -m "{\"id\":\"$AID\",\"sensor_id\":\"room-1\",\"ts\":1764100000.5,\"metric\":\"temperature\",\"value\":81.5,\"score\":0.83,\"type\":\"point\",\"explanation\":\"too hot\",\"expected_low\":19.1,\"expected_high\":24.3,\"model_version\":3}"
wait_for 5 bash -c "mosquitto_sub -p $MP -t notify/ha/room-1 -C 1 -W 1 | grep -q '\"score\":0.83'" || fail "the anomaly score did not reach notify/ha/room-1"
mosquitto_sub -p "$MP" -t notify/ha/room-1 -C 1 -W 1 | grep -q '"expected_range":"19.1 .. 24.3"' || fail "no expected range in the HA attributes"

# a test message on request (notify/test), to one channel
mosquitto_pub -p "$MP" -q 1 -t notify/test -m '{"channel": "rem"}'
wait_for 5 bash -c "grep '\"/rem\"' '$T/http.jsonl' | grep -q '\"event\": \"test\"'" || fail "no test message on notify/test"

# 6. never lost: receiver down, kill -9 with events waiting, more while dead
stop_pid "$DUR_PID" 10
for i in $(seq 1 10); do SEQ=$((100 + i)) pub opened "dur-$i" "d$i"; done
wait_for 10 grep -q 'notify_send_failed channel=dur' "$T/notifier.log" || fail "no failed attempt while the receiver is down"
kill -9 "$NPID"
wait "$NPID" 2>/dev/null || true
for i in $(seq 11 20); do SEQ=$((100 + i)) pub opened "dur-$i" "d$i"; done
start_notifier
sleep 2
start_dur_rx
wait_port "$D" 10 || fail "SLOW-START: dur receiver restart"
PYTHONPATH=$(dirname "$RX") python3 - "$T/dur.jsonl" <<'PY' || fail "events lost across the outage and the kill -9"
import sys, time
from notify_receiver import deliveries
want = {"d%d" % i for i in range(1, 21)}
for _ in range(100):
    got, seen, _keys = deliveries(sys.argv[1])
    if want <= got:
        break
    time.sleep(0.2)
missing = sorted(want - got)
if missing:
    print("LOST:", missing)
    sys.exit(1)
dups = len(seen) - len(set(seen))
print("dur: %d keys, %d delivered, %d repeats (dropped by key)" % (len(set(seen)), len(seen), dups))
PY

# 7. counters in the status report (a report each second; the retained one may
# predate the last deliveries, so read until one shows them)
status_ok() {
    mosquitto_sub -p "$MP" -t status/notifier/notifier -C 1 -W 2 >"$T/status.json" || return 1
    python3 - "$T/status.json" <<'PY'
import json, sys
m = {(x["name"], (x.get("labels") or {}).get("channel")): x["value"] for x in json.load(open(sys.argv[1]))["metrics"]}
# counters start again with the process (the kill -9 above): ops sent its backlog since
assert m[("sent_total", "ops")] >= 1 and m[("sent_total", "dur")] >= 1, m
assert m[("events_sent_total", "dur")] >= 20 and m[("queued", "dur")] == 0, m
assert m[("failed_total", "dur")] >= 1, m
assert ("retried_total", "dur") in m and ("rejected_total", "dur") in m, m
PY
}
wait_for 10 status_ok || { cat "$T/status.json" >&2; fail "status counters wrong"; }
echo "notify: ok"
