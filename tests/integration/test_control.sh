#!/usr/bin/env bash
# Supervision and the control socket: obcast status and obcast ctl on a
# running node, a hung actor (SIGSTOP) detected by its missing heartbeat
# and restarted, the intensity limit stopping a node whose signer cannot
# start, and every bad request. TAP.
#
#   test_control.sh BUILD_ACTORS_DIR
set -u
bin=$1
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-control-XXXXXX)
source "$(dirname "$0")/lib.sh"
trap finish EXIT
trap 'exit 1' INT TERM

base=$(free_base 4)
"$obcast" init 4 "$work/c" --base-port "$base" >/dev/null
cfg=$work/c/node1/node.zpl
ctl_ep=ipc://$work/c/node1/run/control
expect "status of a node that is not running says so, within --timeout" 1 \
    "obcast status: the node is not answering at $ctl_ep (no answer within 300 ms" -- status --config "$cfg" --timeout 300
expect "ctl to a node that is not running says so too" 1 \
    "obcast ctl: the node is not answering at $ctl_ep" -- ctl --config "$cfg" --timeout 300 status
expect "status --timeout must be a number" 2 "--timeout must be 1 to 86400000 ms, not 'x'" -- status --config "$cfg" --timeout x
check "status --help gives the exit statuses" '"$obcast" status --help | grep -q "^exit status: 0 answered, 1 "'
check "ctl --help lists status and gives the exit statuses" \
    '"$obcast" ctl --help | grep -q "^  status " && "$obcast" ctl --help | grep -q "^exit status: 0 done, 1 "'
expect "tail of an unknown topic is a usage error listing the topics" 2 \
    "obcast tail: --topic: unknown topic 'bogus' (topics: lock, tip, evidence, actor, peer, block, metrics, drop)" \
    -- tail --config "$cfg" --topic bogus
out=$("$obcast" tail --config "$cfg" --topic lock --timeout 200 2>&1)
rc=$?
check "tail of a stopped node: no event, a hint that does not blame a running node (exit $rc)" \
    '[[ $rc -eq 1 && $out == *"no event within 200 ms (the node is stopped, or published none of the topics asked for)"* && $out != *"is the node running"* ]]'
check "tail --help gives the exit statuses" '"$obcast" tail --help | grep -q "^exit status: 0 ok, 1 "'
for i in 0 1 2 3; do
    "$bin/obcast-node" --config "$work/c/node$i/node.zpl" >"$work/node$i.log" 2>&1 &
    pids+=($!)
done
for _ in $(seq 100); do "$obcast" status --config "$cfg" >/dev/null 2>&1 && break; sleep 0.1; done

# Nothing submitted yet: node3's journal holds no chunk, and says so (on
# stderr: stdout stays one line per sequencer).
for _ in $(seq 100); do
    "$bin/obcast-journal" --config "$work/c/node3/node.zpl" tips >"$work/tips3.out" 2>"$work/tips3.err" && break
    sleep 0.1
done
check "obcast-journal tips on a node with no chunks says so" \
    '[[ ! -s $work/tips3.out && $(cat "$work/tips3.err") == "obcast-journal: tips: $work/c/node3/data/journal.db holds no chunks yet (no tip, no certificate)" ]]'
status=$("$obcast" status --config "$cfg")
check "status lists 4 running actors" '[[ $(grep -o "\"state\":\"running\"" <<<"$status" | wc -l) -eq 4 ]]'
status=$("$obcast" ctl --config "$cfg" status)
check "ctl status is the same request (README lists it)" '[[ $(grep -o "\"state\":\"running\"" <<<"$status" | wc -l) -eq 4 ]]'
"$obcast" metrics --config "$cfg" >"$work/metrics.prom" 2>&1
check "obcast metrics prints Prometheus text for every actor" \
    'grep -q "^obcast_journal_certificates_total{node=\"node1\",instance=\"0\"} [0-9]*$" "$work/metrics.prom" &&
     grep -q "^obcast_signer_acks_signed_total{node=\"node1\",instance=\"0\"} " "$work/metrics.prom" &&
     grep -q "^obcast_verifier_acks_passed_total{node=\"node1\",instance=\"0\"} " "$work/metrics.prom" &&
     grep -q "^obcast_net_peers_connected{node=\"node1\",instance=\"0\",peer=\"node0\"} 1$" "$work/metrics.prom"'
check "every line of it is a sample, or a family's HELP or TYPE" \
    '! grep -vqE "^(obcast_[a-z0-9_]+\{[^}]*\} [0-9]+|# (HELP|TYPE) obcast_[a-z0-9_]+ .+)$" "$work/metrics.prom"'
expect "metrics without --config" 2 "give --config NODE.zpl" -- metrics
old=$(pgrep -f "obcast-signer --config $cfg")
expect "ctl restart-actor signer" 0 "restarting signer" -- ctl --config "$cfg" restart-actor signer
new=
for _ in $(seq 100); do
    new=$(pgrep -nf "obcast-signer --config $cfg")
    # the old one gone, the new one alone
    [[ -n $new && $new != "$old" && $(pgrep -cf "obcast-signer --config $cfg") -eq 1 ]] && break
    sleep 0.1
done
check "the signer came back ($old -> $new)" '[[ -n $new && $new != "$old" ]]'
check "status counts its restart" \
    '"$obcast" status --config "$cfg" | grep -q "\"actor\":\"signer\",\"instance\":0,\"state\":\"running\",\"pid\":$new,\"restarts\":1"'
# Monitoring events: a Lock as it is committed (with its certificate), and
# the peer links' own events.
"$obcast" tail --config "$cfg" --topic lock --count 3 --timeout 20000 >"$work/locks.jsonl" 2>&1 &
locks_tail=$!
"$obcast" tail --config "$work/c/node0/node.zpl" --topic peer --timeout 60000 >"$work/peers.jsonl" 2>&1 &
peers_tail=$!
pids+=($locks_tail $peers_tail)
sleep 0.5
# One at a time: three chunks, three Locks (payloads submitted together
# would share a batch).
for _ in 1 2 3; do
    "$obcast" submit --config "$work/c/node2/node.zpl" --count 1 --size 64 --wait locked --timeout 20000 >/dev/null 2>&1
done
wait "$locks_tail"
line=$(head -1 "$work/locks.jsonl")
height=$(sed -n 's/.*"height":\([0-9]*\).*/\1/p' <<<"$line")
certificate=$(sed -n 's/.*"certificate":"\([0-9a-f]*\)".*/\1/p' <<<"$line")
"$obcast" export --config "$cfg" >"$work/export1.jsonl"
check "lock events carry sequencer, height, payload, epoch and the certificate the export holds" \
    '[[ $(wc -l <"$work/locks.jsonl") -eq 3 && $line == *"\"sequencer_name\":\"node2\""* && $line == *"\"epoch\":1"* &&
        -n $certificate ]] && grep -q "\"height\":$height,.*\"certificate\":\"$certificate\"" "$work/export1.jsonl"'
expect "ctl restart-actor net" 0 "restarting net" -- ctl --config "$cfg" restart-actor net
for _ in $(seq 100); do grep -q '"peer":"node1".*"event":"connected"' "$work/peers.jsonl" && break; sleep 0.1; done
signal_child TERM "$peers_tail"
check "node0's monitor reports node1's link going down and up (peer events)" \
    'grep -q "\"peer\":\"node1\".*\"event\":\"disconnected\"" "$work/peers.jsonl" &&
     grep -q "\"peer\":\"node1\".*\"event\":\"connected\"" "$work/peers.jsonl"'

expect "ctl epoch of an epoch the manifest lacks" 1 "epoch must be one the manifest lists" -- ctl --config "$cfg" epoch 9
expect "ctl epoch 1" 0 "asked the journal for epoch 1" -- ctl --config "$cfg" epoch 1
expect "ctl restart-actor of no actor" 2 "ACTOR is net, verifier, signer or journal" -- ctl --config "$cfg" restart-actor frob
expect "ctl restart-actor of a missing instance" 1 "no actor 'verifier' instance 5" -- ctl --config "$cfg" restart-actor verifier 5
expect "ctl without a request" 2 "give a request" -- ctl --config "$cfg"
expect "ctl with an unknown request" 2 "unknown request 'frob'" -- ctl --config "$cfg" frob
expect "ctl epoch x" 2 "not a whole number" -- ctl --config "$cfg" epoch x
expect "status without a node" 2 "give --config NODE.zpl or --endpoint EP" -- status

# A hung actor: stopped, so alive but silent. Past its start-up grace
# (15 s) and 5 s without a heartbeat, it is killed and started again.
hung=$(pgrep -f "obcast-verifier --config $cfg")
kill -STOP "$hung"
back=
for _ in $(seq 300); do
    back=$(pgrep -f "obcast-verifier --config $cfg" | head -1)
    [[ -n $back && $back != "$hung" ]] && break
    sleep 0.1
done
check "a hung verifier is detected and replaced ($hung -> $back)" '[[ -n $back && $back != "$hung" ]]'
check "the node logged it" 'grep -q "verifier 0 sent no heartbeat for [0-9]* ms: hung" "$work/node1.log"'
check "the cluster still certifies" \
    '"$obcast" submit --config "$cfg" --count 2 --size 64 --wait locked --timeout 20000 >/dev/null 2>&1'
# A chunk of every sequencer (node1 and node2 have theirs): node1's tips
# list them by node name, in the manifest's order, whatever their keys'.
for i in 0 3; do
    "$obcast" submit --config "$work/c/node$i/node.zpl" --count 1 --wait locked --timeout 20000 >/dev/null 2>&1
done
for _ in $(seq 100); do
    tips=$("$bin/obcast-journal" --config "$cfg" tips 2>&1)
    [[ $(wc -l <<<"$tips") -eq 4 ]] && break
    sleep 0.1
done
check "obcast-journal tips names each sequencer, in the manifest's order" \
    '[[ $(awk "{print \$1}" <<<"$tips" | tr "\n" " ") == "node0 node1 node2 node3 " ]]'

# Reloading the manifest: it may only append epochs (SPEC §4).
m=$work/c/manifest.zpl
cp "$m" "$work/manifest.orig"
cfg0=$work/c/node0/node.zpl
old=$(pgrep -f "obcast-journal --config $cfg0")
expect "ctl reload of the same manifest" 0 "(0 new epochs); nothing to restart" -- ctl --config "$cfg0" reload
sleep 0.5
new=$(pgrep -f "obcast-journal --config $cfg0")
check "and no actor was restarted for it ($old -> $new)" '[[ -n $new && $new == "$old" ]]'
sed -i 's/max_payload = [0-9]*/max_payload = 4096/' "$m"
expect "ctl reload of a manifest that changed max_payload" 1 "its max_payload changed; a reload may only append epochs" -- ctl --config "$cfg0" reload
cp "$work/manifest.orig" "$m"
sed -n '/^    epoch$/,$p' "$work/manifest.orig" | sed 's/number = 1/number = 2/' >>"$m"
expect "ctl reload of a manifest with one epoch appended" 0 "(1 new epochs); restarting the 4 actors" -- ctl --config "$cfg0" reload
new=
for _ in $(seq 100); do
    new=$(pgrep -f "obcast-journal --config $cfg0")
    [[ -n $new && $new != "$old" ]] && break
    sleep 0.1
done
check "and the actors were restarted to read it ($old -> $new)" '[[ -n $new && $new != "$old" ]]'
expect "and epoch 2 is now one the node knows" 0 "asked the journal for epoch 2" -- ctl --config "$cfg0" epoch 2
cp "$work/manifest.orig" "$m"

expect "ctl stop" 0 "stopping node node1" -- ctl --config "$cfg" stop
for _ in $(seq 100); do kill -0 "${pids[1]}" 2>/dev/null || break; sleep 0.1; done
wait "${pids[1]}"
rc=$?
check "node1 stopped cleanly on ctl stop (exit $rc)" '[[ $rc -eq 0 ]]'

# The intensity limit: node3's signer cannot start (its key file became
# readable by others), so it dies at each restart; past max_restarts the
# node stops with its error.
sed -i 's|^    peer_bind = \(.*\)|    peer_bind = \1\n    max_restarts = 3|' "$work/c/node3/node.zpl"
signal_child TERM "${pids[3]}"
wait "${pids[3]}" 2>/dev/null
"$bin/obcast-node" --config "$work/c/node3/node.zpl" >"$work/node3b.log" 2>&1 &
pids[3]=$!
for _ in $(seq 100); do pgrep -f "obcast-signer --config $work/c/node3/node.zpl" >/dev/null && break; sleep 0.1; done
chmod 644 "$work/c/node3/keys/obcast.key"
pkill -KILL -f "obcast-signer --config $work/c/node3/node.zpl"
for _ in $(seq 200); do kill -0 "${pids[3]}" 2>/dev/null || break; sleep 0.1; done
wait "${pids[3]}"
rc=$?
check "the intensity limit stops node3 (exit $rc)" '[[ $rc -eq 1 ]]'
check "with its error" \
    'grep -q "more than 3 restarts within 60000 ms (max_restarts, restart_window_ms): stopping the node" "$work/node3b.log"'
check "the signer's own error names the key file" 'grep -q "keys/obcast.key" "$work/node3b.log"'

stop_pids
echo "1..$n"
[[ $fails -eq 0 ]]
