#!/usr/bin/env bash
# make demo: the whole pipeline on embedded defaults, in under a minute.
#   a throwaway redis-server on a free loopback port
#   engaged with its embedded Kafka broker
#   a synthetic stream from engaged-gen: thousands of creators over every
#   tier, a week of event time compressed into seconds
# then the per-tier metrics read back from Redis, and everything cleaned up.
set -euo pipefail

BUILD=${1:-build}
EVENTS=${DEMO_EVENTS:-200000}
CREATORS=${DEMO_CREATORS:-5000}
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

work=$(mktemp -d /tmp/engaged-demo.XXXXXX)
redis_pid= engaged_pid=
cleanup() {
    [ -n "$engaged_pid" ] && kill "$engaged_pid" 2>/dev/null && wait "$engaged_pid" 2>/dev/null || true
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
say "starting a throwaway redis-server on 127.0.0.1:$port"
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
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

[checkpoint]
interval_ms = 500

[log]
level = notice
CONF

say "starting engaged with its embedded Kafka broker (log: engaged.log)"
"$BUILD/engaged" -c "$work/engaged.conf" 2> "$work/engaged.log" &
engaged_pid=$!

say "producing $EVENTS events for $CREATORS creators, 7 days of event time"
"$BUILD/engaged-gen" --bootstrap-file "$work/bootstrap" -n "$EVENTS" \
    -c "$CREATORS" --days 7 --seed 42 -q

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
    say "one mega creator: HGETALL $mega (24h and 7d fields)"
    redis-cli -p "$port" hgetall "$mega" | paste - - |
        grep -E '^(tier|followers|last_event_ms|[a-z_]+_(24h|7d))\b' |
        awk '{ printf "    %-24s %s\n", $1, $2 }'
    echo
fi
say "stopping engaged (SIGTERM: final checkpoint, clean exit)"
kill -TERM "$engaged_pid"
wait "$engaged_pid" && rc=0 || rc=$?
engaged_pid=
grep -E 'stopped|error' "$work/engaged.log" | grep -v librdkafka | tail -3 || true
[ "$rc" -eq 0 ] || { echo "engaged exited with $rc"; exit 1; }
say "done; everything cleaned up"
