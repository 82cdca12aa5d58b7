#!/usr/bin/env bash
# first_run — what a new user meets before the stack is up (issue #21):
#   - scripts/install-deps.sh, installing mosquitto and nats-server on a
#     systemd machine, stops and disables the services the Debian packages
#     start (they would hold 1883 and 4222), says so in one line, and leaves
#     systemd alone when it is not running. apt-get, dpkg-query and
#     systemctl are stand-ins on PATH that record their arguments: the test
#     must not install packages or touch this machine's services.
#   - `make run` (scripts/run.sh) refuses a port that is in use, naming the
#     process that holds it and what to do, before it starts anything.
#   - errors say why: errno with its text; `make run` shows numbered steps,
#     and a failed deployment names its cause and the log to read.
. "$(dirname "$0")/../lib.sh"

# ---- install-deps under systemd ------------------------------------------
F=$T/fakebin
mkdir -p "$F" "$T/systemd"
cat >"$F/dpkg-query" <<'EOF'
#!/bin/sh
exit 1
EOF
for c in apt-get systemctl; do
    printf '#!/bin/sh\necho "%s $*" >>"%s/calls.log"\n' "$c" "$T" >"$F/$c"
done
printf '#!/bin/sh\nexec "$@"\n' >"$F/sudo"
chmod +x "$F"/*
INSTALL_DEPS_SYSTEMD_DIR=$T/systemd PATH=$F:$PATH "$ROOT/scripts/install-deps.sh" >"$T/deps.out" 2>&1 ||
    fail "install-deps failed: $(cat "$T/deps.out")"
grep -q '^apt-get install .*mosquitto .*nats-server' "$T/calls.log" || fail "apt-get install not run: $(cat "$T/calls.log")"
grep -qx 'systemctl disable --now --quiet mosquitto nats-server' "$T/calls.log" ||
    fail "packaged services not stopped and disabled: $(cat "$T/calls.log")"
[ "$(grep -c 'disabled' "$T/deps.out")" = 1 ] || fail "install-deps did not say it once: $(cat "$T/deps.out")"
grep 'disabled' "$T/deps.out" | grep -q 'mosquitto nats-server' || fail "the line does not name the services: $(cat "$T/deps.out")"
: >"$T/calls.log"
INSTALL_DEPS_SYSTEMD_DIR=$T/no-systemd PATH=$F:$PATH "$ROOT/scripts/install-deps.sh" >"$T/deps.out" 2>&1 ||
    fail "install-deps failed without systemd: $(cat "$T/deps.out")"
if grep -q '^systemctl' "$T/calls.log"; then fail "systemctl called without systemd"; fi
echo "ok: install-deps stops the packaged brokers under systemd only"

# ---- make run: a port in use -----------------------------------------------
for attempt in 1 2 3; do
    HELD=$(free_port)
    bg holder mosquitto -p "$HELD"
    HOLDER=$LAST_PID
    wait_port "$HELD" 5 && break
done
kill -0 "$HOLDER" || fail "could not start a mosquitto to hold a port"
ports=()
for _ in 1 2 3 4; do ports+=("$(free_port)"); done
rc=0
STATE_DIR=$T/state MQTT_PORT=$HELD MQTT_LOCAL_PORT=${ports[0]} RPC_PORT=${ports[1]} GATEWAY_PORT=${ports[2]} \
    timeout 300 "$ROOT/scripts/run.sh" >"$T/run.out" 2>&1 </dev/null || rc=$?
[ $rc != 0 ] || fail "make run started with port $HELD in use"
[ $rc != 124 ] || fail "make run did not stop on a port in use"
grep -q "port $HELD is already in use by mosquitto (pid $HOLDER)" "$T/run.out" ||
    fail "make run did not name the holder of port $HELD: $(tail -n 5 "$T/run.out")"
grep -q "set MQTT_PORT" "$T/run.out" || fail "make run did not say what to do: $(tail -n 5 "$T/run.out")"
if grep -q "contract:" "$T/run.out"; then fail "make run started the stack before checking ports"; fi
echo "ok: make run names the process holding a port"

# ---- errors a person can act on ---------------------------------------------
# Every errno in a log line comes with its text.
bare=$(grep -rn -A1 'errno=%d' "$ROOT/common" "$ROOT/services" --include=*.c |
    awk '/errno=%d/{if (l) print l; l=$0; s=/strerror\(/; next} l{if (!s && !/strerror\(/) print l; l=""}
         END{if (l && !s) print l}' || true)
[ -z "$bare" ] || fail "errno logged without strerror text: $bare"
: >"$T/statefile"
if STATE_DIR=$T/statefile/x "$BIN/chainlogger" >"$T/cl-state.log" 2>&1; then fail "chainlogger started without a state dir"; fi
grep -q 'state_dir_unusable .*error="Not a directory"' "$T/cl-state.log" ||
    fail "the state dir error does not say why: $(cat "$T/cl-state.log")"
echo "ok: errno comes with its text"

# make run: numbered steps; a deployment that fails (a key file that does
# not exist) stops it with the cause and the log file named.
for _ in 1 2 3 4; do ports+=("$(free_port)"); done
rc=0
STATE_DIR=$T/state2 MQTT_PORT=${ports[4]} MQTT_LOCAL_PORT=${ports[5]} RPC_PORT=${ports[6]} \
    GATEWAY_PORT=${ports[7]} KEY_FILE=$T/no-such.key \
    timeout 300 "$ROOT/scripts/run.sh" >"$T/run2.out" 2>&1 </dev/null || rc=$?
[ $rc != 0 ] && [ $rc != 124 ] || fail "make run did not stop on a failed deployment (rc=$rc)"
for n in 1 2 3 4 5; do
    grep -q "^\[$n/7\] " "$T/run2.out" || fail "make run did not print step $n/7: $(cat "$T/run2.out")"
done
grep -q '^\[5/7\] Deploying' "$T/run2.out" || fail "step 5 is not the deployment"
if grep -q '^\[6/7\]' "$T/run2.out"; then fail "make run went on after a failed deployment"; fi
grep -Eq "error: deploy(ing the contract)? failed; see $T/state2/logs/deploy.log" "$T/run2.out" ||
    fail "the deployment error does not name its log: $(tail -n 8 "$T/run2.out")"
grep -q "key_file_unreadable .*no-such.key .*No such file or directory" "$T/run2.out" ||
    fail "the deployment error does not say why: $(tail -n 8 "$T/run2.out")"
echo "ok: make run shows its steps and why a deployment failed"

# make run, all the way up and stopped as Ctrl-C does (SIGTERM here: a
# background job of a script ignores SIGINT; run.sh traps both the same):
# every service reports online, and nothing it started is left running.
procs_of() { # procs_of DIR: pids whose environment has STATE_DIR=DIR
    local p
    for p in /proc/[0-9]*; do
        { tr '\0' '\n' <"$p/environ" | grep -qx "STATE_DIR=$1"; } 2>/dev/null && echo "${p#/proc/}"
    done
    return 0
}
reap3() { # fail, after killing whatever make run left behind
    local p
    for p in $(procs_of "$T/state3"); do kill -9 "$p" 2>/dev/null || true; done
    fail "$@"
}
ports=()
for _ in 1 2 3 4; do ports+=("$(free_port)"); done
STATE_DIR=$T/state3 MQTT_PORT=${ports[0]} MQTT_LOCAL_PORT=${ports[1]} RPC_PORT=${ports[2]} \
    GATEWAY_PORT=${ports[3]} bg run3 "$ROOT/scripts/run.sh" </dev/null
RUN=$LAST_PID
wait_for 180 grep -q 'Dashboard:' "$T/run3.log" || reap3 "make run did not come up: $(tail -n 20 "$T/run3.log")"
grep -q '^\[7/7\] ' "$T/run3.log" || reap3 "make run did not show 7 steps"
for s in detector/detector chainlogger/chainlogger; do
    wait_for 20 sh -c "mosquitto_sub -p ${ports[1]} -t status/$s/availability -C 1 -W 1 | grep -qx online" ||
        reap3 "$s is not online under make run"
done
[ -n "$(procs_of "$T/state3")" ] || reap3 "found no process of make run"
kill -TERM "$RUN"
wait_for 20 sh -c "! kill -0 $RUN 2>/dev/null" || reap3 "make run did not stop on SIGTERM"
sleep 1
left=$(procs_of "$T/state3")
[ -z "$left" ] || reap3 "make run left processes running after Ctrl-C: $(for p in $left; do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)"
echo "ok: make run comes up (services online) and Ctrl-C stops everything"
