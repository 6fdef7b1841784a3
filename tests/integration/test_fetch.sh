#!/usr/bin/env bash
# Fetching on a real 4-node cluster (SPEC §3 "Fetching", issue 11): node3
# is down while node0 certifies 500 chunks with nodes 1 and 2; then node0
# stops for good and node3 starts. Nothing of node0's chain can reach node3
# but through Fetch from nodes 1 and 2: it must end with all 500 Locks and
# their payloads, and its export must pass the audit with no gap allowed.
# node2 keeps payload bytes only 100 heights behind the certified tip
# (`retention`): `obcast fetch` on it of a pruned height must bring the
# bytes from a peer, those that node1 holds; of a height nobody has, exit
# 1; with a bad SEQUENCER, or a manifest the Lock does not verify
# against, exit 2. TAP.
#
#   test_fetch.sh BUILD_ACTORS_DIR
set -u
bin=$1
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-fetch-XXXXXX)
source "$(dirname "$0")/lib.sh"
trap finish EXIT
trap 'exit 1' INT TERM

chunks=500
base=$(free_base 4)
check "init a 4-node cluster" '"$obcast" init 4 "$work/c" --base-port $base >"$work/init.log" 2>&1'
# One payload per chunk: 500 payloads are 500 chunks of node0's chain.
sed -i 's|^    peer_bind = \(.*\)|    peer_bind = \1\n    batch = "off"|' "$work"/c/node*/node.zpl
retention=100
sed -i "s|^    height_bound = \(.*\)|    height_bound = \1\n    retention = $retention|" "$work/c/node2/node.zpl"
cfg() { echo "$work/c/node$1/node.zpl"; }
declare -A pid_of
start() {
    "$bin/obcast-node" --config "$(cfg "$1")" >>"$work/node$1.log" 2>&1 &
    pid_of[$1]=$!
    pids+=($!)
}
for i in 0 1 2; do start "$i"; done
check "nodes 0-2 reached each other" 'wait_mesh "$bin" "$(cfg 0)" "$(cfg 1)" "$(cfg 2)"'

"$obcast" submit --config "$(cfg 0)" --count $chunks --size 300 --wait locked --timeout 120000 \
    >"$work/submit.out" 2>"$work/submit.log"
rc=$?
check "node0 certified $chunks chunks with nodes 1 and 2 (submit exit $rc)" \
    '[[ $rc -eq 0 && $(grep -c "^locked" "$work/submit.out") -eq $chunks ]]'
key0=$(sed -n 's/^assigned tag=1 sequencer=\([0-9a-f]*\) .*/\1/p' "$work/submit.out")

# node0 leaves for good: its chain stops at height 499.
signal_child TERM "${pid_of[0]}"
wait "${pid_of[0]}" 2>/dev/null
check "node0 stopped" '! kill -0 "${pid_of[0]}" 2>/dev/null'

start 3
# Payloads may come after their Locks: node2 answers the heights it pruned
# without bytes, and node3 asks another peer for those.
held=0
with_data=0
for _ in $(seq 600); do
    "$obcast" export --config "$(cfg 3)" --data >"$work/export3.jsonl" 2>"$work/export3.err"
    held=$(grep -c "\"sequencer\":\"$key0\"" "$work/export3.jsonl")
    with_data=$(grep "\"sequencer\":\"$key0\"" "$work/export3.jsonl" | grep -c '"data":"[0-9a-f]')
    [[ $held -ge $chunks && $with_data -ge $chunks ]] && break
    sleep 0.1
done
check "node3 learned all $chunks of node0's Locks by fetching ($held)" '[[ $held -eq $chunks ]]'
check "and every payload ($with_data with their bytes)" '[[ $with_data -eq $chunks ]]'
check "node3's export, node0's chain whole in it, passes the audit, no gap allowed" \
    '[[ $held -eq $chunks ]] && "$obcast" audit --manifest "$work/c/manifest.zpl" "$work/export3.jsonl" >"$work/audit.log" 2>&1'

# --- obcast fetch (SPEC §3 Asking, on request) ---------------------------
# payload HEIGHT FILE: the bytes of node0's chunk at HEIGHT in node1's export.
"$obcast" export --config "$(cfg 1)" --data >"$work/export1.jsonl" 2>"$work/export1.err"
"$obcast" export --config "$(cfg 2)" --data >"$work/export2.jsonl" 2>"$work/export2.err"
payload() {
    python3 - "$work/export1.jsonl" "$key0" "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    row = json.loads(line)
    if row.get("sequencer") == sys.argv[2] and row.get("height") == int(sys.argv[3]):
        open(sys.argv[4], "wb").write(bytes.fromhex(row["data"]))
        sys.exit(0)
sys.exit(1)
PY
}
pruned=$(grep "\"sequencer\":\"$key0\"" "$work/export2.jsonl" | grep -c '"data_pruned":true')
check "node2 pruned the payloads more than $retention heights behind the tip ($pruned)" \
    '[[ $pruned -ge $((chunks - retention - 1)) ]] && grep "\"sequencer\":\"$key0\"" "$work/export2.jsonl" | grep "\"height\":7," | grep -q data_pruned'
"$obcast" fetch --config "$(cfg 2)" "$key0" 7 --out "$work/fetched7" --timeout-ms 20000 \
    >"$work/fetch7.out" 2>"$work/fetch7.log"
rc=$?
check "obcast fetch on node2 of pruned height 7 gets the bytes from a peer (exit $rc)" \
    '[[ $rc -eq 0 ]] && payload 7 "$work/held7" && cmp -s "$work/fetched7" "$work/held7" && grep -q "^fetched sequencer=$key0 height=7 epoch=1 signers=" "$work/fetch7.out"'
"$obcast" fetch --config "$(cfg 1)" node0 499 --timeout-ms 20000 >"$work/fetched499" 2>"$work/fetch499.log"
rc=$?
check "obcast fetch on node1 of its own height 499, by node name, to stdout (exit $rc)" \
    '[[ $rc -eq 0 ]] && payload 499 "$work/held499" && cmp -s "$work/fetched499" "$work/held499"'
"$obcast" fetch --config "$(cfg 2)" "$key0" 100000 --out "$work/fetched-none" --timeout-ms 20000 \
    >/dev/null 2>"$work/fetch-none.log"
rc=$?
check "obcast fetch of a height nobody has exits 1, writes nothing (exit $rc)" \
    '[[ $rc -eq 1 && ! -e $work/fetched-none ]] && grep -q "not_found" "$work/fetch-none.log"'
expect "obcast fetch with a bad SEQUENCER exits 2, naming it" 2 \
    "SEQUENCER '${key0:0:63}' is neither a key (64 hex digits) nor a node of the manifest" \
    -- fetch --config "$(cfg 2)" "${key0:0:63}" 7
# The node is not trusted for the Lock: against another cluster's manifest
# (other keys) the same answer must fail.
"$obcast" init 4 "$work/other" --base-port $base >/dev/null 2>&1
sed "s|^    manifest = .*|    manifest = \"$work/other/manifest.zpl\"|" "$(cfg 2)" >"$work/c/node2/other.zpl"
expect "a Lock that fails verification against the manifest exits 2" 2 "fails verification against the manifest" \
    -- fetch --config "$work/c/node2/other.zpl" "$key0" 7 --out "$work/fetched-forged" --timeout-ms 20000
check "and writes nothing" '[[ ! -e $work/fetched-forged ]]'
# The same keys under another namespace: every signature fails.
sed 's|^    namespace = .*|    namespace = "another-namespace"|' "$work/c/manifest.zpl" >"$work/other/renamed.zpl"
sed "s|^    manifest = .*|    manifest = \"$work/other/renamed.zpl\"|" "$(cfg 2)" >"$work/c/node2/renamed.zpl"
expect "a Lock whose signatures fail exits 2: bad_signature" 2 "fails verification against the manifest $work/other/renamed.zpl: bad_signature" \
    -- fetch --config "$work/c/node2/renamed.zpl" "$key0" 7 --out "$work/fetched-renamed" --timeout-ms 20000
timeout 10 "$bin/obcast-journal" --config "$(cfg 2)" metrics >"$work/metrics2.jsonl" 2>&1
# (A fetch silent for 2 s is asked again: more requests than fetches.)
check "node2's net counts its 4: found 3, not_found 1" 'python3 - "$work/metrics2.jsonl" <<'"'"'PY'"'"'
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("actor") == "net":
        f = m["fetch_on_request"]
        sys.exit(0 if f["requests_client"] >= 4 and (f["found"], f["failed"]["not_found"]) == (3, 1) else 1)
sys.exit(1)
PY'

dump_metrics "$bin" "$(cfg 1)" "$(cfg 2)" "$(cfg 3)"
stop_pids
check "every node stopped on SIGTERM" '! pgrep -f "obcast-node.*$work" >/dev/null'
echo "1..$n"
[[ $fails -eq 0 ]]
