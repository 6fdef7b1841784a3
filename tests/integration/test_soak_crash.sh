#!/usr/bin/env bash
# The short crash soak (issue 12): scripts/soak-crash for 20 s of faults on
# this build's binaries, node3's disk filled once; its summary as TAP.
#
#   test_soak_crash.sh BUILD_ACTORS_DIR
set -u
bin=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp /tmp/obcast-soak-crash-test-XXXXXX.log)
trap 'rm -f "$out"' EXIT
trap 'exit 1' INT TERM
"$root/scripts/soak-crash" --bin "$bin" --calm 8 --disk-full-for 4 20 >"$out" 2>&1
rc=$?
sed 's/^/# /' "$out"
n=0
fails=0
check() {
    n=$((n + 1))
    if grep -qE "$2" "$out"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails + 1)); fi
}
check "faults of every kind were injected" 'soak-crash: ran .* faults \(actor [0-9]+, disk-full 1, hang [0-9]+, node [0-9]+, restart [0-9]+, supervisor [0-9]+\)'
check "every payload locked: none lost" 'soak-crash: payloads: [1-9][0-9]* submitted .* 0 lost$'
check "node3 named its full disk" 'disk full on node3: 1 times, the error named in its log 1 times'
check "every node's Locks contiguous to every chain's top" "every node's Locks contiguous"
check "the audit, signer histories included, passed" 'soak-crash: audit: audit: 4 files, .* 4 signer histories .*: ok'
check "0 violations" '^soak-crash: violations: 0$'
n=$((n + 1))
if [[ $rc -eq 0 ]] && grep -q '^soak-crash: PASS$' "$out"; then echo "ok $n - soak-crash passed"; else echo "not ok $n - soak-crash exited $rc"; fails=$((fails + 1)); fi
echo "1..$n"
[[ $fails -eq 0 ]]
