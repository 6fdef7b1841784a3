#!/usr/bin/env bash
# The protocol reference (proto/SPEC.md) is enough to speak to a node: a
# Python submit client and a Python application (tests/integration/py/,
# python3-zmq, hashlib, ctypes to libsecp256k1), written from it alone,
# against live 4-node clusters. TAP.
#  1. Built-in application: py_client.py submits to node0 and node1,
#     follows every payload to its Lock, verifies each Lock's quorum of
#     signatures against the manifest, fetches the chunk and finds its
#     payload at the index named; a malformed submit is refused
#     `malformed`, one over max_payload `too_large` (and in 2, one to an
#     external node `app_attached`); the conformance vectors' Lock passes
#     its checker.
#  2. application = external, py_app.py on every node: its proposals get
#     certified and every Lock verifies; node3's app leaves two PROPOSE
#     asks unanswered (asked again, same height) and proposes a payload
#     its peers reject at height 3: node3's chain stalls there, the others
#     grow, the rejecting apps are asked again; started again accepting
#     it, node3's chain goes on. Each gets TIPs for its own proposals and
#     no VERIFY of them; after node3 restarts, it is asked to VERIFY its
#     own tip.
#
#   test_py_reference.sh BUILD_ACTORS_DIR PY_DIR
set -u
bin=$1
py=$2
obcast=$bin/obcast
python="/usr/bin/python3 -B" # no __pycache__ in the source tree
work=$(mktemp -d /tmp/obcast-pyref-XXXXXX)
source "$(dirname "$0")/lib.sh"
apps=()
trap 'pids+=("${apps[@]}"); finish' EXIT
trap 'exit 1' INT TERM

if ! $python -c 'import zmq' 2>/dev/null; then
    # A missing dependency fails the suite: a skip would pass unseen.
    echo "1..1"
    echo "not ok 1 - python3-zmq is installed for $python (scripts/install-deps installs it)"
    exit 1
fi
declare -A pid_of
start() { # start DIR I
    "$bin/obcast-node" --config "$1/node$2/node.zpl" >>"$work/node$2.log" 2>&1 &
    pid_of[$2]=$!
    pids+=($!)
}
stop_apps() {
    local pid
    signal_child TERM "${apps[@]}"
    for pid in "${apps[@]}"; do wait "$pid" 2>/dev/null; done
    apps=()
}
field() { # field FILE NAME: a number of the JSON line in FILE
    $python -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" \
        2>/dev/null || echo -1
}

# --- 1. the submit client -------------------------------------------------
c=$work/c1
check "init a 4-node cluster" '"$obcast" init 4 "$c" --base-port $(free_base 4) >"$work/init1.log" 2>&1'
for i in 0 1 2 3; do start "$c" "$i"; done
check "every node reached all its peers" 'wait_mesh "$bin" "$c"/node*/node.zpl'
$python "$py/py_client.py" --manifest "$c/manifest.zpl" --count 25 --timeout 120 \
    --submit "ipc://$c/node0/run/submit" --submit "ipc://$c/node1/run/submit" \
    --vectors "$(dirname "$0")/../vectors/obcast-vectors.json" \
    >"$work/client.out" 2>"$work/client.log"
rc=$?
report=$(cat "$work/client.out")
check "py_client: 50 payloads locked, each Lock's quorum verified, each payload found in its fetched chunk ($report)" \
    '[[ $rc -eq 0 && $(field "$work/client.out" locks_verified) -eq 50 && $(field "$work/client.out" included) -eq 50 ]]'
check "py_client: a malformed submit is refused 'malformed' (reason 5), not dropped" \
    '[[ $report == *"\"refused\": {\"malformed\": 2}"* ]]'
check "py_client: the conformance vectors' Lock passes its checker, a forged one fails" \
    '[[ $report == *"\"vector_lock\": true"* ]]'
max=$(sed -n 's/^ *max_payload = \([0-9]*\).*/\1/p' "$c/manifest.zpl")
check "py_client: a payload over max_payload ($max) is refused 'too_large' (reason 1)" \
    '$python "$py/py_client.py" --manifest "$c/manifest.zpl" --submit "ipc://$c/node0/run/submit" \
        --expect-refused too_large --size $((max + 1)) --timeout 30 >"$work/big.out" 2>&1'
stop_pids

# --- 2. the application ---------------------------------------------------
c=$work/c2
check "init a second 4-node cluster" '"$obcast" init 4 "$c" --base-port $(free_base 4) >"$work/init2.log" 2>&1'
for i in 0 1 2 3; do
    sed -i "s|^    peer_bind = \(.*\)|    peer_bind = \1\n    application = \"external\"|" "$c/node$i/node.zpl"
done
for i in 0 1 2 3; do start "$c" "$i"; done
check "every node reached all its peers" 'wait_mesh "$bin" "$c"/node*/node.zpl'
app() { # app I OUT ARGS...: py_app.py on node I, its report in $work/OUT
    local i=$1 out=$2
    shift 2
    rm -f "$work/$out"
    $python "$py/py_app.py" --manifest "$c/manifest.zpl" --name "node$i" \
        --app "ipc://$c/node$i/run/app" --report "$work/$out" "$@" \
        >/dev/null 2>>"$work/app$i.log" &
    apps+=($!)
}
keys=()
for i in 0 1 2 3; do keys+=("$("$bin/obcast-signer" --config "$c/node$i/node.zpl" pubkey)"); done
certified() { # certified I: the chunks of node I's chain in node0's export
    grep -c "\"sequencer\":\"${keys[$1]}\"" "$work/export0.jsonl"
}
# wait_chains MIN I...: until each of those chains has MIN certified at node0
wait_chains() {
    local min=$1 low i
    shift
    for _ in $(seq 600); do
        "$obcast" export --config "$c/node0/node.zpl" >"$work/export0.jsonl" 2>/dev/null
        low=$(for i in "$@"; do certified "$i"; done | sort -n | head -1)
        [[ ${low:-0} -ge $min ]] && return 0
        sleep 0.1
    done
    return 1
}

# a) node3 proposes a payload its peers reject at height 3: its chain
# stalls there while the others grow, and the rejecting applications are
# asked about it again and again.
app 3 app3.out --decline 2 --bad-at 3
rejecting=("${#apps[@]}")
for i in 0 1 2; do app "$i" "app$i.a.out"; done
check "node3's chain is certified up to its height 2" 'wait_chains 3 3'
min_asks() { for i in 0 1 2; do field "$work/app$i.a.out" bad_asks_max; done | sort -n | head -1; }
for _ in $(seq 300); do
    [[ $(min_asks) -ge 3 ]] && break
    sleep 0.1
done
asks=$(min_asks)
check "the rejecting applications are asked about that chunk again and again ($asks asks at least)" \
    '[[ $asks -ge 3 ]]'
"$obcast" export --config "$c/node0/node.zpl" >"$work/export0.jsonl" 2>/dev/null
grown=$(for i in 0 1 2; do certified "$i"; done | sort -n | head -1)
check "meanwhile chains 0-2 grew ($grown at least) and node3's stalled below height 3 ($(certified 3) certified)" \
    '[[ $grown -ge 10 && $(certified 3) -eq 3 ]]'
for pid in "${apps[@]:$rejecting}"; do signal_child TERM "$pid"; wait "$pid" 2>/dev/null; done
apps=("${apps[@]:0:$rejecting}")

# b) they change their mind: the way out; node3's chain goes on.
for i in 0 1 2; do app "$i" "app$i.out" --relent 0; done
check "once they accept it, node3's chain grows past height 3, and the others go on" \
    'wait_chains 10 3 && wait_chains $((grown + 10)) 0 1 2'
"$obcast" export --data --config "$c/node0/node.zpl" >"$work/data0.jsonl" 2>/dev/null
check "node3's once rejected payload (bad|...) is the one certified at height 3" \
    'grep "\"sequencer\":\"${keys[3]}\"" "$work/data0.jsonl" | grep "\"height\":3," | grep -q "\"data\":\"6261647c"'
stop_apps
for i in 0 1 2 3; do
    f=$work/app$i.out
    check "node$i's py_app proposed ($(field "$f" proposed)), had TIPs for its own ($(field "$f" tips_own)) and verified peers ($(field "$f" verified))" \
        '[[ $(field "$f" proposed) -ge 5 && $(field "$f" tips_own) -ge 5 && $(field "$f" verified) -ge 10 ]]'
    check "node$i's py_app verified every Lock ($(field "$f" locks_verified) of $(field "$f" locks)) and was never asked to VERIFY its own proposal" \
        '[[ $(field "$f" locks_verified) -ge 10 && $(field "$f" locks_verified) -eq $(field "$f" locks) && $(field "$f" verify_own) -eq 0 ]]'
done
check "a declined PROPOSE is asked again at the same height (node3: $(field "$work/app3.out" reasked_same_height))" \
    '[[ $(field "$work/app3.out" reasked_same_height) -ge 2 ]]'
check "py_client: a submit to a node whose application is external is refused 'app_attached' (reason 4)" \
    '$python "$py/py_client.py" --manifest "$c/manifest.zpl" --submit "ipc://$c/node1/run/submit" \
        --expect-refused app_attached --size 10 --timeout 30 >"$work/attached.out" 2>&1'

# node3 restarts with its tip on disk: its application, attaching, is asked
# to VERIFY that tip, its own chunk, like any tip it loaded.
signal_child TERM "${pid_of[3]}"
wait "${pid_of[3]}" 2>/dev/null
start "$c" 3
check "node3 reached its peers again" 'wait_mesh "$bin" "$c/node3/node.zpl"'
attached=$(grep -c "application attached" "$work/node3.log")
app 3 app3.b.out
for _ in $(seq 200); do
    [[ $(grep -c "application attached" "$work/node3.log") -gt $attached ]] && break
    sleep 0.1
done
sleep 2 # the VERIFY follows the attach at once; this is a generous margin
stop_apps
check "after a restart, node3's py_app was asked to VERIFY its own tip ($(field "$work/app3.b.out" verify_own))" \
    '[[ $(field "$work/app3.b.out" verify_own) -ge 1 ]]'
check "no node logged an error" '! grep -h " error: " "$work"/node*.log'

dump_metrics "$bin" "$c"/node*/node.zpl
stop_pids
echo "1..$n"
[[ $fails -eq 0 ]]
