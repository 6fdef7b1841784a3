#!/usr/bin/env bash
# The launcher (issue 13, defect 1): `up` returns once every node answers
# on its control socket, or exits 1 with the failing node's own error line;
# `down` leaves no process of the cluster behind (the watchdogs' pauses
# included); `obcast ctl stop` stops a node for good; --help lists what it
# should. TAP.
#
#   test_launcher.sh BUILD_ACTORS_DIR
set -u
export OBCAST_BIN=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/obcast-launcher-test-XXXXXX)
source "$(dirname "$0")/lib.sh"
c=$root/scripts/obcast-cluster
trap 'finish_launcher' EXIT
trap 'exit 1' INT TERM
finish_launcher() {
    for d in "$work"/busy "$work"/c; do
        [[ -f $d/manifest.zpl ]] && "$c" down "$d" >/dev/null 2>&1
    done
    finish
}
# Every process whose command line names the cluster's folder: the
# supervisors, their actors and the watchdogs (subshells of `up DIR`).
left_in() { pgrep -f "$1( |/|\$)" | grep -vx "$$" | tr '\n' ' '; }

help=$("$c" --help)
check "--help does not start with a blank line" '[[ -n $(head -n 1 <<<"$help") ]]'
check "--help does not end with the script's set line" '[[ $(tail -n 1 <<<"$help") != *"set -uo"* ]]'
check "--help lists demo" 'grep -q "obcast-cluster demo" <<<"$help"'
check "--help names the default ports" 'grep -q "7100+I" <<<"$help"'

# A node whose peer port is taken: up fails and says why.
base=$(free_base 3)
"$c" init 3 "$work/busy" --base-port "$base" >/dev/null 2>&1
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
print("bound", flush=True); time.sleep(120)' "$((base + 1))" >"$work/holder.out" &
pids+=($!)
for _ in $(seq 50); do grep -q bound "$work/holder.out" 2>/dev/null && break; sleep 0.1; done
out=$("$c" up "$work/busy" 2>&1)
rc=$?
check "up with node1's peer port taken exits 1 (exit $rc)" '[[ $rc -eq 1 ]]'
check "and shows the node's own error: Address already in use ($out)" \
    '[[ $out == *"node1"* && $out == *"Address already in use"* ]]'
sleep 0.5
left=$(left_in "$work/busy")
check "and leaves no process of that cluster running ($left)" '[[ -z $left ]]'
stop_pids

# up returns only once every node answers
"$c" init 3 "$work/c" --base-port "$(free_base 3)" >/dev/null 2>&1
out=$("$c" up "$work/c" 2>&1)
rc=$?
check "up on free ports exits 0 (exit $rc)" '[[ $rc -eq 0 ]]'
answering=0
for i in 0 1 2; do
    "$OBCAST_BIN/obcast" status --config "$work/c/node$i/node.zpl" >/dev/null 2>&1 &&
        answering=$((answering + 1))
done
check "every node answers its control socket as soon as up returns ($answering of 3)" '[[ $answering -eq 3 ]]'

# ctl stop: the watchdog lets the node stay stopped
"$OBCAST_BIN/obcast" ctl --config "$work/c/node1/node.zpl" stop >/dev/null 2>&1
gone=0
for _ in $(seq 100); do
    pgrep -f "obcast-supervisor.* --config $work/c/node1/node.zpl" >/dev/null || { gone=1; break; }
    sleep 0.1
done
check "ctl stop stops node1" '[[ $gone -eq 1 ]]'
# The watchdog would start it again after a 1 s pause; its log says what it did.
for _ in $(seq 50); do grep -q 'not restarting' "$work/c/node1.log" && break; sleep 0.1; done
check "its watchdog does not start it again" \
    'grep -q "not restarting" "$work/c/node1.log" && ! grep -q "restarting in" "$work/c/node1.log"'
check "status shows node1 down" '"$c" status "$work/c" | grep -q "^node1: down"'

# a node killed: its watchdog is in its pause (a sleep) when down runs
victim=$(pgrep -f "obcast-supervisor --config $work/c/node2/node.zpl" | head -1)
kill -KILL "$victim" 2>/dev/null
watchdog=$(cat "$work/c/node2/watchdog.pid")
sleeper=
for _ in $(seq 50); do
    sleeper=$(pgrep -P "$watchdog" -x sleep)
    [[ -n $sleeper ]] && break
    sleep 0.1
done
"$c" down "$work/c" >/dev/null
sleep 0.3
left=$(left_in "$work/c")
check "down leaves no process of the cluster ($left)" '[[ -z $left ]]'
check "nor the pause of node2's watchdog (sleep $sleeper)" '[[ -n $sleeper ]] && ! kill -0 "$sleeper" 2>/dev/null'

# A watchdog.pid left behind (a SIGKILL, a reboot) whose pid now names
# another process: down must not signal it, nor up take it for a node
# already up.
sleep 60 &
stranger=$!
pids+=($stranger)
echo "$stranger" >"$work/c/node0/watchdog.pid"
"$c" down "$work/c" >/dev/null 2>&1
sleep 0.3
check "down leaves alone the process a stale watchdog.pid names ($stranger)" 'kill -0 "$stranger" 2>/dev/null'
echo "$stranger" >"$work/c/node0/watchdog.pid"
out=$("$c" up "$work/c" 2>&1)
rc=$?
# node2's log still holds its watchdog's "exited" line from the kill above:
# up must judge this start by what it adds to the log.
check "up starts all 3 again, neither taking node0 for up nor failing on node2's old exit (exit $rc: $out)" \
    '[[ $rc -eq 0 && $out == *"3 nodes started"* && $out != *"already up"* ]]'
"$c" down "$work/c" >/dev/null
check "and down after it still leaves it alone" 'kill -0 "$stranger" 2>/dev/null'

echo "1..$n"
[[ $fails -eq 0 ]]
