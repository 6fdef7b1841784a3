#!/usr/bin/env bash
# obcast export and obcast audit on bad input: every error is one line on
# stderr naming the file (and line), with exit 1 for a failed command and 2
# for bad usage. The checks on real certificates are in
# tests/unit/test_inspect.c; these run the built program. TAP.
set -u
obcast=$1
work=$(mktemp -d /tmp/obcast-audit-XXXXXX)
trap 'rm -rf "$work"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

# expect NAME CODE PATTERN -- ARGS...: exit code and a stderr pattern
expect() {
    local name=$1 code=$2 pattern=$3
    shift 4
    local err
    err=$("$obcast" "$@" 2>&1 >/dev/null)
    local rc=$?
    if [[ $rc -eq $code && $err == *"$pattern"* ]]; then ok "$name"; else
        not_ok "$name (exit $rc, stderr: $err)"
    fi
}

"$obcast" init 4 "$work/c" --sequencers 0-1 >/dev/null || { echo "Bail out! init failed"; exit 1; }
m=$work/c/manifest.zpl
key0=$(sed -n 's/^ *key = "\([0-9a-f]*\)"/\1/p' "$m" | head -1)
zero=$(printf '0%.0s' {1..64})

# --- usage -------------------------------------------------------------------
check "audit --help shows the usage" '"$obcast" audit --help | grep -q "^usage: obcast audit"'
check "--help lists export and audit" '"$obcast" --help | grep -q "export --config" && "$obcast" --help | grep -q "audit --manifest"'
expect "audit without a manifest" 2 "obcast audit: give --manifest MANIFEST" -- audit x.jsonl
expect "audit without files" 2 "give at least one EXPORT file" -- audit --manifest "$m"
expect "audit unknown option" 2 "unknown option '--frob'" -- audit --frob --manifest "$m" x
expect "audit --manifest without a value" 2 "--manifest needs a value" -- audit x --manifest
expect "audit missing manifest" 1 "$work/none.zpl" -- audit --manifest "$work/none.zpl" x
expect "audit missing export is an I/O error (exit 3)" 3 "$work/none.jsonl: cannot open: No such file or directory" -- audit --manifest "$m" "$work/none.jsonl"
err=$("$obcast" audit --manifest "$m" "$work/none.jsonl" 2>&1 >/dev/null)
check "and is not counted as a violation" '[[ $err != *"1 violations"* && $(tail -1 <<<"$err") == "audit: 1 files: 1 could not be read, 0 violations in the rest" ]]'
expect "audit of a folder is an I/O error too" 3 "$work: cannot read: Is a directory" -- audit --manifest "$m" "$work"
check "audit --help gives the I/O exit status" '"$obcast" audit --help | grep -q "3 an EXPORT could not be opened or read"'

# --- a good (empty) export, alone and from stdin -----------------------------
: >"$work/empty.jsonl"
check "audit accepts an empty export" '[[ $("$obcast" audit --manifest "$m" "$work/empty.jsonl") == "audit: 1 files, 0 certified chunks, 0 sequencers: ok" ]]'
check "audit reads - as stdin" '[[ $("$obcast" audit --manifest "$m" - <"$work/empty.jsonl") == "audit: 1 files, 0 certified chunks, 0 sequencers: ok" ]]'

# --- malformed lines: FILE:LINE: what, one line each -------------------------
good="{\"sequencer\":\"$key0\",\"height\":0,\"payload\":\"$zero\",\"epoch\":1,\"certificate\":\"0000\"}"
bad() { # NAME LINE PATTERN: line 2 of a file is LINE
    local f=$work/bad.jsonl
    printf '%s\n%s\n' "$good" "$2" >"$f"
    expect "$1" 1 "$f:2: $3" -- audit --manifest "$m" --allow-gaps "$f"
}
bad "not JSON" 'hello' "not JSON: '[' or '{' expected near 'hello'"
bad "truncated object" "{\"sequencer\":\"$key0\"," "not JSON: string or '}' expected near end of file"
bad "unknown field" "{\"sequencer\":\"$key0\",\"colour\":1}" "unknown field 'colour'"
bad "missing field" "{\"sequencer\":\"$key0\",\"height\":1,\"payload\":\"$zero\",\"epoch\":1}" "missing field 'certificate'"
bad "uppercase hex" "{\"sequencer\":\"${key0^^}\"}" "sequencer: not lowercase hex"
bad "short key" "{\"sequencer\":\"abcd\"}" "sequencer: must be 64 hex digits, not 4"
bad "negative height" "{\"height\":-1}" "height: expected a number"
bad "trailing text" "$good," "not JSON: end of file expected near ','"
bad "an array" "[$good]" "expected a JSON object"
bad "empty line" "" "empty line"
bad "unknown epoch" "${good/\"epoch\":1/\"epoch\":5}" "S4: unknown_epoch: the certificate of node0 height 0 is of epoch 5"
bad "unknown sequencer" "${good/$key0/$(sed -n 's/^ *key = "\([0-9a-f]*\)"/\1/p' "$m" | sed -n 3p)}" "S4: unknown_sequencer: the certificate of node2 height 0: node2 is not a sequencer of epoch 1"

# --- another cluster's export: said once, not once per chunk -----------------
"$obcast" init 2 "$work/other" >/dev/null
other=$(sed -n 's/^ *key = "\([0-9a-f]*\)"/\1/p' "$work/other/manifest.zpl" | head -1)
for h in 0 1 2 3 4; do printf '%s\n' "${good/$key0/$other}" | sed "s/\"height\":0/\"height\":$h/"; done >"$work/other.jsonl"
err=$("$obcast" audit --manifest "$m" "$work/other.jsonl" 2>&1 >/dev/null)
rc=$?
check "the wrong cluster's manifest: one line naming it, then the summary (exit $rc)" \
    '[[ $rc -eq 1 && $(wc -l <<<"$err") -eq 2 && $(head -1 <<<"$err") == "$work/other.jsonl: unknown_sequencer: 5 certificates are of sequencers that are not nodes of this manifest (the first: $other)"* && $(tail -1 <<<"$err") == "audit: 1 files: 5 violations" ]]'

# --- S4, and contiguity -------------------------------------------------------
printf '%s\n' "$good" >"$work/s4.jsonl"
expect "an empty certificate is below quorum" 1 "$work/s4.jsonl:1: S4: below_quorum" -- audit --manifest "$m" "$work/s4.jsonl"
printf '%s\n' "${good/\"certificate\":\"0000\"/\"certificate\":\"00\"}" >"$work/short.jsonl"
expect "a cut certificate does not decode" 1 "$work/short.jsonl:1: S4: short" -- audit --manifest "$m" "$work/short.jsonl"
printf '%s\n' "${good/\"height\":0/\"height\":2}" >"$work/gap.jsonl"
expect "a chain must start at 0" 1 "$work/gap.jsonl: gap: node0 heights 0 to 1" -- audit --manifest "$m" "$work/gap.jsonl"
err=$("$obcast" audit --manifest "$m" "$work/gap.jsonl" 2>&1 >/dev/null)
check "each violation is one line, then the summary" '[[ $(printf "%s\n" "$err" | wc -l) == 3 && $(printf "%s\n" "$err" | tail -1) == "audit: 1 files: 2 violations" ]]'
err=$("$obcast" audit --manifest "$m" --allow-gaps "$work/gap.jsonl" 2>&1 >/dev/null)
check "--allow-gaps skips contiguity" '[[ $err != *gap:* && $err == *below_quorum* ]]'

# --- export --------------------------------------------------------------------
check "export --help shows the usage" '"$obcast" export --help | grep -q "^usage: obcast export"'
expect "export without --config" 2 "obcast export: give --config NODE.zpl" -- export
expect "export unknown option" 2 "obcast export: unknown option '--frob'" -- export --frob
expect "export unexpected argument" 2 "obcast export: unexpected argument 'frob'" -- export --config x frob
check "export --help gives the exit statuses" '"$obcast" export --help | grep -q "^exit status: 0 ok, 1 "'
expect "export --out without a value" 2 "--out needs a value" -- export --config "$work/c/node0/node.zpl" --out
expect "export missing config" 1 "$work/none.zpl" -- export --config "$work/none.zpl"
expect "export without a journal" 1 "obcast export: journal database $work/c/node0/data/journal.db: No such file or directory" -- export --config "$work/c/node0/node.zpl"
check "export made no journal.db" '[[ ! -e $work/c/node0/data/journal.db ]]'
expect "export --out into a missing folder" 1 "$work/no/x.jsonl.partial: cannot create" -- export --config "$work/c/node0/node.zpl" --out "$work/no/x.jsonl"

echo "1..$n"
exit $((fails > 0))
