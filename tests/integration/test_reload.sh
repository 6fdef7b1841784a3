#!/usr/bin/env bash
# Manifest reload (issue 9, defect 2), on a node with 6 verifiers and
# max_restarts = 3: a reload that appends no epoch restarts nothing; one
# that appends an epoch restarts every actor (each reads the epochs), at
# once, with no actor taken for hung and none of it counted toward the
# intensity limit, however often it is done. The node goes on certifying.
# TAP.
#
#   test_reload.sh BUILD_ACTORS_DIR
set -u
bin=$1
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-reload-XXXXXX)
source "$(dirname "$0")/lib.sh"
trap finish EXIT
trap 'exit 1' INT TERM

base=$(free_base 4)
"$obcast" init 4 "$work/c" --base-port "$base" >/dev/null
cfg=$work/c/node1/node.zpl
m=$work/c/manifest.zpl
cp "$m" "$work/manifest.orig"
cfg2=$work/c/node2/node.zpl
# node1 has a low intensity limit; node2 the default (20), so that a
# restart taken for a crash or a hang cannot hide behind a stopped node.
sed -i 's|^    peer_bind = \(.*\)|    peer_bind = \1\n    verifiers = 6\n    max_restarts = 3|' "$cfg"
sed -i 's|^    peer_bind = \(.*\)|    peer_bind = \1\n    verifiers = 6|' "$cfg2"
for i in 0 1 2 3; do
    "$bin/obcast-node" --config "$work/c/node$i/node.zpl" >"$work/node$i.log" 2>&1 &
    pids+=($!)
done
node1=${pids[1]} node2=${pids[2]}

# actors CFG: "actor instance pid restarts reloads" per running actor,
# from obcast status ("-" for a count it does not give).
actors() {
    "$obcast" status --config "$1" 2>/dev/null | grep -o '{"actor":[^}]*}' | grep '"state":"running"' |
        while read -r a; do
            local f out=
            for f in actor instance pid restarts reloads; do
                v=$(sed -n "s/.*\"$f\":\"\{0,1\}\([a-z0-9]*\).*/\1/p" <<<"$a")
                out+="${v:--} "
            done
            echo "${out% }"
        done
}
# wait_running CFG PID RELOADS: waits (up to 20 s, while the node lives)
# until all 9 actors run with that reload count; prints them.
wait_running() {
    local list= deadline=$((SECONDS + 20))
    while ((SECONDS < deadline)) && kill -0 "$2" 2>/dev/null; do
        list=$(actors "$1")
        [[ $(awk -v r="$3" '$5 == r' <<<"$list" | wc -l) -eq 9 ]] && break
        sleep 0.1
    done
    echo "$list"
}

before=$(wait_running "$cfg" "$node1" 0)
[[ -n $before ]] || before=$(actors "$cfg") # an older node gives no reload count
check "node1 runs its 9 actors (journal, signer, 6 verifiers, net)" '[[ $(wc -l <<<"$before") -eq 9 ]]'
"$obcast" submit --config "$cfg" --count 1 --size 64 --wait locked --timeout 30000 >/dev/null 2>&1
rc=$?
check "and certifies" '[[ $rc -eq 0 ]]'

# (a) The same manifest again: nothing changes, nothing restarts.
expect "ctl reload of the same manifest" 0 "(0 new epochs); nothing to restart" -- ctl --config "$cfg" reload
sleep 1 # a restart, if one were asked, would show by now
after=$(actors "$cfg")
check "no actor was restarted: the same 9 pids, 0 restarts, 0 reloads" \
    '[[ $after == "$before" ]] && [[ $(awk "\$4 == 0 && \$5 == 0" <<<"$after" | wc -l) -eq 9 ]]'

# (b) Three reloads, each appending an epoch: 27 actor restarts against
# max_restarts = 3.
for r in 1 2 3; do
    sed -n '/^    epoch$/,$p' "$work/manifest.orig" | sed "s/number = 1/number = $((r + 1))/" >>"$m"
    old_pids=$(awk '{print $3}' <<<"$before" | sort)
    expect "reload $r: one epoch appended" 0 "(1 new epochs); restarting the 9 actors" -- ctl --config "$cfg" reload
    after=$(wait_running "$cfg" "$node1" "$r")
    new_pids=$(awk '{print $3}' <<<"$after" | sort)
    check "reload $r: all 9 actors run again, each a new process that read the new manifest" \
        '[[ $(wc -l <<<"$after") -eq 9 && -z $(comm -12 <(echo "$old_pids") <(echo "$new_pids")) ]]'
    check "reload $r: none of it counted as a restart (restarts 0, reloads $r)" \
        '[[ $(awk -v r="$r" "\$4 == 0 && \$5 == r" <<<"$after" | wc -l) -eq 9 ]]'
    before=$after
    "$obcast" ctl --config "$cfg2" reload >/dev/null 2>&1
    after2=$(wait_running "$cfg2" "$node2" "$r")
done
check "node2, reloaded as often, runs its 9 actors with 0 restarts ($(awk '{print $4}' <<<"$after2" | tr '\n' ' '))" \
    '[[ $(awk "\$4 == 0 && \$5 == 3" <<<"$after2" | wc -l) -eq 9 ]]'
check "no actor of node2 was taken for hung" '! grep -q "hung" "$work/node2.log"'
check "node1 is still running" 'kill -0 "$node1" 2>/dev/null'
check "no actor was taken for hung" '! grep -q "hung" "$work/node1.log"'
check "the intensity limit was not reached" '! grep -q "max_restarts" "$work/node1.log"'
"$obcast" submit --config "$cfg" --count 1 --size 64 --wait locked --timeout 30000 >/dev/null 2>&1
rc=$?
check "and still certifies" '[[ $rc -eq 0 ]]'
# The restarted actors read the new manifest: the journal moves to the
# appended epoch 4, and no actor refuses it as unknown.
expect "node1 knows the appended epochs" 0 "asked the journal for epoch 4" -- ctl --config "$cfg" epoch 4
epoch= deadline=$((SECONDS + 20))
while ((SECONDS < deadline)) && kill -0 "$node1" 2>/dev/null; do
    epoch=$("$bin/obcast-journal" --config "$cfg" metrics 2>/dev/null | grep -o '"epoch":[0-9]*' | head -1)
    [[ $epoch == '"epoch":4' ]] && break
    sleep 0.1
done
check "its journal moved to epoch 4 ($epoch)" '[[ $epoch == "\"epoch\":4" ]]'
sleep 0.5
check "and no actor refused it as unknown to its manifest" \
    '! grep -qE "refusing epoch|ignoring epoch|not in the manifest" "$work/node1.log"'

# A real crash still counts: the intensity limit is intact.
for k in 1 2 3 4; do
    pid=$(pgrep -f "obcast-verifier --config $cfg --arena-fd [0-9]* --instance 0\$")
    [[ -n $pid ]] && kill -KILL "$pid"
    for _ in $(seq 100); do
        kill -0 "$node1" 2>/dev/null || break
        new=$(pgrep -f "obcast-verifier --config $cfg --arena-fd [0-9]* --instance 0\$")
        [[ -n $new && $new != "$pid" ]] && break
        sleep 0.05
    done
done
for _ in $(seq 100); do kill -0 "$node1" 2>/dev/null || break; sleep 0.1; done
wait "$node1"
rc=$?
check "four crashes after the reloads do stop node1 (exit $rc)" '[[ $rc -eq 1 ]]'
check "with the intensity limit's error" \
    'grep -q "more than 3 restarts within 60000 ms (max_restarts, restart_window_ms): stopping the node" "$work/node1.log"'

stop_pids
echo "1..$n"
[[ $fails -eq 0 ]]
