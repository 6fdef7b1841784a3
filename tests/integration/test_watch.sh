#!/usr/bin/env bash
# obcast watch in a real terminal (tmux, issue 13): the screen shows every
# sequencer's certified height and rate, latency, actors with their state
# and restarts, and peers; a restarted actor shows on it; q quits with
# status 0 and gives the terminal back. TAP.
#
#   test_watch.sh BUILD_ACTORS_DIR
set -u
bin=$1
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-watch-XXXXXX)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_netns.sh" # load_start, load_stop (no namespace here)
loaders=()
tmux_socket=obcast-watch-$$
tm() { tmux -L "$tmux_socket" "$@"; }
trap 'load_stop "$work/load-on"; tm kill-server 2>/dev/null; finish' EXIT
trap 'exit 1' INT TERM
command -v tmux >/dev/null || { echo "1..1"; echo "not ok 1 - tmux is installed (scripts/install-deps)"; exit 1; }

base=$(free_base 4)
"$obcast" init 4 "$work/c" --base-port "$base" >/dev/null
cfg=$work/c/node0/node.zpl
for i in 0 1 2 3; do
    "$bin/obcast-node" --config "$work/c/node$i/node.zpl" >"$work/node$i.log" 2>&1 &
    pids+=($!)
done
check "the cluster is up" 'wait_mesh "$bin" "$work"/c/node*/node.zpl'
# A terminal of 110 x 50, watch inside it; the pane stays after watch
# exits, so that its exit status can be read.
tm -f /dev/null new-session -d -s watch -x 110 -y 50
tm set-window-option -t watch remain-on-exit on
# Its exit status through a file: tmux 3.3's #{pane_dead_status} is at
# times empty for a pane that exited 0.
tm respawn-pane -k -t watch "$obcast watch --config $cfg; echo \$? >$work/watch.rc"
# screen: what the terminal shows now.
screen() { tm capture-pane -p -t watch >"$work/screen.txt"; }
# until_screen PATTERN...: one screen shows every PATTERN, within 20 s
# (rows appear as their first events come).
until_screen() {
    local pattern all
    for _ in $(seq 100); do
        screen
        all=1
        for pattern in "$@"; do grep -Eq "$pattern" "$work/screen.txt" || all=0; done
        [[ $all -eq 1 ]] && return 0
        sleep 0.2
    done
    return 1
}
check "the screen names the node and its epoch" 'until_screen "^obcast watch: node node0, epoch 1"'
# A steady load on two chains while the screen is watched.
touch "$work/load-on"
for s in 0 1; do load_start "$work/c/node$s/node.zpl" "$work/load-on" 5 64; done
check "node0's and node1's chains show a certified height" \
    'until_screen "^node0 +[1-9][0-9]* " "^node1 +[1-9][0-9]* "'
check "the latency of node0's own chain, p50 and p99" \
    'until_screen "^LATENCY .*p50 [0-9.]+ ms  p99 [0-9.]+ ms"'
check "every actor is up, none restarted" \
    'until_screen "^verifier 0 +up +0 " "^journal 0 +up +0 " "^signer 0 +up +0 " "^net 0 +up +0 "'
check "its three peers are connected" \
    'until_screen "^node1 +connected" "^node2 +connected" "^node3 +connected"'
check "drops by error name (none yet)" 'grep -A1 "^DROPS" "$work/screen.txt" | grep -q "(none)"'
"$obcast" ctl --config "$cfg" restart-actor verifier >/dev/null
check "the restarted verifier shows its restart, and is up again" 'until_screen "^verifier 0 +up +1 "'
kill -9 "$(pgrep -f "obcast-net --config $cfg" | head -1)" 2>/dev/null
check "a killed net shows a restart too" 'until_screen "^net 0 +up +1 "'
check "the rate column has figures" 'until_screen "^node0 +[0-9]+ +[0-9]+\.[0-9] "'
load_stop "$work/load-on"
tm send-keys -t watch q
for _ in $(seq 50); do
    [[ $(tm display-message -p -t watch "#{pane_dead}") == 1 ]] && break
    sleep 0.1
done
status=$(cat "$work/watch.rc" 2>/dev/null)
check "q quits, with status 0 (status '$status')" '[[ $status == 0 ]]'
screen
check "the terminal is given back (no view left on it)" '! grep -q "^SEQUENCER" "$work/screen.txt"'
"$obcast" watch --config "$cfg" --frames 3 >"$work/frames.txt"
check "not on a terminal, --frames 3 prints three plain screens, the last with the node" \
    '[[ $(grep -c "^obcast watch: " "$work/frames.txt") -eq 3 ]] && [[ $(grep -c "^obcast watch: node node0" "$work/frames.txt") -eq 3 ]] && ! grep -q $'"'"'\033'"'"' "$work/frames.txt"'
expect "watch takes no stray argument" 2 "unexpected argument 'x'" -- watch --config "$cfg" x
expect "watch --interval is bounded" 2 "--interval must be 100 to 60000 ms" -- watch --config "$cfg" --interval 5
check "watch --help gives the exit statuses" '"$obcast" watch --help | grep -q "^exit status: 0 quit, 1 "'
echo "1..$n"
[[ $fails -eq 0 ]]
