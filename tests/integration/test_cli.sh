#!/usr/bin/env bash
# The obcast CLI's keygen and init, and their bad-input paths: messages,
# exit codes (0 ok, 1 failed, 2 usage) and modes of what they write. TAP.
set -u
obcast=$1
work=$(mktemp -d /tmp/obcast-cli-XXXXXX)
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

check "--version prints the version" '"$obcast" --version | grep -q "^obcast [0-9]"'
check "--help lists the commands" '"$obcast" --help | grep -q "keygen"'
expect "no command" 2 "no command given" --
expect "unknown command" 2 "unknown command 'frob'" -- frob

out=$("$obcast" keygen --curve "$work/c.cert" "$work/k.key")
check "keygen prints the public key" '[[ $out == *"public_key "* && $out == *"curve_key "* ]]'
check "keygen key mode is 0600" '[[ $(stat -c %a "$work/k.key") == 600 ]]'
check "keygen curve secret mode is 0600" '[[ $(stat -c %a "$work/c.cert_secret") == 600 ]]'
expect "keygen refuses to overwrite" 1 "already exists; refusing to overwrite a key" -- keygen "$work/k.key"
expect "keygen into a missing folder" 1 "$work/no/such/k.key" -- keygen "$work/no/such/k.key"
expect "keygen without a file" 2 "give exactly one KEYFILE" -- keygen
expect "keygen unknown option, named once" 2 "obcast keygen: unknown option '--frob'" -- keygen --frob x
check "keygen --help is keygen's own" '"$obcast" keygen --help | head -1 | grep -q "^usage: obcast keygen "'
check "init --help is init's own" '"$obcast" init --help | head -1 | grep -q "^usage: obcast init "'
expect "init errors name 'obcast init'" 2 "obcast init: give N and DIR" -- init
err=$("$obcast" submit --wiat 2>&1 >/dev/null)
check "a misspelt option is one error line and the hint" \
    '[[ $(wc -l <<<"$err") -eq 2 && $err == "obcast submit: unknown option '"'"'--wiat'"'"'"* ]]'
# Every subcommand: a misspelt option is one error line (then the hint), an
# option without its value says so, and the help page gives the exit statuses.
for cmd in keygen init export audit submit fetch tail status ctl metrics; do
    err=$("$obcast" $cmd --wiat 2>&1 >/dev/null)
    check "$cmd: a misspelt option is one error line and the hint" \
        '[[ $(wc -l <<<"$err") -eq 2 && $(head -1 <<<"$err") == "obcast $cmd: unknown option '"'"'--wiat'"'"'" ]]'
done
for cmd_opt in "keygen --curve" "init --host" "submit --wait" "fetch --out" "tail --topic" "status --timeout" "ctl --timeout" "audit --manifest"; do
    err=$("$obcast" $cmd_opt 2>&1 >/dev/null)
    check "${cmd_opt% *}: ${cmd_opt#* } without its value says so" \
        '[[ $(head -1 <<<"$err") == "obcast ${cmd_opt% *}: ${cmd_opt#* } needs a value" ]]'
done
for cmd in keygen init export audit submit fetch tail status ctl; do
    check "$cmd --help gives the exit statuses" '"$obcast" $cmd --help | grep -q "^exit status: 0 "'
done

check "init makes a cluster" '"$obcast" init 4 "$work/c" --sequencers 0-1 >/dev/null'
check "init wrote four node configs" '[[ -f $work/c/node3/node.zpl && -f $work/c/manifest.zpl ]]'
check "init node folders are 0700" '[[ $(stat -c %a "$work/c/node2") == 700 && $(stat -c %a "$work/c/node2/run") == 700 ]]'
check "init keys are 0600" '[[ $(stat -c %a "$work/c/node1/keys/obcast.key") == 600 ]]'
check "init sequencers are as asked" 'grep -q "sequencers = \"node0 node1\"" "$work/c/manifest.zpl"'
check "init validators default to all" 'grep -q "validators = \"node0 node1 node2 node3\"" "$work/c/manifest.zpl"'
check "init gives distinct keys" '[[ $(grep -c "key = " "$work/c/manifest.zpl") == 8 && $(grep " key = " "$work/c/manifest.zpl" | sort -u | wc -l) == 4 ]]'
expect "init refuses an existing cluster" 1 "already exists; refusing to overwrite a cluster" -- init 4 "$work/c"
expect "init N zero" 2 "N must be 1 to 64, not '0'" -- init 0 "$work/d"
expect "init N not a number" 2 "N must be 1 to 64, not 'x'" -- init x "$work/d"
expect "init bad sequencer list" 2 "--sequencers: not a list of node indices below N: '9'" -- init 4 "$work/d" --sequencers 9
expect "init bad validator range" 2 "--validators: not a list" -- init 4 "$work/d" --validators 3-1
expect "init bad port" 2 "--base-port must be 1 to 65000, not 'abc'" -- init 4 "$work/d" --base-port abc
expect "init long namespace" 2 "--namespace must be 1 to 64 bytes" -- init 4 "$work/d" --namespace "$(printf 'n%.0s' {1..65})"
expect "init bad payload limit" 2 "--max-payload must be" -- init 4 "$work/d" --max-payload 0
expect "init without DIR" 2 "give N and DIR" -- init 4
check "init made nothing on refusals" '[[ ! -e $work/d ]]'
# A failure midway (the manifest it wrote does not load: the host breaks
# its syntax) comes after every node's keys were written; none may stay.
mkdir "$work/mid"
expect "init that fails midway says why" 1 "invalid syntax" -- init 2 "$work/mid/c" --host 'a"b'
check "and leaves nothing behind, not even its temporary folder" '[[ -z $(ls -A "$work/mid") ]]'
mkdir -p "$work/full/c/other"
expect "init into a folder holding something else" 1 "$work/full/c: cannot put the cluster there: it exists and is not empty" -- init 2 "$work/full/c"
check "which it leaves as it was, with no temporary folder beside it" '[[ $(ls -A "$work/full") == c && $(ls -A "$work/full/c") == other ]]'
mkdir "$work/empty"
check "init into an empty folder fills it" '"$obcast" init 1 "$work/empty" >/dev/null && [[ -f $work/empty/manifest.zpl && $(stat -c %a "$work/empty") == 755 ]]'

# obcast submit holds payloads to the manifest's max_payload (no node needed:
# it refuses before connecting).
"$obcast" init 1 "$work/small" --max-payload 1000 >/dev/null
small=$work/small/node0/node.zpl
expect "submit --size over the manifest's max_payload names it and the manifest" 2 \
    "obcast submit: --size 1001 is larger than the cluster's max_payload 1000 (manifest $work/small/node0/../manifest.zpl)" \
    -- submit --config "$small" --count 2 --size 1001
head -c 1001 /dev/zero >"$work/big.bin"
expect "submit of a FILE over max_payload too" 1 \
    "obcast submit: $work/big.bin: 1001 bytes, larger than the cluster's max_payload 1000 (manifest " \
    -- submit --config "$small" "$work/big.bin" --timeout 300
check "submit --help says --count alone makes 256-byte payloads" '"$obcast" submit --help | grep -q -- "--count alone makes them 256 bytes"'

# obcast fetch's failures that need no running node: all exit 2, naming
# what was wrong (1 is kept for "no peer has it": test_fetch.sh).
node0=$work/c/node0/node.zpl
expect "fetch without --config" 2 "give --config NODE.zpl" -- fetch node0 1
expect "fetch without HEIGHT" 2 "give SEQUENCER and HEIGHT (1 arguments given)" -- fetch --config "$node0" node0
expect "fetch bad HEIGHT" 2 "HEIGHT must be a whole number, not '1x'" -- fetch --config "$node0" node0 1x
expect "fetch bad timeout" 2 "--timeout-ms must be 1 to 86400000, not '0'" -- fetch --config "$node0" node0 1 --timeout-ms 0
expect "fetch missing config" 2 "$work/none.zpl" -- fetch --config "$work/none.zpl" node0 1
expect "fetch bad SEQUENCER" 2 "SEQUENCER 'node9' is neither a key (64 hex digits) nor a node of the manifest" -- fetch --config "$node0" node9 1
expect "fetch from a node that is not up" 2 "is the node up?" -- fetch --config "$node0" node1 3 --timeout-ms 300
check "fetch wrote no file when it failed" '! "$obcast" fetch --config "$node0" node1 3 --timeout-ms 300 --out "$work/got" 2>/dev/null && [[ ! -e $work/got ]] && ! ls "$work"/got.* 2>/dev/null'

echo "1..$n"
exit $((fails > 0))
