#!/usr/bin/env bash
# A supervisor SIGKILLed at any instant of its start-up leaves no actor
# behind (issue 9, defect 1): the parent-death signal is armed in each
# child before it runs the actor, and the node lock is held by every
# process of the run, so no new supervisor can start beside a survivor.
# The killed node starts again and certifies every time. TAP.
#
#   test_supervisor_kill.sh BUILD_ACTORS_DIR
set -u
bin=$1
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-supkill-XXXXXX)
source "$(dirname "$0")/lib.sh"
# Survivors of a failed run are this test's processes too: stop them by pid.
reap_left() {
    local pid
    for pid in $(pgrep -f "obcast-[a-z-]+ .*--config $work/"; pgrep -f "^sleep 3[0-9]\.$$"); do
        kill -KILL "$pid" 2>/dev/null
    done
}
trap 'reap_left; finish' EXIT
trap 'exit 1' INT TERM

base=$(free_base 4)
"$obcast" init 4 "$work/c" --base-port "$base" >/dev/null
cfg=$work/c/node1/node.zpl
for i in 0 2 3; do
    "$bin/obcast-node" --config "$work/c/node$i/node.zpl" >"$work/node$i.log" 2>&1 &
    pids+=($!)
done

# Every process of node1's run: the supervisor, a child between fork and
# exec (it still bears the supervisor's command line), and the actors.
node1_procs() { pgrep -f "obcast-[a-z-]+ --config $cfg( |\$)"; }
# Waits up to 2 s for node1 to have no process left; prints the survivors.
survivors() {
    local left
    for _ in $(seq 40); do
        left=$(node1_procs | tr '\n' ' ')
        [[ -z $left ]] && return 0
        sleep 0.05
    done
    for pid in $left; do ps -o pid=,ppid=,comm= -p "$pid" 2>/dev/null; done | tr '\n' ';'
}
# One run of node1 to its first certified payload; then SIGKILLed, and
# its actors must go too. Sets `certified` and `left`.
certify() {
    "$bin/obcast-node" --config "$cfg" >>"$work/node1.log" 2>&1 &
    local sup=$!
    "$obcast" submit --config "$cfg" --count 1 --size 64 --wait locked --timeout 30000 \
        >/dev/null 2>>"$work/submit.log"
    certified=$?
    kill -KILL "$sup" 2>/dev/null
    wait "$sup" 2>/dev/null
    left=$(survivors)
}

certify
check "node1 certifies before the kills" '[[ $certified -eq 0 ]]'
check "a SIGKILLed running node leaves no actor ($left)" '[[ -z $left ]]'

# 30 instants spread evenly over the first 200 ms of a supervisor's life.
instants=30
orphaned=0 uncertified=0 report=
# Survivors are counted, then killed, so that one kill's failure does not
# spoil the next.
orphans() {
    [[ -z $left ]] && return
    orphaned=$((orphaned + 1))
    report+=" [$1: $left]"
    for pid in $(node1_procs); do kill -KILL "$pid"; done
    sleep 0.2
}
for k in $(seq 0 $((instants - 1))); do
    delay=$(awk -v k="$k" -v n="$instants" 'BEGIN { printf "%.4f", k * 0.2 / (n - 1) }')
    "$bin/obcast-node" --config "$cfg" >>"$work/node1.log" 2>&1 &
    sup=$!
    sleep "$delay"
    kill -KILL "$sup"
    wait "$sup" 2>/dev/null
    left=$(survivors)
    orphans "killed at ${delay}s"
    certify
    [[ $certified -eq 0 ]] || uncertified=$((uncertified + 1))
    orphans "killed once certified, after ${delay}s"
done
check "no actor outlives a supervisor killed at any of $instants instants of 0-200 ms ($orphaned left some:$report)" \
    '[[ $orphaned -eq 0 ]]'
check "and node1 certified again after each of the $instants kills ($uncertified did not)" \
    '[[ $uncertified -eq 0 ]]'
check "nothing ever stood in a new supervisor's way (no 'already running')" \
    '! grep -qE "already running|still locked|Address already in use" "$work/node1.log"'

# The lock covers every process of a run, not just the supervisor: a
# process the node started (here a stand-in journal that leaves a
# background child, which no death signal reaches) keeps the node locked
# after its supervisor is gone, and the next supervisor says so.
fake=$work/fake-actors
mkdir -p "$fake"
for a in signer verifier net; do ln -s "$bin/obcast-$a" "$fake/obcast-$a"; done
cat >"$fake/obcast-journal" <<EOF
#!/usr/bin/env bash
sleep 30.$$ &
exec sleep 30
EOF
chmod +x "$fake/obcast-journal"
OBCAST_ACTOR_DIR=$fake "$bin/obcast-node" --config "$cfg" >"$work/fake.log" 2>&1 &
sup=$!
for _ in $(seq 100); do pgrep -f "^sleep 30\.$$" >/dev/null && break; sleep 0.05; done
sleep 0.2 # the other actors started too
kill -KILL "$sup"
wait "$sup" 2>/dev/null
check "the stand-in journal's child outlives its supervisor" 'pgrep -f "^sleep 30\.$$" >/dev/null'
out=$(timeout 10 "$bin/obcast-node" --config "$cfg" 2>&1)
rc=$?
pidfile=$work/c/node1/run/node.pid
check "a new supervisor refuses to start beside it (exit $rc: $out)" \
    '[[ $rc -eq 1 && $out == *"$pidfile"* && $out == *"processes of its previous run are still alive"* ]]'
for pid in $(pgrep -f "^sleep 30\.$$"); do kill -KILL "$pid"; done
sleep 0.2
certify
check "once that process is gone, node1 starts and certifies" '[[ $certified -eq 0 ]]'

stop_pids
echo "1..$n"
[[ $fails -eq 0 ]]
