#!/usr/bin/env bash
# Dead peer links are dropped and remade (issue 12). Two nodes, each in
# its own network namespace (root only), both validators, so that each
# chain needs both: nftables blackholes the link between them, under a
# submit load, then heals it. With no heartbeat the link never drops
# (TCP retransmits into the hole with a doubling backoff, and after the
# heal waits that out); with one, net logs the link dropped within the
# blackhole, remakes it after the heal, and both chains certify again.
# TAP.
#
#   test_heartbeat.sh BUILD_ACTORS_DIR
set -u
bin=$1
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-heartbeat-XXXXXX)
here=$(dirname "$0")
source "$here/lib.sh"
source "$here/lib_netns.sh"
loaders=()
trap 'load_stop "$work/load-on"; finish; netns_teardown' EXIT
trap 'exit 1' INT TERM

check "two namespaces on a bridge" 'netns_setup 2'
[[ $fails -eq 0 ]] || { echo "1..$n"; exit 1; }
base=$(free_base 2)
"$obcast" init 2 "$work/c" --base-port "$base" >/dev/null
check "the cluster's endpoints are the namespaces' addresses" 'netns_cluster "$work/c" "$base"'
for i in 0 1; do
    netns_spawn $i "$bin/obcast-node" --config "$work/c/node$i/node.zpl" >"$work/node$i.log" 2>&1
    pids+=("$spawned_pid")
done
check "each node reached the other" 'wait_mesh "$bin" "$work"/c/node*/node.zpl'
lock_log "$work/c/node0/node.zpl" "$work/locks.txt"
pids+=("$lock_log_pid")
touch "$work/load-on"
for s in 0 1; do load_start "$work/c/node$s/node.zpl" "$work/load-on" 50 256; done
for _ in $(seq 200); do
    resumed "$work/locks.txt" 0 node0 node1 >/dev/null && break
    sleep 0.1
done
check "both chains certify before the blackhole" \
    'resumed "$work/locks.txt" 0 node0 node1 >/dev/null'

# Long enough for the heartbeat to drop the link (10 s by default).
netns_cut 0 1
cut_at=$(date +%s.%N)
sleep 16
heal_at=$(date +%s.%N)
dropped=$(grep -c "peer node1 .* disconnected" "$work/node0.log")
check "node0 dropped its dead link to node1 within the blackhole ($dropped times)" \
    '[[ $dropped -ge 1 ]]'
check "no chain certified while the link was cut" \
    '! awk -v a="$cut_at" "\$1 > a + 3" "$work/locks.txt" | grep -q .'
netns_heal
for _ in $(seq 100); do
    took=$(resumed "$work/locks.txt" "$heal_at" node0 node1) && break
    sleep 0.1
done
check "both chains certified again ${took:-never} s after the heal (bound 10 s)" \
    '[[ -n $took ]] && awk -v t="$took" "BEGIN { exit !(t < 10) }"'
connects=$(grep -c "peer node1 .* connected$" "$work/node0.log")
check "node0's link to node1 was remade ($connects connections in all)" '[[ $connects -ge 2 ]]'
echo "# heartbeat: both chains certified again $took s after a 16 s blackhole healed"

load_stop "$work/load-on"
for i in 0 1; do "$obcast" export --config "$work/c/node$i/node.zpl" >"$work/export$i.jsonl"; done
check "the exports pass the audit" \
    '"$obcast" audit --manifest "$work/c/manifest.zpl" "$work"/export*.jsonl >"$work/audit.log" 2>&1'
dump_metrics "$bin" "$work"/c/node*/node.zpl
stop_pids
check "no node is left running" '! pgrep -f "obcast-.*--config $work/c/" >/dev/null'
netns_teardown
check "every namespace, veth and the bridge are gone" 'netns_gone'
echo "1..$n"
[[ $fails -eq 0 ]]
