#!/usr/bin/env bash
# make demo: the whole pipeline on embedded defaults, in under a minute.
#   a throwaway redis-server on a free loopback port
#   engaged with its embedded Kafka broker
#   a synthetic stream from engaged-gen: thousands of creators over every
#   tier, thirty days of event time compressed into seconds, with five
#   stories: a mega-influencer whose engagement collapses (decay fires, then
#   resolves), a creator paid by two beverage brands ten days apart
#   (conflict), a macro creator crossing a million followers (tier change),
#   a micro creator liked by a pod for an hour (spike fires, then
#   resolves), a micro creator gaining 10,000 followers at once (jump), a
#   mid creator posting only sponsored posts for 8 days (saturation)
# each alert printed as it fires, then the per-tier metrics read back from
# Redis, and everything cleaned up.  With DEMO_KEEP=1 (make demo KEEP=1)
# engaged keeps running after that, with the campaign page at the address
# printed, until Ctrl-C.
set -euo pipefail

BUILD=${1:-build}
EVENTS=${DEMO_EVENTS:-200000}
CREATORS=${DEMO_CREATORS:-5000}
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

work=$(mktemp -d /tmp/engaged-demo.XXXXXX)
redis_pid= engaged_pid=
tail_pid=
cleanup() {
    [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null || true
    [ -n "$engaged_pid" ] && kill "$engaged_pid" 2>/dev/null && wait "$engaged_pid" 2>/dev/null || true
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
    rm -rf "$work"
}
# A signal exits, and the exit runs cleanup once.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
http_port=$(free_port)
say "starting a throwaway redis-server on 127.0.0.1:$port"
# Both servers in sessions of their own: a Ctrl-C at the terminal reaches
# this script only, which stops them in order (engaged's final checkpoint
# needs Redis).
setsid redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$work" --logfile "$work/redis.log" &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$port" ping >/dev/null

cat > "$work/engaged.conf" <<CONF
[kafka]
bootstrap.servers = embedded
embedded.bootstrap_file = $work/bootstrap
embedded.partitions = 4

[redis]
port = $port

[http]
listen = 127.0.0.1:$http_port

[conflict]
brand.pepsi = beverages
brand.coca-cola = beverages

[checkpoint]
interval_ms = 500

[log]
level = notice
CONF

say "starting engaged with its embedded Kafka broker (log: engaged.log)"
setsid "$BUILD/engaged" -c "$work/engaged.conf" 2> "$work/engaged.log" &
engaged_pid=$!

# Alerts, one readable line each, as engaged logs them.
tail -n +1 -F "$work/engaged.log" 2>/dev/null |
    sed -un 's/^<5>alert \([a-z]*\) \([a-z_]*\) \([a-z]*\): \(.*\) alert_id=\(.*\)/    ALERT \1 \3 \2: \4 (id \5)/p' &
tail_pid=$!

# Thirty days ending now: the daemon refuses events from the future.
start=$(date -u -d '30 days ago' +%Y-%m-%dT00:00:00Z)
say "producing $EVENTS events for $CREATORS creators and six stories, 30 days of event time from $start"
produced=$("$BUILD/engaged-gen" --bootstrap-file "$work/bootstrap" -n "$EVENTS" \
    -c "$CREATORS" --days 30 --start "$start" --seed 42 --stories -q 2>&1 |
    sed -n 's/^produced \([0-9]*\) events.*/\1/p')
[ -n "$produced" ] || { echo "engaged-gen failed"; exit 1; }
EVENTS=$produced

say "waiting for engaged to checkpoint every event into Redis"
consumed() { redis-cli -p "$port" hvals eng:offsets:engaged | awk '{s+=$1} END {print s+0}'; }
deadline=$((SECONDS + 45))
while [ "$(consumed)" -lt "$EVENTS" ]; do
    if ! kill -0 "$engaged_pid" 2>/dev/null; then
        echo "engaged exited; its log:"; cat "$work/engaged.log"; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
        echo "timed out: $(consumed) of $EVENTS events checkpointed; log:"
        tail -20 "$work/engaged.log"; exit 1
    fi
    sleep 0.2
done
sleep 0.3; kill "$tail_pid" 2>/dev/null || true
say "all $EVENTS events are in Redis"

echo
fields="creators followers engagements_1h engagements_24h views_24h er_24h sponsored_posts_7d"
printf '%-8s %9s %12s %15s %16s %12s %10s %13s\n' tier $fields
for t in nano micro mid macro mega unknown; do
    # One value per line; an absent field (er_24h of unknown) is an empty line.
    mapfile -t v < <(redis-cli -p "$port" hmget "eng:tier:$t" $fields)
    printf '%-8s %9s %12s %15s %16s %12s %10s %13s\n' "$t" "${v[0]:-0}" \
        "${v[1]:-0}" "${v[2]:-0}" "${v[3]:-0}" "${v[4]:-0}" "${v[5]:--}" "${v[6]:-0}"
done
echo
# The campaign most creators joined, per tier, and one of its creators'
# brand history (schemas/redis.md, "Campaigns").
python3 - "$port" <<'PY'
import subprocess, sys, datetime
port = sys.argv[1]
def r(*args):
    out = subprocess.run(["redis-cli", "-p", port, "--no-raw", *args],
                         capture_output=True, text=True, check=True).stdout
    return [l.split(") ", 1)[-1].strip().strip('"') for l in out.splitlines()
            if l.strip() and l.strip() != "(empty array)"]
def num(x):
    return int(x) if x not in (None, "", "(nil)") else 0
def pct(a, b):
    return "%.2f%%" % (100.0 * a / b) if b else "-"
def human(n):
    return "{:,}".format(n)
camps = r("zrevrange", "eng:campaigns", "0", "-1")
if not camps:
    print("no campaign in the stream"); sys.exit(0)
best = max(camps, key=lambda c: num(r("hget", "eng:campaign:" + c, "creators")[0]))
key = "eng:campaign:" + best
print("\033[1m==> campaign %s: %d campaigns in all; by tier (HGETALL %s)\033[0m"
      % (best, len(camps), key))
cols = ["creators", "reach", "posts", "engagements", "clicks", "conversions"]
print("%-8s %9s %12s %7s %12s %8s %8s %12s %8s" % ("tier", "creators", "reach",
      "posts", "engagements", "ER", "clicks", "conversions", "conv.rate"))
for t in ["nano", "micro", "mid", "macro", "mega", "unknown", ""]:
    pre = t + "." if t else ""
    v = [num(x) for x in r("hmget", key, *[pre + c for c in cols])]
    if t and not any(v):
        continue
    print("%-8s %9s %12s %7s %12s %8s %8s %12s %8s" % (t or "all",
          human(v[0]), human(v[1]), human(v[2]), human(v[3]), pct(v[3], v[1]),
          human(v[4]), human(v[5]), pct(v[5], v[4])))
top = r("zrevrange", "eng:campaign_creators:" + best, "0", "0")
if top:
    c = top[0]
    print()
    print("\033[1m==> creator %s's brand history (ZREVRANGE eng:creator_brands:%s)\033[0m" % (c, c))
    b = r("zrevrange", "eng:creator_brands:" + c, "0", "-1", "withscores")
    for brand, ts in zip(b[0::2], b[1::2]):
        day = datetime.datetime.utcfromtimestamp(float(ts) / 1000).strftime("%Y-%m-%d")
        n = r("hget", "eng:creator_brand_posts:" + c, brand)[0]
        print("    %-12s %3s sponsored posts, latest %s" % (brand, n, day))
    s = r("zrevrange", "eng:creator_sectors:" + c, "0", "-1")
    print("    sectors: " + (", ".join(s) if s else "-"))
PY
echo
mega=$(redis-cli -p "$port" eval "
    local cur = '0'
    repeat
      local r = redis.call('SCAN', cur, 'MATCH', 'eng:creator:*', 'COUNT', 1000)
      cur = r[1]
      for _, k in ipairs(r[2]) do
        if redis.call('HGET', k, 'tier') == 'mega' then return k end
      end
    until cur == '0'
    return ''" 0)
if [ -n "$mega" ]; then
    say "one mega creator: HGETALL $mega (24h and 7d fields; a sum of 0 is not stored)"
    redis-cli -p "$port" hgetall "$mega" | paste - - |
        grep -E '^(tier|followers|last_event_ms|[a-z_]+_(24h|7d))\b' |
        awk '{ printf "    %-24s %s\n", $1, $2 }'
    echo
fi
say "the alert stream in Redis: XLEN eng:alerts = $(redis-cli -p "$port" xlen eng:alerts)"
say "Prometheus metrics at http://127.0.0.1:$http_port/metrics, for example:"
python3 - "$http_port" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1]).read().decode()
for line in text.splitlines():
    if line.startswith(("engaged_events_total", "engaged_alerts_total", "engaged_creators ")) and not line.endswith(" 0"):
        print("    " + line)
PY
echo
if [ -n "${DEMO_KEEP:-}" ] && [ "$DEMO_KEEP" != 0 ]; then
    say "the campaign page: http://127.0.0.1:$http_port/  (engaged keeps running; Ctrl-C stops it)"
    stop=0
    trap 'stop=1' INT TERM
    while [ "$stop" = 0 ] && kill -0 "$engaged_pid" 2>/dev/null; do
        sleep 1 & wait $! || true
    done
    trap 'exit 130' INT
    trap 'exit 143' TERM
    echo
else
    say "make demo KEEP=1 keeps engaged running, with the campaign page at http://127.0.0.1:PORT/"
fi
say "stopping engaged (SIGTERM: final checkpoint, clean exit)"
kill -TERM "$engaged_pid"
wait "$engaged_pid" && rc=0 || rc=$?
engaged_pid=
grep -E 'stopped|error' "$work/engaged.log" | grep -v librdkafka | tail -3 || true
[ "$rc" -eq 0 ] || { echo "engaged exited with $rc"; exit 1; }
say "done; everything cleaned up"
