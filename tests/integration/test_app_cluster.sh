#!/usr/bin/env bash
# A 4-node cluster where every node has an application attached:
# obcast-txapp proposes batches of signed transactions (PROPOSE path) and
# checks every signature in its peers' batches (VERIFY path). Every node's
# application must be reported a Lock for each certified chunk, nothing
# may be rejected, and the exports must pass the audit. Then one
# application turns bad (a forged signature in its batch): its peers
# reject the batch, and no certificate for it appears anywhere. TAP.
#
#   test_app_cluster.sh BUILD_ACTORS_DIR
set -u
bin=$1
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-app-cluster-XXXXXX)
source "$(dirname "$0")/lib.sh"
apps=()
trap 'pids+=("${apps[@]}"); finish' EXIT
trap 'exit 1' INT TERM

base=$(free_base 4)
check "init a 4-node cluster" '"$obcast" init 4 "$work/c" --base-port $base >"$work/init.log" 2>&1'
# The applications guard what gets certified (SPEC §5, node/application).
for i in 0 1 2 3; do
    sed -i "s|^    peer_bind = \(.*\)|    peer_bind = \1\n    application = \"external\"|" "$work/c/node$i/node.zpl"
done
for i in 0 1 2 3; do
    "$bin/obcast-node" --config "$work/c/node$i/node.zpl" >"$work/node$i.log" 2>&1 &
    pids+=($!)
done
check "every node reached all its peers" 'wait_mesh "$bin" "$work"/c/node*/node.zpl'
for i in 0 1 2 3; do
    "$bin/obcast-txapp" --config "$work/c/node$i/node.zpl" --batch 8 --rate 20 \
        >"$work/app$i.out" 2>"$work/app$i.log" &
    apps+=($!)
done

# Until every sequencer has 10 certified chunks at node0.
for _ in $(seq 300); do
    "$obcast" export --config "$work/c/node0/node.zpl" >"$work/export0.jsonl" 2>/dev/null
    low=$(for i in 0 1 2 3; do
        key=$("$bin/obcast-signer" --config "$work/c/node$i/node.zpl" pubkey)
        grep -c "\"sequencer\":\"$key\"" "$work/export0.jsonl"
    done | sort -n | head -1)
    [[ ${low:-0} -ge 10 ]] && break
    sleep 0.1
done
check "every sequencer's chain is certified with its application's batches ($low at least)" \
    '[[ ${low:-0} -ge 10 ]]'

# Stop the applications first: each prints what it was told.
signal_child TERM "${apps[@]}"
for pid in "${apps[@]}"; do wait "$pid" 2>/dev/null; done
apps=()
for i in 0 1 2 3; do
    "$obcast" export --config "$work/c/node$i/node.zpl" >"$work/export$i.jsonl"
    certified=$(wc -l <"$work/export$i.jsonl")
    stats=$(cat "$work/app$i.out")
    locks=$(sed -n 's/.* locks=\([0-9]*\).*/\1/p' <<<"$stats")
    verified=$(sed -n 's/.* verified=\([0-9]*\).*/\1/p' <<<"$stats")
    rejected=$(sed -n 's/.* rejected=\([0-9]*\).*/\1/p' <<<"$stats")
    proposed=$(sed -n 's/.*proposed=\([0-9]*\).*/\1/p' <<<"$stats")
    check "node$i's application proposed batches ($proposed)" '[[ ${proposed:-0} -ge 10 ]]'
    check "node$i's application verified its peers' batches ($verified) and rejected none" \
        '[[ ${verified:-0} -ge 30 && ${rejected:-1} -eq 0 ]]'
    # Every Lock the node holds was reported to its application (a Lock
    # certified after the application stopped is the only exception).
    check "node$i's application was told the Locks ($locks) of its $certified certified chunks" \
        '[[ ${locks:-0} -ge $((certified - 8)) && ${locks:-0} -gt 0 ]]'
done
check "obcast audit passes the four exports" \
    '"$obcast" audit --manifest "$work/c/manifest.zpl" "$work"/export*.jsonl >"$work/audit.log" 2>&1'

# node3's application now forges a signature in its first batch: the
# other validators reject it, so it never gathers a quorum.
for i in 0 1 2; do
    "$bin/obcast-txapp" --config "$work/c/node$i/node.zpl" --batch 8 --rate 20 \
        >"$work/app$i.b.out" 2>"$work/app$i.b.log" &
    apps+=($!)
done
"$bin/obcast-txapp" --config "$work/c/node3/node.zpl" --batch 8 --rate 20 --bad-every 1 \
    >"$work/app3.b.out" 2>"$work/app3.b.log" &
apps+=($!)
sleep 3
signal_child TERM "${apps[@]}"
for pid in "${apps[@]}"; do wait "$pid" 2>/dev/null; done
apps=()
rejected=0
for i in 0 1 2; do
    r=$(sed -n 's/.* rejected=\([0-9]*\).*/\1/p' "$work/app$i.b.out")
    rejected=$((rejected + ${r:-0}))
done
check "the other applications rejected node3's forged batch ($rejected rejections)" \
    '[[ $rejected -ge 2 ]]'
# node3's own tip is the forged batch: signed and sent, never certified.
tips=$("$bin/obcast-journal" --config "$work/c/node3/node.zpl" tips | grep '^node3 ')
tip=$(awk '{print $3}' <<<"$tips")
certified=$(awk '{print $7}' <<<"$tips")
check "and node3's tip stays uncertified ($tips)" '[[ $tip -eq $((certified + 1)) ]]'
check "no node logged an error" '! grep -h " error: " "$work"/node*.log'

dump_metrics "$bin" "$work"/c/node*/node.zpl
stop_pids
echo "1..$n"
[[ $fails -eq 0 ]]
