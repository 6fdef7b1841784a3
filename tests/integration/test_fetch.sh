#!/usr/bin/env bash
# Fetching on a real 4-node cluster (SPEC §3 "Fetching", issue 11): node3
# is down while node0 certifies 500 chunks with nodes 1 and 2; then node0
# stops for good and node3 starts. Nothing of node0's chain can reach node3
# but through Fetch from nodes 1 and 2: it must end with all 500 Locks and
# their payloads, and its export must pass the audit with no gap allowed.
# TAP.
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
kill -TERM "${pid_of[0]}"
wait "${pid_of[0]}" 2>/dev/null
check "node0 stopped" '! kill -0 "${pid_of[0]}" 2>/dev/null'

start 3
held=0
for _ in $(seq 600); do
    "$obcast" export --config "$(cfg 3)" --data >"$work/export3.jsonl" 2>"$work/export3.err"
    held=$(grep -c "\"sequencer\":\"$key0\"" "$work/export3.jsonl")
    [[ $held -ge $chunks ]] && break
    sleep 0.1
done
check "node3 learned all $chunks of node0's Locks by fetching ($held)" '[[ $held -eq $chunks ]]'
with_data=$(grep "\"sequencer\":\"$key0\"" "$work/export3.jsonl" | grep -c '"data":"[0-9a-f]')
check "and every payload ($with_data with their bytes)" '[[ $with_data -eq $chunks ]]'
check "node3's export, node0's chain whole in it, passes the audit, no gap allowed" \
    '[[ $held -eq $chunks ]] && "$obcast" audit --manifest "$work/c/manifest.zpl" "$work/export3.jsonl" >"$work/audit.log" 2>&1'

dump_metrics "$bin" "$(cfg 1)" "$(cfg 2)" "$(cfg 3)"
stop_pids
check "every node stopped on SIGTERM" '! pgrep -f "obcast-node.*$work" >/dev/null'
echo "1..$n"
[[ $fails -eq 0 ]]
