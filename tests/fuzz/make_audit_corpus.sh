#!/usr/bin/env bash
# Writes the seeds of the audit target from a real cluster: obcast init
# (4 nodes, nodes 0 and 1 sequence), one obcast-node --inproc per node,
# payloads submitted until locked, then each node's export (node0's with
# --data too) into tests/fuzz/corpus/audit/, and the cluster's manifest to
# tests/fuzz/audit.zpl (public keys only; the target audits against it).
# Beside them, a few seeds the real ones do not show: two files (split by
# a NUL byte), a line cut short, a conflicting payload.
#
#   tests/fuzz/make_audit_corpus.sh BUILD_DIR    (BUILD_DIR/actors has obcast)
#
# Every node it starts is stopped, also when it fails.
# lib.sh is written for scripts without -e.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$(cd "${1:?usage: make_audit_corpus.sh BUILD_DIR}/actors" && pwd) || exit 2
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-audit-corpus-XXXXXX)
source "$here/../integration/lib.sh"
trap finish EXIT
trap 'exit 1' INT TERM

base=$(free_base)
"$obcast" init 4 "$work/c" --base-port "$base" --sequencers 0-1 >/dev/null || exit 1
# Small batches, so that chains have several heights and parents.
sed -i 's|^    peer_bind = \(.*\)|    peer_bind = \1\n    batch_bytes = 300|' "$work"/c/node*/node.zpl
for i in 0 1 2 3; do
    "$bin/obcast-node" --inproc --config "$work/c/node$i/node.zpl" >"$work/node$i.log" 2>&1 &
    pids+=($!)
done
wait_mesh "$bin" "$work"/c/node*/node.zpl || { fails=1; echo "make_audit_corpus: no mesh" >&2; exit 1; }
for s in 0 1; do
    "$obcast" submit --config "$work/c/node$s/node.zpl" --count 6 --size 100 --wait locked \
        --timeout 60000 >"$work/submit$s.out" 2>"$work/submit$s.log" || { fails=1; exit 1; }
done
sleep 1 # the last Locks spread
out=$here/corpus/audit
rm -rf "$out"
mkdir -p "$out"
for i in 0 1 2 3; do
    "$obcast" export --config "$work/c/node$i/node.zpl" --out "$out/export-node$i" || exit 1
done
"$obcast" export --config "$work/c/node0/node.zpl" --data --out "$out/export-node0-data" || exit 1
stop_pids
cp "$work/c/manifest.zpl" "$here/audit.zpl" || exit 1
"$obcast" audit --manifest "$here/audit.zpl" "$out"/export-node* || exit 1

# Two files at once, split by a NUL byte.
{ cat "$out/export-node0"; printf '\0'; cat "$out/export-node1"; } >"$out/two-files"
# The first line cut in half; a line whose payload another line certifies
# differently (an S3 conflict, which the signatures then refuse).
head -c "$(($(head -n 1 "$out/export-node2" | wc -c) / 2))" "$out/export-node2" >"$out/cut-line"
sed '1s/"payload":"\(.\)/"payload":"f/' "$out/export-node3" >"$out/changed-payload"
wc -l "$out"/* | tail -n 1
