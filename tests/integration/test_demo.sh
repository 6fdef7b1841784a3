#!/usr/bin/env bash
# The demo, shortened, twice in a row (issue 5: "running it twice in a
# row works"), on the binaries of this build; then the launcher's
# bad-input paths. TAP.
#
#   test_demo.sh BUILD_ACTORS_DIR
set -u
export OBCAST_BIN=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/obcast-demo-test-XXXXXX)
source "$(dirname "$0")/lib.sh"
trap 'finish; "$root/scripts/obcast-cluster" down "$root/var/demo" >/dev/null 2>&1' EXIT
trap 'exit 1' INT TERM

for run in 1 2; do
    "$root/scripts/demo" --seconds 3 --size 512 >"$work/demo$run.log" 2>&1
    rc=$?
    check "demo run $run ends well (exit $rc)" '[[ $rc -eq 0 ]]'
    check "demo run $run prints its summary" 'grep -q "^demo: summary: [0-9]* chunks certified" "$work/demo$run.log"'
    check "demo run $run audits every node's export" \
        'grep -q "audit: 4 files, [0-9]* certified chunks, 4 sequencers: ok" "$work/demo$run.log"'
    check "demo run $run leaves no node running" '! pgrep -f "obcast-supervisor.*$root/var/demo" >/dev/null'
    check "demo run $run names its plot in the summary" 'grep -q "^demo: plot of the run: $root/var/demo/demo.png" "$work/demo$run.log"'
    check "demo run $run reports its disk use" 'grep -q "^demo: disk use: " "$work/demo$run.log"'
done
png=$root/var/demo/demo.png
magic=$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
check "demo.png is a PNG (magic $magic)" '[[ $magic == 89504e470d0a1a0a ]]'
# A plot gnuplot could not draw is empty; axes, labels and its curves make 10 KB or more.
bytes=$(stat -c %s "$png" 2>/dev/null || echo 0)
check "demo.png is not trivial ($bytes bytes)" '[[ $bytes -gt 4000 ]]'
samples=$(grep -vc '^#' "$root/var/demo/demo.dat" 2>/dev/null)
check "the plot's data has a sample a second of the run (3 s: $samples)" '[[ ${samples:-0} -eq 3 ]]'
# A sample before the first Lock has none to measure (a slow start under
# ASan and parallel suites); from the first one with a latency on, each has one.
check "each sample from the first Lock on has a latency its clients measured" \
    'awk "!/^#/ { if (\$3 ~ /^[0-9]+\\.[0-9]\$/) seen = 1; else if (seen) bad = 1 } END { exit bad || !seen }" "$root/var/demo/demo.dat"'
check "no WAL is left in var/demo after the run (checkpointed)" '! ls "$root"/var/demo/node*/data/*-wal 2>/dev/null | grep -q .'
check "the demo --help gives the defaults" '"$root/scripts/demo" --help | grep -q "default 30" && "$root/scripts/demo" --help | grep -q "default 1024"'
check "the demo --help ends on its text" '[[ $("$root/scripts/demo" --help | tail -n 1) != *"set -"* ]]'
check "the demo refuses a bad --seconds" '! "$root/scripts/demo" --seconds x 2>/dev/null'

c=$root/scripts/obcast-cluster
out=$("$c" 2>&1); rc=$?
check "obcast-cluster without a command: usage, exit 2" '[[ $rc -eq 2 && $out == *"no command given"* ]]'
out=$("$c" frob 2>&1); rc=$?
check "obcast-cluster with an unknown command: exit 2" '[[ $rc -eq 2 && $out == *"unknown command '"'"'frob'"'"'"* ]]'
out=$("$c" up "$work/nothing" 2>&1); rc=$?
check "obcast-cluster up on a folder with no cluster: exit 1, names it" \
    '[[ $rc -eq 1 && $out == *"$work/nothing: no manifest.zpl"* ]]'
out=$("$c" status 2>&1); rc=$?
check "obcast-cluster status without DIR: exit 2" '[[ $rc -eq 2 ]]'

# up, status, a node killed and brought back by its watchdog, down
"$c" init 4 "$work/c" --base-port "$(free_base 4)" >/dev/null 2>&1
"$c" up "$work/c" >/dev/null
for _ in $(seq 100); do
    [[ $("$c" status "$work/c" | grep -c ': up') -eq 4 ]] && break
    sleep 0.1
done
check "status shows 4 nodes up" '[[ $("$c" status "$work/c" | grep -c ": up") -eq 4 ]]'
victim=$(pgrep -f "obcast-supervisor --config $work/c/node2/node.zpl" | head -1)
orphans=$(pgrep -f "obcast-(journal|signer|verifier|net) --config $work/c/node2/node.zpl" | tr '\n' ' ')
killed_at=$(date +%s%N)
kill -KILL "$victim" 2>/dev/null
gone=0
for _ in $(seq 50); do
    gone=1
    for pid in $orphans; do kill -0 "$pid" 2>/dev/null && gone=0; done
    [[ $gone -eq 1 ]] && break
    sleep 0.1
done
check "a killed node's actors exit with it (parent-death signal: $orphans)" '[[ -n $orphans && $gone -eq 1 ]]'
back=
for _ in $(seq 100); do
    back=$(pgrep -f "obcast-supervisor --config $work/c/node2/node.zpl" | head -1)
    [[ -n $back && $back != "$victim" ]] && break
    sleep 0.1
done
check "the watchdog starts a killed node again ($victim -> $back)" '[[ -n $back && $back != "$victim" ]]'
"$OBCAST_BIN/obcast" submit --config "$work/c/node2/node.zpl" --count 1 --size 64 --wait locked \
    --timeout 30000 >/dev/null 2>&1
rc=$?
recovered=$((($(date +%s%N) - killed_at) / 1000000))
check "and certifies again: a payload locked $recovered ms after the kill (watchdog pause 1 s)" '[[ $rc -eq 0 ]]'
"$c" down "$work/c" >/dev/null
check "down stops every node" '! pgrep -f "obcast-supervisor.*$work/c/" >/dev/null'

echo "1..$n"
[[ $fails -eq 0 ]]
