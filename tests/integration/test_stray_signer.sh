#!/usr/bin/env bash
# A stray process of the node's own uid connects to the signer's endpoints
# and sends a well-formed sign_node: height 0 of node0's own chain, which
# node0 has not signed yet (nothing submitted), so the signer would sign it
# had the journal asked. It signs nothing: the connecting process is not
# the one obcast-node started as that sender (proto/PROTOCOL.md
# "Dispatch"), so each message is dropped undecoded and counted
# (foreign_process), signer.db stays as it was, and node0 goes on to
# certify its own height 0. TAP.
#
#   test_stray_signer.sh BUILD_ACTORS_DIR PUSH_FRAMES
set -u
bin=$1
push_frames=$2
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-stray-XXXXXX)
source "$(dirname "$0")/lib.sh"
trap finish EXIT
trap 'exit 1' INT TERM

base=$(free_base 4)
check "init a 4-node cluster" '"$obcast" init 4 "$work/c" --base-port $base >"$work/init.log" 2>&1'
for i in 0 1 2 3; do
    "$bin/obcast-node" --config "$work/c/node$i/node.zpl" >"$work/node$i.log" 2>&1 &
    pids+=($!)
done
cfg=$work/c/node0/node.zpl
run=$work/c/node0/run
data=$work/c/node0/data

metrics() {
    "$bin/obcast-journal" --config "$cfg" metrics 2>/dev/null | python3 -c 'import json,sys
for m in map(json.loads, sys.stdin):
    if m["actor"] == sys.argv[1]: print(m["shell"][sys.argv[2]]); break' "$1" "$2"
}
signer_state() { cat "$data"/signer.db* 2>/dev/null | sha256sum | cut -d' ' -f1; }

for _ in $(seq 200); do [[ -n $(metrics signer messages_in) ]] && break; sleep 0.1; done
check "node0's signer runs" '[[ -n $(metrics signer messages_in) ]]'
key=$("$bin/obcast-signer" --config "$cfg" pubkey 2>"$work/pubkey.log")
check "node0's key (${key:0:16}...)" '[[ $key =~ ^[0-9a-f]{64}$ ]]'
sleep 1
before=$(signer_state)
check "signer.db is there" '[[ -n $before && -f $data/signer.db ]]'

# sign_node v1: chunk (node0's key, height 0, a payload digest nobody
# submitted), parent epoch 0, no parent certificate.
digest=$(printf 'stray payload' | sha256sum | cut -d' ' -f1)
frame=002801${key}0000000000000000${digest}000000000000000000000000
for pair in signer-from-journal signer-from-verifier-0; do
    "$push_frames" "ipc://$run/$pair" "$frame" "$frame" 2>>"$work/push.log"
done
for _ in $(seq 100); do [[ $(metrics signer foreign_process) -ge 4 ]] && break; sleep 0.1; done
dropped=$(metrics signer foreign_process)
check "the signer dropped the 4 stray requests as from a foreign process ($dropped)" \
    '[[ $dropped -eq 4 ]]'
check "and handled none of them as the journal's" '[[ $(metrics signer wrong_sender) -eq 0 ]]'
sleep 1
check "signer.db is unchanged: nothing was signed" '[[ $(signer_state) == "$before" ]]'
check "the signer logged the stray process" \
    'grep -q "signer: dropped a message on the endpoint of journal from another process" "$work/node0.log"'

# node0's own height 0 is still free for its journal: it certifies.
check "node0 still certifies its own chain" \
    '"$obcast" submit --config "$cfg" --count 2 --size 64 --wait locked --timeout 30000 >"$work/submit.out" 2>"$work/submit.log" && [[ $(grep -c "^locked" "$work/submit.out") -eq 2 ]]'
check "from height 0" 'grep -q "^locked .*height=0 " "$work/submit.out"'
check "no payload but the submitted ones was certified" \
    '! "$obcast" export --config "$cfg" 2>/dev/null | grep -q "$digest"'

echo "1..$n"
[[ $fails -eq 0 ]]
