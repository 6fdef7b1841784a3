#!/usr/bin/env bash
# scripts/soak-net --short under scripts/test (issue 12): four nodes in
# network namespaces (root only) through halves and a restarted minority
# cut, then 10% and 30% loss, a few seconds each; no timing judged,
# the figures printed. TAP: one test, soak-net's lines as comments, each
# as it comes (a run cut short still shows how far it got).
#
#   test_soak_net.sh BUILD_ACTORS_DIR
#
# soak-net gets SIGTERM after S_BUDGET seconds, short of meson's timeout,
# so that its own cleanup removes every namespace, veth and bridge it made.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
budget=${S_BUDGET:-200}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout -s TERM -k 30 "$budget" "$root/scripts/soak-net" --short --bin "$1" 2>&1 |
    tee "$log" | sed -u 's/^/# /'
rc=${PIPESTATUS[0]}
if [[ $rc -eq 0 ]]; then echo "ok 1 - soak-net --short passed"; else
    why=$([[ $rc -eq 124 ]] && echo "stopped after $budget s; " || true)
    echo "not ok 1 - soak-net --short failed (exit $rc): $why$(grep -m 3 'FAIL' "$log" | tr '\n' ' ')"
fi
echo "1..1"
[[ $rc -eq 0 ]]
