#!/usr/bin/env bash
# SIGTERM under load leaves every database consistent (SQLite's integrity
# check, and the audit of every export), and a restarted cluster resumes
# where it stopped: its chains go on from their certified tips. TAP.
#
#   test_restart.sh BUILD_ACTORS_DIR
set -u
bin=$1
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-restart-XXXXXX)
source "$(dirname "$0")/lib.sh"
loaders=()
trap 'pids+=("${loaders[@]}"); finish' EXIT
trap 'exit 1' INT TERM

base=$(free_base 4)
"$obcast" init 4 "$work/c" --base-port "$base" >/dev/null
start_nodes() {
    for i in 0 1 2 3; do
        "$bin/obcast-node" --config "$work/c/node$i/node.zpl" >>"$work/node$i.log" 2>&1 &
        pids+=($!)
    done
}
start_nodes
check "every node reached all its peers" 'wait_mesh "$bin" "$work"/c/node*/node.zpl'
for s in 0 1 2 3; do
    "$obcast" submit --config "$work/c/node$s/node.zpl" --count 1000 --size 256 --wait locked \
        --timeout 60000 >/dev/null 2>&1 &
    loaders+=($!)
done
sleep 3
# SIGTERM in the middle of the load.
signal_child TERM "${pids[@]}"
clean=0
for pid in "${pids[@]}"; do wait "$pid" && clean=$((clean + 1)); done
pids=()
check "all 4 nodes stopped cleanly on SIGTERM under load ($clean of 4 exit 0)" '[[ $clean -eq 4 ]]'
for pid in "${loaders[@]}"; do signal_child TERM "$pid"; wait "$pid" 2>/dev/null; done
loaders=()
check "no actor is left running" '! pgrep -f "obcast-.*--config $work/c/" >/dev/null'
for i in 0 1 2 3; do
    for db in journal signer; do
        result=$(sqlite3 "$work/c/node$i/data/$db.db" "PRAGMA integrity_check" 2>&1)
        check "node$i's $db.db passes SQLite's integrity check ($result)" '[[ $result == ok ]]'
    done
done
for i in 0 1 2 3; do
    "$obcast" export --config "$work/c/node$i/node.zpl" >"$work/before$i.jsonl"
done
check "the exports taken after SIGTERM pass the audit" \
    '"$obcast" audit --manifest "$work/c/manifest.zpl" "$work"/before*.jsonl >"$work/audit1.log" 2>&1'
before=$(wc -l <"$work/before0.jsonl")

start_nodes
"$obcast" submit --config "$work/c/node0/node.zpl" --count 20 --size 256 --wait locked \
    --timeout 60000 >"$work/after.out" 2>&1
rc=$?
check "after a restart the cluster certifies again (submit exit $rc)" '[[ $rc -eq 0 ]]'
first=$(sed -n 's/^assigned tag=1 .* height=\([0-9]*\).*/\1/p' "$work/after.out")
key=$("$bin/obcast-signer" --config "$work/c/node0/node.zpl" pubkey)
last=$(grep -c "\"sequencer\":\"$key\"" "$work/before0.jsonl")
check "node0's chain goes on above what it had certified (next height $first, $last certified before)" \
    '[[ -n $first && $first -ge $last ]]'
# the chunks the 20 payloads went into (batched: fewer than 20)
chunks=$(sed -n 's/^locked tag=[0-9]* height=\([0-9]*\) .*/\1/p' "$work/after.out" | sort -u | wc -l)
for i in 0 1 2 3; do
    for _ in $(seq 50); do
        "$obcast" export --config "$work/c/node$i/node.zpl" >"$work/after$i.jsonl"
        [[ $(wc -l <"$work/after$i.jsonl") -ge $((before + chunks)) ]] && break
        sleep 0.2
    done
done
check "every export after the restart passes the audit, history included" \
    '"$obcast" audit --manifest "$work/c/manifest.zpl" "$work"/after*.jsonl >"$work/audit2.log" 2>&1'

dump_metrics "$bin" "$work"/c/node*/node.zpl
stop_pids
echo "1..$n"
[[ $fails -eq 0 ]]
