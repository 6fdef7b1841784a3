#!/usr/bin/env bash
# The integration scripts' own helpers (lib.sh): stopping what a test
# started must never reach a process it did not start, even when a pid it
# kept has since been reused. TAP.
set -u
work=$(mktemp -d /tmp/obcast-lib-XXXXXX)
source "$(dirname "$0")/lib.sh"
trap finish EXIT
trap 'exit 1' INT TERM

# A stranger: a process whose parent is not this shell, as a reused pid
# is. setsid, backgrounded inside a subshell, gives it another parent.
( setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $! >"$work/stranger" )
stranger=$(cat "$work/stranger")
sleep 30 &
mine=$!
check "own_child knows this shell's child ($mine)" 'own_child "$mine"'
check "and not a stranger ($stranger)" '! own_child "$stranger"'
check "nor a pid that is no number" '! own_child "1 2" && ! own_child ""'

# stop_pids with a kept pid that now names the stranger.
pids=("$mine" "$stranger")
stop_pids
check "stop_pids ended this shell's child" '! kill -0 "$mine" 2>/dev/null'
check "and left the stranger alone" 'kill -0 "$stranger" 2>/dev/null'
signal_child KILL "$stranger"
check "signal_child leaves it alone too" 'kill -0 "$stranger" 2>/dev/null'
kill -KILL "$stranger" 2>/dev/null

# A child that exited and was reaped: its pid is no child any more.
true &
gone=$!
wait "$gone"
check "a reaped child's pid is not own_child" '! own_child "$gone"'

echo "1..$n"
[[ $fails -eq 0 ]]
