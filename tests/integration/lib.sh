# Shared by the integration scripts: TAP counting, free ports, and
# stopping every process a test started (also when it fails).
#   source lib.sh; then set `work` and append started pids to `pids`.
n=0
fails=0
pids=()
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

# own_child PID: PID is still a process this shell started. Once a child
# has exited, bash reaps it and the kernel may give its pid to any new
# process: pid_max is 32768 here and a run of the suites forks far more, so
# a stale pid is soon another test's process, its shell even (whose TERM
# trap then ends it with status 1 and no failed case to say why). Its
# parent tells them apart: a stranger's is not this shell.
own_child() {
    local stat ppid
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # after the command name, which may hold spaces: state, then ppid
    read -r _ ppid _ <<<"${stat##*) }"
    [[ $ppid == "$$" ]]
}

# signal_child SIG PID...: SIG to each PID that is still this shell's own
# child (own_child), never to a pid that has been reused since.
signal_child() {
    local sig=$1 pid
    shift
    for pid in "$@"; do own_child "$pid" && kill "-$sig" "$pid" 2>/dev/null; done
    return 0
}

# SIGTERM, up to 10 s of grace, then SIGKILL; to this shell's own children
# only (own_child).
stop_pids() {
    local pid
    signal_child TERM "${pids[@]}"
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do own_child "$pid" && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        signal_child KILL "$pid"
        wait "$pid" 2>/dev/null
    done
    pids=()
}

# Waits (up to 60 s) until every node's net has a completed link to each
# of its peers. A test that submits at once otherwise races the links:
# what a sequencer sends to a validator not yet reached is dropped, and
# once its chain stops nothing resends a certified tip (SPEC §3 Fetching
# is what recovers it). Returns 1 if the mesh did not form.
# wait_mesh BIN CONFIG...
wait_mesh() {
    local bin=$1 cfg want=$(($# - 2)) missing metrics
    shift
    for _ in $(seq 300); do
        missing=0
        for cfg in "$@"; do
            # The metrics first, whole, then the check: a pipe into a check
            # that stops at net's line cut obcast-journal off with SIGPIPE
            # while it printed the next actor's, and under `set -o pipefail`
            # (scripts/soak-net) that failed the check unless net's line
            # came last at all four nodes at once: soak-net waited minutes.
            metrics=$(timeout 10 "$bin/obcast-journal" --config "$cfg" metrics 2>/dev/null)
            python3 -c '
import json, sys
want = int(sys.argv[1])
for line in sys.stdin:
    m = json.loads(line)
    if m.get("actor") == "net":
        up = sum(1 for p in m.get("peers", {}).values() if p.get("connected"))
        sys.exit(0 if up >= want else 1)
sys.exit(1)' "$want" <<<"$metrics" || missing=$((missing + 1))
        done
        [[ $missing -eq 0 ]] && return 0
        sleep 0.2
    done
    return 1
}

# On a failed run, while its nodes still run: each actor's counters that
# are not zero (drops, refusals, what it passed), one line per actor, saved
# as metrics-*.json and shown with the logs. What a log does not say (a node
# that silently dropped what it was sent) is often in these.
# dump_metrics BIN CONFIG...
dump_metrics() {
    local bin=$1 cfg name
    shift
    [[ $fails -gt 0 ]] || return 0
    for cfg in "$@"; do
        name=$(basename "$(dirname "$cfg")")
        timeout 10 "$bin/obcast-journal" --config "$cfg" metrics >"$work/metrics-$name.json" 2>&1
        python3 - "$name" "$work/metrics-$name.json" >"$work/metrics-$name.log" <<'PY'
import json, sys
def flat(prefix, v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            flat(prefix + "." + k if prefix else k, x, out)
    elif isinstance(v, (int, float)) and not isinstance(v, bool) and v:
        if "_us" not in prefix and "stages" not in prefix and "latency" not in prefix:
            out.append("%s=%s" % (prefix, v))
for line in open(sys.argv[2]):
    try:
        m = json.loads(line)
    except ValueError:
        print(sys.argv[1], "unreadable:", line.strip()[:200])
        continue
    out = []
    flat("", m, out)
    print(sys.argv[1], m.get("actor"), m.get("instance", 0), " ".join(out))
PY
    done
}

# On exit: stop everything, show the logs of a failed run, remove the work
# folder (KEEP=1 keeps it).
finish() {
    stop_pids
    if [[ $fails -gt 0 ]]; then
        for log in "$work"/*.log; do
            [[ -f $log ]] || continue
            echo "# --- $log"
            tail -n 30 "$log" | sed 's/^/# /'
        done
    fi
    [[ -n ${KEEP:-} ]] || rm -rf "$work"
}

# A base port with the next `count` ports free: tests may run beside others.
# Below the kernel's ephemeral range: a port in it can be taken, between
# this check and the bind, as the source port of any outgoing connection
# (a node's own connections to its peers, for one).
free_base() {
    local count=${1:-5} base taken i low
    low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    [[ ${low:-0} -gt $((10000 + 2 * count)) ]] || low=32768
    for _ in $(seq 50); do
        base=$((10000 + RANDOM % (low - 10000 - count)))
        taken=0
        for i in $(seq 0 $((count - 1))); do
            ss -ltn | awk '{print $4}' | grep -q ":$((base + i))\$" && taken=1
        done
        [[ $taken -eq 0 ]] && { echo "$base"; return; }
    done
    echo 23456
}

# expect NAME CODE PATTERN -- ARGS...: `$obcast ARGS` exits with CODE and
# its output holds PATTERN. (A script that checks other commands defines
# its own.)
expect() {
    local name=$1 code=$2 pattern=$3
    shift 4
    local out rc
    out=$("$obcast" "$@" 2>&1)
    rc=$?
    if [[ $rc -eq $code && $out == *"$pattern"* ]]; then ok "$name"; else
        not_ok "$name (exit $rc: $out)"
    fi
}
