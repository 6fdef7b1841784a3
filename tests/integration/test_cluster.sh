#!/usr/bin/env bash
# A real cluster on loopback: obcast init, one obcast-node per node (real
# processes, real SQLite files, ZeroMQ over TCP with CURVE), payloads
# submitted to every sequencer with `obcast submit`, and then every node's
# export checked: it holds a certificate for each payload, and
# `obcast audit` passes all exports together. TAP.
#
#   test_cluster.sh BUILD_ACTORS_DIR MODE
#
# MODE: process | inproc | observer (a sequencer that is no validator).
# Every process the test starts is stopped by it, also when it fails.
set -u
bin=$1
mode=${2:-process}
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-cluster-XXXXXX)
submitters=()
source "$(dirname "$0")/lib.sh"
trap finish EXIT
trap 'exit 1' INT TERM

base=$(free_base)
case $mode in
process | inproc)
    nodes=4
    init_args=(--sequencers 0-3)
    sequencers=(0 1 2 3)
    ;;
observer)
    # node4 sequences but does not validate; node0 does both.
    nodes=5
    init_args=(--validators 0-3 --sequencers 0,4)
    sequencers=(0 4)
    ;;
*)
    echo "Bail out! unknown mode $mode"
    exit 1
    ;;
esac
node_args=()
[[ $mode == inproc ]] && node_args=(--inproc)

check "init a $nodes-node cluster" \
    '"$obcast" init $nodes "$work/c" --base-port $base "${init_args[@]}" >"$work/init.log" 2>&1'

# Batches of two payloads (700 B each): 12 payloads make 6 chunks a chain,
# so that most Locks travel as parents of the next node, as they do under
# load; one batch of all 12 would leave a chain with only its first chunk,
# whose Lock a validator that missed its broadcast (still connecting) never
# gets: nothing rebroadcasts a certified tip.
sed -i 's|^    peer_bind = \(.*\)|    peer_bind = \1\n    batch_bytes = 1500|' "$work"/c/node*/node.zpl
# node1 shares its verifying among 3 verifier instances (SPEC §4).
sed -i 's|^    peer_bind = \(.*\)|    peer_bind = \1\n    verifiers = 3|' "$work/c/node1/node.zpl"
for i in $(seq 0 $((nodes - 1))); do
    "$bin/obcast-node" "${node_args[@]}" --config "$work/c/node$i/node.zpl" >"$work/node$i.log" 2>&1 &
    pids+=($!)
done

check "every node reached all its peers" 'wait_mesh "$bin" "$work"/c/node*/node.zpl'

# Each sequencer gets its payloads; submit waits until every one is locked.
per_sequencer=12
for s in "${sequencers[@]}"; do
    "$obcast" submit --config "$work/c/node$s/node.zpl" --count $per_sequencer --size 700 \
        --wait locked --timeout 60000 >"$work/submit$s.out" 2>"$work/submit$s.log" &
    submitters+=($!)
done
i=0
for s in "${sequencers[@]}"; do
    wait "${submitters[$i]}"
    rc=$?
    check "node$s: all $per_sequencer payloads locked (submit exit $rc)" \
        '[[ $rc -eq 0 && $(grep -c "^locked" "$work/submit$s.out") -eq $per_sequencer ]]'
    i=$((i + 1))
done

# Batching is on by default: a sequencer's payloads, submitted all at once,
# share chunks. Each payload has its own place, a distinct (height, index),
# and its Lock names the same; fewer chunks than payloads were certified.
chunks=0
for s in "${sequencers[@]}"; do
    places=$(sed -n 's/^assigned tag=[0-9]* sequencer=[0-9a-f]* height=\([0-9]*\) index=\([0-9]*\)$/\1.\2/p' "$work/submit$s.out" | sort -u | wc -l)
    locked=$(sed -n 's/^locked tag=[0-9]* height=\([0-9]*\) index=\([0-9]*\) .*/\1.\2/p' "$work/submit$s.out" | sort -u | wc -l)
    heights=$(sed -n 's/^assigned tag=[0-9]* sequencer=[0-9a-f]* height=\([0-9]*\) .*/\1/p' "$work/submit$s.out" | sort -u | wc -l)
    check "node$s: $per_sequencer payloads in $heights chunks, each at its own place ($places assigned, $locked locked)" \
        '[[ $places -eq $per_sequencer && $locked -eq $per_sequencer && $heights -lt $per_sequencer ]]'
    chunks=$((chunks + heights))
    [[ $s -eq ${sequencers[-1]} ]] && own_chunks=$heights
done

# Every validator holds a certificate for every chunk: Locks reach all of
# them, not just the sequencer. A node that only sequences (observer mode)
# is sent no one's nodes and holds its own chain. Wait a little for the
# last Locks to spread.
validators=$nodes
[[ $mode == observer ]] && validators=4
for i in $(seq 0 $((nodes - 1))); do
    want=$chunks
    [[ $i -ge $validators ]] && want=$own_chunks
    for _ in $(seq 300); do
        "$obcast" export --config "$work/c/node$i/node.zpl" >"$work/export$i.jsonl" 2>"$work/export$i.err"
        [[ $(wc -l <"$work/export$i.jsonl") -ge $want ]] && break
        sleep 0.2
    done
    check "node$i: its export holds $want certified chunks ($(wc -l <"$work/export$i.jsonl"))" \
        '[[ $(wc -l <"$work/export$i.jsonl") -ge $want ]]'
done

# The chunks submit was told its payloads became are certified at every
# validator and at their sequencer.
for s in "${sequencers[@]}"; do
    missing=0
    while read -r sequencer height; do
        for i in $(seq 0 $((validators - 1))) $([[ $s -ge $validators ]] && echo "$s"); do
            grep -q "\"sequencer\":\"$sequencer\",\"height\":$height," "$work/export$i.jsonl" ||
                missing=$((missing + 1))
        done
    done < <(sed -n 's/^assigned tag=[0-9]* sequencer=\([0-9a-f]*\) height=\([0-9]*\).*/\1 \2/p' "$work/submit$s.out")
    check "node$s's assigned chunks are certified at every validator and node$s ($missing missing)" \
        '[[ $missing -eq 0 && $(grep -c "^assigned" "$work/submit$s.out") -eq $per_sequencer ]]'
done

"$bin/obcast-journal" --config "$work/c/node1/node.zpl" metrics >"$work/metrics1.json" 2>&1
shares=$(python3 -c 'import json,sys
print(" ".join(str(m["acks_passed"] + m["nodes_passed"]) for m in map(json.loads, open(sys.argv[1]))
               if m["actor"] == "verifier"))' "$work/metrics1.json")
check "node1's 3 verifiers each took a share of the work ($shares)" \
    '[[ $(wc -w <<<"$shares") -eq 3 && " $shares " != *" 0 "* ]]'

check "obcast audit passes every node's export together" \
    '"$obcast" audit --manifest "$work/c/manifest.zpl" "$work"/export*.jsonl >"$work/audit.log" 2>&1'

check "no node logged an error" '! grep -h " error: " "$work"/node*.log'

dump_metrics "$bin" "$work"/c/node*/node.zpl
stop_pids
check "every node stopped on SIGTERM" '! pgrep -f "obcast-node.*$work" >/dev/null'

echo "1..$n"
[[ $fails -eq 0 ]]
