# Nodes on hosts of their own, on this one machine (root only): each node
# in a network namespace, a veth pair from it to one bridge; partitions
# and loss by nftables rules inside each namespace (this kernel has no
# netem qdisc). Sourced by tests/integration/test_heartbeat.sh and
# scripts/soak-net, after lib.sh for the first.
#
#   netns_setup COUNT       namespaces ${netns_prefix}0..COUNT-1, node i at
#                           10.99.0.(i+1), and the bridge; every one is
#                           listed in netns_made for netns_teardown
#   netns_teardown          removes all of them (call it from the EXIT trap)
#   netns_cluster DIR BASE  points `obcast init`'s cluster in DIR at them
#   netns_exec I CMD...     CMD inside node I's namespace
#   netns_cut "0 1" "2 3"   no packet between the two groups, either way
#   netns_loss PERCENT      every packet in, on every node, dropped at random
#   netns_heal              all rules gone
# Latency and jitter are left to the simulator (tests/sim): no relay here.
netns_prefix=obn$$-
netns_made=()
netns_count=0
netns_bridge=obn$$br

netns_ip() { echo "10.99.0.$(($1 + 1))"; }

netns_setup() {
    local i ns
    netns_count=$1
    [[ $(id -u) -eq 0 ]] || { echo "netns: needs root (network namespaces, nftables)" >&2; return 1; }
    command -v nft >/dev/null || { echo "netns: no nft (scripts/install-deps)" >&2; return 1; }
    ip link add "$netns_bridge" type bridge || return 1
    netns_made+=("link:$netns_bridge")
    ip link set "$netns_bridge" up || return 1
    for i in $(seq 0 $((netns_count - 1))); do
        ns=$netns_prefix$i
        ip netns add "$ns" || return 1
        netns_made+=("ns:$ns")
        # the veth goes with its namespace
        ip link add "obn$$v$i" type veth peer name "obn$$p$i" || return 1
        netns_made+=("link:obn$$v$i")
        ip link set "obn$$p$i" netns "$ns" || return 1
        ip -n "$ns" link set "obn$$p$i" name eth0 &&
            ip -n "$ns" addr add "$(netns_ip "$i")/24" dev eth0 &&
            ip -n "$ns" link set eth0 up &&
            ip -n "$ns" link set lo up &&
            ip link set "obn$$v$i" master "$netns_bridge" up || return 1
        ip netns exec "$ns" nft -f - <<'NFT' || return 1
table inet obcast {
    chain in { type filter hook input priority 0; policy accept; }
    chain out { type filter hook output priority 0; policy accept; }
}
NFT
    done
    # the bridge forwards at once: no STP listening delay
    ip link set "$netns_bridge" type bridge forward_delay 0 2>/dev/null
    for i in $(seq 1 $((netns_count - 1))); do
        netns_reachable "$i" || { echo "netns: node $i is unreachable from node 0" >&2; return 1; }
    done
}

# Whether node 0 reaches node I (within 5 s): a refused connection to its
# discard port is an answer.
netns_reachable() {
    netns_exec 0 python3 - "$(netns_ip "$1")" <<'PY'
import socket, sys, time
end = time.time() + 5
while time.time() < end:
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect((sys.argv[1], 9))
        sys.exit(0)
    except ConnectionRefusedError:
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
    finally:
        s.close()
sys.exit(1)
PY
}

# The veths first: a namespace outlives its name while a closing socket
# holds it, and its end of the veth with it.
netns_teardown() {
    local what
    for what in "${netns_made[@]}"; do
        [[ $what == link:* ]] && ip link del "${what#link:}" 2>/dev/null
    done
    for what in "${netns_made[@]}"; do
        case $what in
        ns:*) ip netns del "${what#ns:}" 2>/dev/null ;;
        link:*) ;;
        esac
    done
    netns_made=()
}

# Whether nothing netns_setup made is left.
netns_gone() {
    ! ip netns list | grep -q "^$netns_prefix" && ! ip -o link show | grep -q ": obn$$"
}

# netns_spawn I CMD...: CMD inside node I's namespace, in the background,
# its pid in spawned_pid. Not netns_exec with &: that backgrounds a
# subshell, whose pid a SIGTERM ends while CMD lives on.
netns_spawn() {
    local i=$1
    shift
    ip netns exec "$netns_prefix$i" "$@" &
    spawned_pid=$!
}

netns_exec() {
    local i=$1
    shift
    ip netns exec "$netns_prefix$i" "$@"
}

# The manifest's endpoints and each node's peer_bind at its own address.
netns_cluster() {
    local dir=$1 base=$2 i
    for i in $(seq 0 $((netns_count - 1))); do
        sed -i "s|tcp://127.0.0.1:$((base + i))\"|tcp://$(netns_ip "$i"):$((base + i))\"|" \
            "$dir/manifest.zpl" "$dir/node$i/node.zpl"
    done
    [[ $(grep -c "tcp://10.99.0." "$dir/manifest.zpl") -eq $netns_count ]] ||
        { echo "netns: cannot set the endpoints in $dir/manifest.zpl" >&2; return 1; }
}

netns_rule() {
    local i=$1 chain=$2
    shift 2
    netns_exec "$i" nft add rule inet obcast "$chain" "$@"
}

netns_cut() {
    local a b
    for a in $1; do
        for b in $2; do
            netns_rule "$a" in ip saddr "$(netns_ip "$b")" drop &&
                netns_rule "$a" out ip daddr "$(netns_ip "$b")" drop &&
                netns_rule "$b" in ip saddr "$(netns_ip "$a")" drop &&
                netns_rule "$b" out ip daddr "$(netns_ip "$a")" drop || return 1
        done
    done
}

netns_loss() {
    local i
    for i in $(seq 0 $((netns_count - 1))); do
        netns_rule "$i" in iifname eth0 numgen random mod 100 "<" "$1" drop || return 1
    done
}

netns_heal() {
    local i
    for i in $(seq 0 $((netns_count - 1))); do
        netns_exec "$i" nft flush table inet obcast || return 1
    done
}

# lock_log CONFIG OUT: every Lock the node reports, as "unix-time sequencer
# height" lines in OUT, until SIGTERM. Runs in the background; its pid is
# in lock_log_pid.
lock_log() {
    : >>"$2"
    python3 -u - "$obcast" "$1" "$2" <<'PY' &
import json, signal, subprocess, sys, time
tail = subprocess.Popen([sys.argv[1], "tail", "--config", sys.argv[2], "--topic", "lock"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
def stop(*_):
    tail.terminate()
    tail.wait()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
with open(sys.argv[3], "a") as out:
    for line in tail.stdout:
        try:
            e = json.loads(line)
            out.write("%.3f %s %s\n" % (time.time(), e["sequencer_name"], e["height"]))
            out.flush()
        except (ValueError, KeyError):
            pass
stop()
PY
    lock_log_pid=$!
}

# resumed LOG SINCE NAMES...: seconds from unix time SINCE until every
# named chain certified a height above all it had before, in LOG; exit 1
# if one did not.
resumed() {
    local log=$1 since=$2
    shift 2
    awk -v since="$since" -v names="$*" '
        BEGIN { n = split(names, want, " ") }
        $1 <= since && $3 + 0 > top[$2] + 0 { top[$2] = $3 }
        $1 > since && !($2 in first) && (!($2 in top) || $3 + 0 > top[$2] + 0) { first[$2] = $1 }
        END {
            worst = 0
            for (i = 1; i <= n; i++) {
                if (!(want[i] in first)) exit 1
                if (first[want[i]] - since > worst) worst = first[want[i]] - since
            }
            printf "%.2f\n", worst
        }' "$log"
}

# load_start CONFIG FLAG COUNT SIZE [OUT]: submits, COUNT payloads at a
# time each waiting for its Locks, while the file FLAG exists; OUT gets
# the unix time of every payload locked, a line each. The loader's pid is
# appended to `loaders`; load_stop FLAG ends them all, submits included.
load_start() {
    local config=$1 flag=$2 count=$3 size=$4 out=${5:-/dev/null}
    (
        while [[ -f $flag ]]; do
            "$obcast" submit --config "$config" --count "$count" --size "$size" --wait locked \
                --timeout 60000 2>/dev/null || sleep 0.5
        done | python3 -u -c '
import sys, time
for line in sys.stdin:
    if line.startswith("locked"):
        print("%.3f" % time.time(), flush=True)' >>"$out"
    ) &
    loaders+=($!)
}

# A process and everything it started, by pid. Its pid must be this
# shell's own child (own_child, lib.sh): a stale one is a stranger's now,
# and so are the children pgrep would find under it.
kill_tree() {
    local child
    for child in $(pgrep -P "$1"); do kill_tree "$child"; done
    kill -TERM "$1" 2>/dev/null
}

load_stop() {
    local pid
    rm -f "$1"
    for pid in "${loaders[@]}"; do own_child "$pid" && kill_tree "$pid"; done
    for pid in "${loaders[@]}"; do wait "$pid" 2>/dev/null; done
    loaders=()
}
