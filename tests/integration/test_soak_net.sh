#!/usr/bin/env bash
# scripts/soak-net --short under scripts/test (issue 12): four nodes in
# network namespaces (root only) through halves and a restarted minority
# cut, then 10% and 30% loss, a few seconds each; no timing judged,
# the figures printed. TAP: one test, soak-net's lines as comments.
#
#   test_soak_net.sh BUILD_ACTORS_DIR
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$("$root/scripts/soak-net" --short --bin "$1" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
if [[ $rc -eq 0 ]]; then echo "ok 1 - soak-net --short passed"; else
    echo "not ok 1 - soak-net --short failed (exit $rc): $(echo "$out" | grep -m 3 'FAIL' | tr '\n' ' ')"
fi
echo "1..1"
[[ $rc -eq 0 ]]
