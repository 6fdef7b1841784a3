#!/usr/bin/env bash
# Actors killed with SIGKILL at any moment of a loaded 4-node cluster:
# obcast-node restarts each, the restarted actor recovers from its own
# database and reclaims the arena slots its predecessor held, and the
# cluster goes on certifying. Nothing committed is lost: every payload a
# client saw locked is in the exports, and the audit passes (no conflicting
# signatures, S3-S5). TAP.
#
#   test_kill_actors.sh BUILD_ACTORS_DIR
set -u
bin=$1
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-kill-XXXXXX)
source "$(dirname "$0")/lib.sh"
loaders=()
trap 'pids+=("${loaders[@]}"); finish' EXIT
trap 'exit 1' INT TERM

base=$(free_base 4)
per=2400 # payloads per sequencer: enough load to outlast the kills (about 15 s of them)
check "init a 4-node cluster" '"$obcast" init 4 "$work/c" --base-port $base >"$work/init.log" 2>&1'
# Batches of two payloads: the load keeps the chains moving through every
# kill, and the kills meet batches half proposed, assigned and locked.
sed -i 's|^    peer_bind = \(.*\)|    peer_bind = \1\n    batch_bytes = 1024|' "$work"/c/node*/node.zpl
for i in 0 1 2 3; do
    "$bin/obcast-node" --config "$work/c/node$i/node.zpl" >"$work/node$i.log" 2>&1 &
    pids+=($!)
done
check "every node reached all its peers" 'wait_mesh "$bin" "$work"/c/node*/node.zpl'
for s in 0 1 2 3; do
    "$obcast" submit --config "$work/c/node$s/node.zpl" --count $per --size 500 --wait locked \
        --timeout 120000 >"$work/submit$s.out" 2>"$work/submit$s.log" &
    loaders+=($!)
done

# pid of one actor of one node
actor_pid() { pgrep -f "obcast-$2 --config $work/c/node$1/node.zpl" | head -1; }
# the height node N has certified of its own chain, as its journal says
own_certified() {
    "$bin/obcast-journal" --config "$work/c/node$1/node.zpl" tips 2>/dev/null |
        awk -v me="node$1" '$1 == me { print ($7 == "-") ? -1 : $7 }'
}

# The monitoring socket carries each actor's metrics, and obcast-node's
# actor events for what follows.
sleep 1
"$obcast" tail --config "$work/c/node1/node.zpl" --topic actor --timeout 30000 >"$work/actor-events.jsonl" 2>&1 &
tailer=$!
loaders+=($tailer)
"$obcast" tail --config "$work/c/node1/node.zpl" --topic metrics --count 4 --timeout 10000 >"$work/metrics.jsonl" 2>&1
check "obcast tail shows node1's metrics events" \
    '[[ $(grep -c "^{\"topic\":\"metrics\",\"actor\":" "$work/metrics.jsonl") -eq 4 ]]'

# Kill each kind of actor at node1, and node2's signer twice, while the
# load runs; each must come back with a new pid.
for target in "1 journal" "1 net" "1 verifier" "1 signer" "2 signer" "2 journal" "2 signer"; do
    read -r node actor <<<"$target"
    old=$(actor_pid "$node" "$actor")
    height_before=$(own_certified "$node")
    killed_at=$(date +%s%N)
    [[ -n $old ]] && kill -KILL "$old"
    new=
    for _ in $(seq 200); do
        new=$(actor_pid "$node" "$actor")
        [[ -n $new && $new != "$old" ]] && break
        sleep 0.02
    done
    took=$((($(date +%s%N) - killed_at) / 1000000))
    check "node$node's $actor killed (pid $old) and running again after $took ms (pid $new)" \
        '[[ -n $old && -n $new && $new != "$old" ]]'
    # Back to certifying: its own chain certifies a chunk above where it was.
    certifying=
    for _ in $(seq 200); do
        h=$(own_certified "$node")
        [[ -n $h && -n $height_before && $h -gt $height_before ]] && {
            certifying=$((($(date +%s%N) - killed_at) / 1000000))
            break
        }
        sleep 0.05
    done
    check "node$node certifies its own chain again ${certifying:-never} ms after its $actor was killed" \
        '[[ -n $certifying ]]'
    sleep 0.7
done

check "the monitor reported node1's journal exit, restart and spawn" \
    'grep -q "\"event\":\"exit\",\"actor\":\"journal\",\"instance\":0,\"how\":\"was killed by signal 9\"" "$work/actor-events.jsonl" &&
     grep -q "\"event\":\"restart\",\"actor\":\"journal\"" "$work/actor-events.jsonl" &&
     grep -q "\"event\":\"spawn\",\"actor\":\"journal\"" "$work/actor-events.jsonl"'
signal_child TERM "$tailer"

i=0
for s in 0 1 2 3; do
    wait "${loaders[$i]}"
    rc=$?
    check "node$s: all $per payloads locked despite the kills (submit exit $rc)" \
        '[[ $rc -eq 0 && $(grep -c "^locked" "$work/submit$s.out") -eq $per ]]'
    i=$((i + 1))
done
loaders=()
# A journal restart loses the built-in application's queue: net tells the
# clients at once, and they send everything outstanding again.
for s in 1 2; do
    check "node$s's client was told when node$s's journal restarted" \
        'grep -q "that the node forgot what it held" "$work/submit$s.log"'
done
# node2's net outlived its journal's restart (node1's was killed too).
net_metrics=$("$bin/obcast-journal" --config "$work/c/node2/node.zpl" metrics 2>/dev/null)
starts=$(sed -n 's/.*"journal_starts":\([0-9]*\).*/\1/p' <<<"$net_metrics")
told=$(sed -n 's/.*"clients_told":\([0-9]*\).*/\1/p' <<<"$net_metrics")
check "node2's net heard its journal start ${starts:-no} times and told ${told:-no} clients" \
    '[[ ${starts:-0} -ge 2 && ${told:-0} -ge 1 ]]'
# Every peer connection's first retransmission is floored at
# peer_rto_min_ms (10 ms by default, not the kernel's 200).
floored=$(sed -n 's/.*"peer_rto_min":{"floored":\([0-9]*\),"refused":\([0-9]*\)}.*/\1 \2/p' <<<"$net_metrics")
check "node2's net floored the RTO of ${floored%% *} peer connections (refused: ${floored##* })" \
    '[[ -n $floored && ${floored%% *} -ge 3 && ${floored##* } -eq 0 ]]'

# The chunks the clients' Locks name, two payloads or fewer each.
chunks=0
for s in 0 1 2 3; do
    chunks=$((chunks + $(sed -n 's/^locked tag=[0-9]* height=\([0-9]*\) .*/\1/p' "$work/submit$s.out" | sort -u | wc -l)))
done
check "the Locks name at least $((2 * per)) chunks ($chunks)" '[[ $chunks -ge $((2 * per)) ]]'
for i in 0 1 2 3; do
    for _ in $(seq 100); do
        "$obcast" export --config "$work/c/node$i/node.zpl" >"$work/export$i.jsonl" 2>/dev/null
        [[ $(wc -l <"$work/export$i.jsonl") -ge $chunks ]] && break
        sleep 0.2
    done
    check "node$i holds all $chunks certified chunks ($(wc -l <"$work/export$i.jsonl"))" \
        '[[ $(wc -l <"$work/export$i.jsonl") -ge $chunks ]]'
done
check "obcast audit passes all four exports" \
    '"$obcast" audit --manifest "$work/c/manifest.zpl" "$work"/export*.jsonl >"$work/audit.log" 2>&1'

# The killed actors' slots came back: the arena drains once the load ends.
in_use=
for _ in $(seq 60); do
    in_use=$("$bin/obcast-journal" --config "$work/c/node1/node.zpl" metrics 2>/dev/null |
        sed -n 's/.*"arena_in_use":\([0-9]*\).*/\1/p')
    [[ $in_use == 0 ]] && break
    sleep 0.5
done
check "node1's payload arena drained after the kills (in use: $in_use)" '[[ $in_use == 0 ]]'
check "obcast-node logged each restart" '[[ $(grep -c "restarting in" "$work/node1.log") -ge 4 ]]'

dump_metrics "$bin" "$work"/c/node*/node.zpl
stop_pids
echo "1..$n"
[[ $fails -eq 0 ]]
