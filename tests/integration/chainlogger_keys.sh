# The chain logger's signing key (#19 item 8):
#   - Ganache's and Anvil's well-known development accounts are refused on
#     any chain id but 1337 and 31337, with a clear error, before anything
#     is signed; they are accepted on the development chains;
#   - a key of one's own is accepted on any chain id;
#   - PRIVATE_KEY_FILE (e.g. a Docker secret) works like KEY_FILE, so the key
#     need not be in the environment: a deploy on Ganache succeeds with it;
#   - a key file readable by others is refused;
#   - the owner's key (OWNER_PRIVATE_KEY) is held to the same rule.
. "$(dirname "$0")/../lib.sh"
[ -x "$BIN/chainlogger" ] || fail "missing $BIN/chainlogger"
export STATE_DIR=$T/state MQTT_URL=tcp://127.0.0.1:9 RPC_URL=http://127.0.0.1:9
mkdir -p "$STATE_DIR"
ANVIL_KEY0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
OWN_KEY=0x$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')

# run_cl NAME CHAIN_ID [ENV...]: run the chain logger for at most 3 s; log in $T/NAME.out, status in $rc.
run_cl() {
    local name=$1 id=$2
    shift 2
    rc=0
    timeout 3 env CHAIN_ID="$id" "$@" "$BIN/chainlogger" >"$T/$name.out" 2>&1 || rc=$?
}
for id in 1 5 11155111; do
    run_cl ganache-$id "$id" PRIVATE_KEY="$GANACHE_KEY0"
    [ "$rc" = 2 ] || fail "Ganache key 0 on chain $id: exit $rc, want 2: $(tail -3 "$T/ganache-$id.out")"
    grep -q 'key_refused reason=development_key address=0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1' "$T/ganache-$id.out" ||
        fail "no clear refusal: $(tail -3 "$T/ganache-$id.out")"
    grep -q 'PRIVATE_KEY_FILE' "$T/ganache-$id.out" || fail "the refusal does not say what to use"
done
run_cl ganache2 5 PRIVATE_KEY="$GANACHE_KEY2"
grep -q 'key_refused' "$T/ganache2.out" || fail "Ganache key 2 accepted on chain 5"
run_cl anvil 1 PRIVATE_KEY="$ANVIL_KEY0"
grep -q 'key_refused.*address=0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266' "$T/anvil.out" ||
    fail "Anvil key 0 accepted on chain 1: $(tail -3 "$T/anvil.out")"
# Development chains: the same keys pass the check (the chain logger then
# stops at the next step, no contract, which shows it got past the key).
for k in "1337 $GANACHE_KEY0" "31337 $ANVIL_KEY0"; do
    set -- $k
    run_cl dev-$1 "$1" PRIVATE_KEY="$2"
    grep -q 'contract_unknown' "$T/dev-$1.out" || fail "development key refused on chain $1: $(tail -3 "$T/dev-$1.out")"
done
# A key of one's own, from a file, on another chain: accepted (same sign).
(umask 077 && echo "$OWN_KEY" >"$T/own.key")
run_cl own 5 PRIVATE_KEY_FILE="$T/own.key"
grep -q 'contract_unknown' "$T/own.out" || fail "own key refused: $(tail -3 "$T/own.out")"
# A key file others can read is refused, under either name.
cp "$T/own.key" "$T/open.key" && chmod 644 "$T/open.key"
run_cl open 5 PRIVATE_KEY_FILE="$T/open.key"
[ "$rc" = 2 ] && grep -q 'key_file_permissions' "$T/open.out" || fail "group/world-readable key file accepted: $(tail -3 "$T/open.out")"
run_cl both 5 PRIVATE_KEY_FILE="$T/own.key" KEY_FILE="$T/open.key"
[ "$rc" = 2 ] || fail "KEY_FILE and PRIVATE_KEY_FILE naming different files accepted"
# The owner's key (OWNER_PRIVATE_KEY / OWNER_KEY_FILE) is checked the same way.
rc=0
timeout 3 env CHAIN_ID=5 PRIVATE_KEY="$OWN_KEY" OWNER_PRIVATE_KEY="$GANACHE_KEY1" "$BIN/chainlogger" deploy \
    >"$T/owner-dev.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'key_refused.*address=0xffcf8fdee72ac11b5c542428b35eef5769c409f0' "$T/owner-dev.out" ||
    fail "Ganache key 1 accepted as the owner key on chain 5: exit $rc $(tail -3 "$T/owner-dev.out")"

# PRIVATE_KEY_FILE end to end: deploy on Ganache without PRIVATE_KEY in the environment.
start_chain
(umask 077 && echo "$GANACHE_KEY0" >"$T/logger.key")
env -u PRIVATE_KEY -u KEY_FILE PRIVATE_KEY_FILE="$T/logger.key" "$BIN/chainlogger" deploy >"$T/contract" 2>"$T/deploy.log" ||
    fail "deploy with PRIVATE_KEY_FILE failed: $(tail -3 "$T/deploy.log")"
grep -q '^0x[0-9a-fA-F]\{40\}$' "$T/contract" || fail "deploy printed no address: $(cat "$T/contract")"
echo "chainlogger_keys ok"
