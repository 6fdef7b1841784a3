#!/usr/bin/env bash
# Prometheus, the way Prometheus scrapes: each supervisor of a 4-node
# cluster serves GET /metrics on its metrics_http address; the text is
# exposition format 0.0.4 (# HELP and # TYPE on every family, counters
# named _total, histograms), another path is a 404, and `obcast metrics`
# prints the same families. A real Prometheus server scrapes the four
# every second: through its query API, every node's certificate rate is
# positive under load, and a verifier killed with SIGKILL shows as a
# restart (cause "crash") of that verifier, as an operator's restart
# (cause "request") and a hung actor (cause "hung") do. TAP.
#
#   test_prometheus.sh BUILD_ACTORS_DIR
set -u
bin=$1
obcast=$bin/obcast
work=$(mktemp -d /tmp/obcast-prom-XXXXXX)
source "$(dirname "$0")/lib.sh"
trap finish EXIT
trap 'exit 1' INT TERM

if ! command -v prometheus >/dev/null; then
    echo "1..0 # SKIP no prometheus binary (Debian package prometheus, scripts/install-deps)"
    exit 0
fi

# 4 peer ports, 4 metrics ports, Prometheus's own.
base=$(free_base 9)
prom_port=$((base + 8))
check "init a 4-node cluster" '"$obcast" init 4 "$work/c" --base-port $base >"$work/init.log" 2>&1'
for i in 0 1 2 3; do
    sed -i "s|^    peer_bind = \(.*\)|    peer_bind = \1\n    metrics_http = \"127.0.0.1:$((base + 4 + i))\"|" \
        "$work/c/node$i/node.zpl"
done
for i in 0 1 2 3; do
    "$bin/obcast-node" --config "$work/c/node$i/node.zpl" >"$work/node$i.log" 2>&1 &
    pids+=($!)
done
check "every node reached all its peers" 'wait_mesh "$bin" "$work"/c/node*/node.zpl'

# GET PATH of node I: "STATUS\nBODY" (python: no curl needed).
http_get() {
    python3 - "http://127.0.0.1:$1$2" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        print(r.status)
        print(r.headers.get("Content-Type"))
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code)
    print(e.headers.get("Content-Type"))
PY
}

# Every family under # HELP then # TYPE, once, samples contiguous and
# named by it (histograms: _bucket with +Inf, _sum, _count), counters
# ending in _total. Prints what is wrong, nothing when it is right.
check_exposition() {
    python3 -c '
import re, sys
text = sys.stdin.read()
seen, fam, kind, helped, bad, inf = set(), None, None, None, [], set()
for line in text.splitlines():
    m = re.match(r"# HELP (\S+) \S", line)
    if m:
        helped = m.group(1)
        if helped in seen: bad.append("family twice: " + helped)
        seen.add(helped)
        continue
    m = re.match(r"# TYPE (\S+) (counter|gauge|histogram)$", line)
    if m:
        if m.group(1) != helped: bad.append("TYPE without its HELP: " + line)
        fam, kind = m.group(1), m.group(2)
        continue
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\d+)$", line)
    if not m: bad.append("not a sample: " + line); continue
    name = m.group(1)
    ok = name == fam
    if kind == "histogram":
        ok = name in (fam + "_bucket", fam + "_sum", fam + "_count")
        if "le=\"+Inf\"" in (m.group(2) or ""): inf.add(fam)
    if kind == "counter": ok = ok and fam.endswith("_total")
    if not ok: bad.append("sample %s under %s %s" % (line, kind, fam))
hist = set(re.findall(r"# TYPE (\S+) histogram", text))
bad += ["histogram without +Inf: " + h for h in hist - inf]
if len(seen) < 20: bad.append("only %d families" % len(seen))
for want in ("obcast_journal_certificates_total", "obcast_supervisor_actors_up",
             "obcast_supervisor_actors_restarts_total",
             "obcast_supervisor_actors_last_restart_seconds"):
    if want not in seen: bad.append("no family " + want)
if not hist: bad.append("no histogram")
print("\n".join(bad[:5]))'
}

# The supervisor renders its text each second, once it has heard its actors.
for _ in $(seq 50); do
    http_get $((base + 4)) /metrics >"$work/metrics0.http"
    grep -q '^obcast_net_' "$work/metrics0.http" && grep -q '^obcast_journal_' "$work/metrics0.http" && break
    sleep 0.2
done
check "node0 answers GET /metrics: 200, text/plain version 0.0.4" \
    '[[ $(sed -n 1p "$work/metrics0.http") == 200 && $(sed -n 2p "$work/metrics0.http") == *"version=0.0.4"* ]]'
problems=$(tail -n +3 "$work/metrics0.http" | check_exposition)
check "node0's /metrics: HELP and TYPE on every family, _total counters, histograms${problems:+ ($problems)}" \
    '[[ -z $problems ]]'
check "every actor of node0 up in its /metrics" \
    '[[ $(grep -c "^obcast_supervisor_actors_up{node=\"node0\",instance=\"0\",actor=\"[a-z]*/[0-9]*\"} 1$" "$work/metrics0.http") -eq 4 ]]'
check "another path is a 404" '[[ $(http_get $((base + 4)) /other | head -1) == 404 ]]'
"$obcast" metrics --config "$work/c/node0/node.zpl" >"$work/obcast-metrics.txt" 2>"$work/obcast-metrics.log"
problems=$(check_exposition <"$work/obcast-metrics.txt")
check "obcast metrics prints the same exposition${problems:+ ($problems)}" '[[ -z $problems ]]'
check "obcast metrics shows the restarts" \
    'grep -q "^obcast_supervisor_actors_restarts_total{node=\"node0\",instance=\"0\",actor=\"verifier/0\",cause=\"crash\"} 0$" "$work/obcast-metrics.txt"'

# A real Prometheus, scraping the four every second.
cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: obcast
    static_configs:
      - targets: ['127.0.0.1:$((base + 4))', '127.0.0.1:$((base + 5))', '127.0.0.1:$((base + 6))', '127.0.0.1:$((base + 7))']
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)

# QUERY: the number of series in its result (-1 if Prometheus did not answer).
prom_count() {
    python3 - "$prom_port" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(sys.argv[2]))
try:
    with urllib.request.urlopen(url, timeout=5) as r:
        answer = json.load(r)
    print(len(answer["data"]["result"]) if answer.get("status") == "success" else -1)
except Exception:
    print(-1)
PY
}
# Waits (up to 60 s) until QUERY has at least WANT series.
prom_wait() {
    local got
    for _ in $(seq 120); do
        got=$(prom_count "$1")
        [[ $got -ge $2 ]] && return 0
        sleep 0.5
    done
    return 1
}
check "Prometheus scrapes all four targets" 'prom_wait "up{job=\"obcast\"} == 1" 4'

for s in 0 1 2 3; do
    "$obcast" submit --config "$work/c/node$s/node.zpl" --count 100000 --size 200 \
        --timeout 120000 >"$work/submit$s.out" 2>"$work/submit$s.log" &
    pids+=($!)
done
check "Prometheus: rate(obcast_journal_certificates_total[5s]) is positive on every node" \
    'prom_wait "sum by (node) (rate(obcast_journal_certificates_total[5s])) > 0" 4'
check "Prometheus: a p99 from every node's latency histogram buckets" \
    'prom_wait "histogram_quantile(0.99, sum by (node, le) (rate(obcast_journal_proposal_to_certificate_latency_bucket[5s]))) > 0" 4'

victim=$(pgrep -f "obcast-verifier --config $work/c/node1/node.zpl" | head -1)
check "node1's verifier killed with SIGKILL (pid ${victim:-none})" '[[ -n $victim ]] && kill -KILL "$victim"'
check "Prometheus: node1's verifier restart counted, cause crash" \
    'prom_wait "obcast_supervisor_actors_restarts_total{node=\"node1\",actor=\"verifier/0\",cause=\"crash\"} >= 1" 1'
check "Prometheus: node1's verifier up again" \
    'prom_wait "obcast_supervisor_actors_up{node=\"node1\",actor=\"verifier/0\"} == 1 and obcast_supervisor_actors_last_restart_seconds{node=\"node1\",actor=\"verifier/0\"} > 0" 1'
# The other causes: an operator's restart, and a hang (SIGSTOP: alive,
# silent; the supervisor kills it after 5 s without a heartbeat).
check "obcast ctl restart-actor signer on node2" \
    '"$obcast" ctl --config "$work/c/node2/node.zpl" restart-actor signer >"$work/ctl.log" 2>&1'
check "Prometheus: node2's signer restart counted, cause request" \
    'prom_wait "obcast_supervisor_actors_restarts_total{node=\"node2\",actor=\"signer/0\",cause=\"request\"} >= 1" 1'
hung=$(pgrep -f "obcast-verifier --config $work/c/node3/node.zpl" | head -1)
check "node3's verifier stopped with SIGSTOP (pid ${hung:-none})" '[[ -n $hung ]] && kill -STOP "$hung"'
check "Prometheus: node3's verifier restart counted, cause hung" \
    'prom_wait "obcast_supervisor_actors_restarts_total{node=\"node3\",actor=\"verifier/0\",cause=\"hung\"} >= 1" 1'
check "no other restart counted (node0 none, and only those causes)" \
    '[[ $(prom_count "obcast_supervisor_actors_restarts_total > 0") -eq 3 ]]'

dump_metrics "$bin" "$work"/c/node*/node.zpl
echo "1..$n"
[[ $fails -eq 0 ]]
