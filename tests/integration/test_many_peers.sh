#!/usr/bin/env bash
# A cluster of 16 nodes (--inproc, every node a sequencer): net watches one
# monitor per peer beside its own sockets, and a node with 15 peers must
# still read them all. A payload submitted at the first and at the last
# node is certified. TAP.
#
#   test_many_peers.sh BUILD_ACTORS_DIR
set -u
bin=$1
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-many-peers-XXXXXX)
source "$(dirname "$0")/lib.sh"
trap finish EXIT
trap 'exit 1' INT TERM

count=16
base=$(free_base $count)
check "init a $count-node cluster" \
    '"$obcast" init $count "$work/c" --base-port $base --sequencers 0-$((count - 1)) >"$work/init.log" 2>&1'
for i in $(seq 0 $((count - 1))); do
    "$bin/obcast-node" --inproc --config "$work/c/node$i/node.zpl" >"$work/node$i.log" 2>&1 &
    pids+=($!)
done
for i in 0 $((count - 1)); do
    check "node$i certifies a payload with its 15 peers" \
        '"$obcast" submit --config "$work/c/node$i/node.zpl" --count 2 --size 100 --wait locked --timeout 60000 >"$work/submit$i.out" 2>&1'
done
check "no node logged an error" '! grep -h " error: " "$work"/node*.log'
stop_pids
echo "1..$n"
[[ $fails -eq 0 ]]
