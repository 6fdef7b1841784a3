#!/usr/bin/env bash
# Remote operation (issue 13): node0's control and monitor sockets on
# tcp:// with CURVE, reached from another host (network namespace, root
# only) by `obcast status`, `ctl` and `tail` with --endpoint, --server-key
# and --curve; only certificates in operator_keys are served, in process
# mode and in --inproc mode (where net's thread and the supervisor share
# the process's one ZAP handler). TAP.
#
#   test_remote_ops.sh BUILD_ACTORS_DIR
set -u
bin=$1
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-remote-ops-XXXXXX)
here=$(dirname "$0")
source "$here/lib.sh"
source "$here/lib_netns.sh"
trap 'finish; netns_teardown' EXIT
trap 'exit 1' INT TERM

check "two namespaces on a bridge" 'netns_setup 2'
[[ $fails -eq 0 ]] || { echo "1..$n"; exit 1; }
base=$(free_base 2)
"$obcast" init 2 "$work/c" --base-port "$base" >/dev/null
check "the cluster's endpoints are the namespaces' addresses" 'netns_cluster "$work/c" "$base"'
mkdir -p "$work/c/ops"
"$obcast" keygen --curve "$work/c/ops/op.cert" "$work/op.key" >/dev/null
"$obcast" keygen --curve "$work/mallory.cert" "$work/mallory.key" >/dev/null
control="tcp://$(netns_ip 0):$((base + 100))"
monitor="tcp://$(netns_ip 0):$((base + 101))"
server=$(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$work/c/node0/keys/curve.cert")
other=$(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$work/c/node1/keys/curve.cert")
cp "$work/c/node0/node.zpl" "$work/c/node0/no-keys.zpl"
sed -i "s|^    peer_bind = \(.*\)|    peer_bind = \1\n    control_endpoint = \"$control\"|" \
    "$work/c/node0/no-keys.zpl"
netns_exec 0 "$bin/obcast-node" --config "$work/c/node0/no-keys.zpl" >"$work/no-keys.out" 2>&1
rc=$?
check "a tcp control socket without operator_keys is refused (rc $rc): $(head -1 "$work/no-keys.out")" \
    '[[ $rc -eq 1 ]] && grep -q "node/control_endpoint: a TCP endpoint needs node/operator_keys" "$work/no-keys.out"'
sed -i "s|^    peer_bind = \(.*\)|    peer_bind = \1\n    control_endpoint = \"$control\"\n    monitor_endpoint = \"$monitor\"\n    operator_keys = \"../ops\"|" \
    "$work/c/node0/node.zpl"

# op ARGS...: obcast from node1's host, as an operator.
op() { netns_exec 1 "$obcast" "$@"; }
remote() { echo --endpoint "$1" --server-key "$server" --curve "$2"; }

for mode in process inproc; do
    flag=()
    [[ $mode == inproc ]] && flag=(--inproc)
    for i in 0 1; do
        netns_spawn $i "$bin/obcast-node" --config "$work/c/node$i/node.zpl" "${flag[@]}" \
            >"$work/node$i-$mode.log" 2>&1
        pids+=("$spawned_pid")
    done
    node0=${pids[-2]}
    check "$mode: each node reached the other" 'wait_mesh "$bin" "$work"/c/node*/node.zpl'
    check "$mode: node0 names its operator keys" \
        'grep -q "1 operator keys allowed from" "$work/node0-$mode.log"'

    out=$(op status $(remote "$control" "$work/c/ops/op.cert") 2>&1)
    check "$mode: status from another host with an operator key" \
        '[[ $? -eq 0 ]] && grep -q "\"node\":\"node0\",\"mode\":\"$mode\"" <<<"$out"'
    out=$(op status $(remote "$control" "$work/mallory.cert") --timeout 1500 2>&1)
    rc=$?
    check "$mode: a key not in operator_keys gets no answer (rc $rc)" \
        '[[ $rc -eq 1 ]] && grep -q "not answering at $control" <<<"$out"'
    out=$(op status --endpoint "$control" --server-key "$other" --curve "$work/c/ops/op.cert" \
        --timeout 1500 2>&1)
    rc=$?
    check "$mode: the wrong server key gets no answer either (rc $rc)" '[[ $rc -eq 1 ]]'
    op tail $(remote "$monitor" "$work/c/ops/op.cert") --topic metrics --count 3 --timeout 10000 \
        >"$work/tail-$mode.out" 2>&1
    rc=$?
    check "$mode: tail from another host: 3 metrics events (rc $rc)" \
        '[[ $rc -eq 0 && $(grep -c "^{\"topic\":\"metrics\"" "$work/tail-$mode.out") -eq 3 ]]'
    out=$(op tail $(remote "$monitor" "$work/mallory.cert") --timeout 3000 2>&1)
    rc=$?
    check "$mode: tail with a key not listed hears nothing (rc $rc)" \
        '[[ $rc -eq 1 ]] && grep -q "not in its operator_keys" <<<"$out"'
    op metrics $(remote "$monitor" "$work/c/ops/op.cert") >"$work/metrics-$mode.prom" 2>&1
    rc=$?
    check "$mode: metrics from another host: every actor and the supervisor (rc $rc)" \
        '[[ $rc -eq 0 ]] && grep -q "^obcast_supervisor_actors_up{node=\"node0\",.*actor=\"verifier/0\"} 1$" "$work/metrics-$mode.prom" && grep -q "^obcast_journal_certificates_total{node=\"node0\"" "$work/metrics-$mode.prom" && grep -q "^obcast_net_peers_connected{node=\"node0\"" "$work/metrics-$mode.prom"'
    out=$(op metrics $(remote "$monitor" "$work/mallory.cert") --timeout 2000 2>&1)
    rc=$?
    check "$mode: metrics with a key not listed: none, and why (rc $rc)" \
        '[[ $rc -eq 1 ]] && grep -q "no event from the node.s supervisor within 2000 ms" <<<"$out"'
    check "$mode: the ipc sockets are not served beside tcp" \
        '[[ ! -e $work/c/node0/run/control && ! -e $work/c/node0/run/monitor ]]'
    if [[ $mode == process ]]; then
        out=$(op ctl $(remote "$control" "$work/c/ops/op.cert") restart-actor verifier 2>&1)
        check "$mode: ctl restart-actor from another host ($out)" '[[ $? -eq 0 ]]'
        for _ in $(seq 50); do
            op status $(remote "$control" "$work/c/ops/op.cert") >"$work/status.json" 2>&1
            grep -q '"actor":"verifier","instance":0,"state":"running","pid":[0-9]*,"restarts":1' \
                "$work/status.json" && break
            sleep 0.2
        done
        check "$mode: the verifier came back, its restart counted" \
            'grep -q "\"actor\":\"verifier\",\"instance\":0,\"state\":\"running\",\"pid\":[0-9]*,\"restarts\":1" "$work/status.json"'
    fi
    out=$(op ctl $(remote "$control" "$work/c/ops/op.cert") stop 2>&1)
    check "$mode: ctl stop from another host ($out)" '[[ $? -eq 0 ]]'
    for _ in $(seq 100); do kill -0 "$node0" 2>/dev/null || break; sleep 0.1; done
    wait "$node0"
    rc=$?
    check "$mode: node0 stopped cleanly (rc $rc)" '[[ $rc -eq 0 ]]'
    stop_pids
    pids=()
done

# --- usage errors name what is missing
out=$("$obcast" status --endpoint "$control" --curve "$work/c/ops/op.cert" 2>&1)
rc=$?
check "tcp without --server-key is a usage error (rc $rc)" \
    '[[ $rc -eq 2 ]] && grep -q "needs --server-key" <<<"$out"'
out=$("$obcast" tail --endpoint "$monitor" --server-key "$server" 2>&1)
rc=$?
check "tcp without --curve is a usage error (rc $rc)" \
    '[[ $rc -eq 2 ]] && grep -q "needs --curve CERT" <<<"$out"'
out=$("$obcast" ctl --endpoint "$control" --server-key short --curve x stop 2>&1)
rc=$?
check "a bad --server-key is a usage error (rc $rc)" \
    '[[ $rc -eq 2 ]] && grep -q "40 Z85 characters" <<<"$out"'
out=$("$obcast" status --endpoint "$control" --server-key "$server" --curve "$work/op.key" 2>&1)
rc=$?
check "a --curve that is no certificate is named (rc $rc)" \
    '[[ $rc -eq 1 ]] && grep -q "$work/op.key: not a CURVE certificate" <<<"$out"'
out=$("$obcast" status --endpoint "ipc://$work/x" --server-key "$server" 2>&1)
rc=$?
check "CURVE options on an ipc endpoint are a usage error (rc $rc)" '[[ $rc -eq 2 ]]'
echo "1..$n"
[[ $fails -eq 0 ]]
