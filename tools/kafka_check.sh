#!/usr/bin/env bash
# kafka_check.sh: does this machine's librdkafka (through kcat) work with the
# Apache Kafka that tools/kafka.sh runs?  The checks are the protocol paths
# engaged uses (issue 17): an idempotent producer, a plain consumer, a
# consumer group with the classic protocol and cooperative-sticky
# assignment (one member, then two members rebalancing, then one leaving),
# committed offsets, offsets by timestamp, and a broker SIGKILLed and
# restarted on the same ports with its data and the group's offsets intact.
#
# Usage: tools/kafka_check.sh          (make kafka-check)
#
# Starts one broker in a temporary directory and removes both at the end.
# Prints one line per check and "kafka_check: N passed, M failed"; exits 1
# when any failed.  Takes about 30 s.  Environment: as tools/kafka.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA=$HERE/kafka.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/engaged-kafka-check.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    "$KAFKA" kill "$work/broker" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

passed=0 failed=0
check() {   # check NAME COMMAND...: runs the command, counts and says
    local name=$1
    shift
    if "$@"; then
        echo "ok    $name"
        passed=$((passed + 1))
    else
        echo "FAIL  $name"
        failed=$((failed + 1))
    fi
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# Waits up to $2 seconds (polling) until file $1 has at least $3 lines.
wait_lines() {
    local deadline=$((SECONDS + $2))
    while [ "$(wc -l <"$1")" -lt "$3" ]; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

t0=$(date +%s%N)
ENGAGED_KAFKA_OWNER=$$ "$KAFKA" start "$work/broker"
echo "broker up in $(ms_since "$t0") ms at $(cat "$work/broker/bootstrap")" \
    "($(kcat -V | sed -n 's/.*\(librdkafka [0-9.]*\).*/\1/p'))"
B=$(cat "$work/broker/bootstrap")
"$KAFKA" create-topic "$work/broker" t 4

produce() {   # produce FIRST LAST: keyed messages kFIRST:vFIRST ...
    seq "$1" "$2" | awk '{ print "k" $1 ":v" $1 }' |
        kcat -P -b "$B" -t t -K: -X enable.idempotence=true -X acks=all \
            2>>"$work/produce.err"
}
count() { kcat -C -b "$B" -t t -e -q -o beginning | wc -l; }
# engaged's consumer settings (daemon/source.c) and the tests' timeouts.
GROUP=(-X partition.assignment.strategy=cooperative-sticky
    -X auto.offset.reset=earliest -X session.timeout.ms=3000
    -X heartbeat.interval.ms=500)

check "idempotent producer, 2000 messages" produce 1 2000
check "plain consumer reads them all" test "$(count)" -eq 2000

t0=$(date +%s%N)
kcat -b "$B" -G solo "${GROUP[@]}" -q -c 1 t >/dev/null 2>&1
echo "      first member of a new group: first message after $(ms_since "$t0") ms"
t0=$(date +%s%N)
check "a group of one reads them all" \
    test "$(kcat -b "$B" -G one "${GROUP[@]}" -e -q t 2>/dev/null | wc -l)" -eq 2000
echo "      (in $(ms_since "$t0") ms)"
check "its committed offsets hold: nothing new on a second run" \
    test "$(kcat -b "$B" -G one "${GROUP[@]}" -e -q t 2>/dev/null | wc -l)" -eq 0

# Two members: a takes all four partitions, b joins and takes two (an
# incremental revoke on a), b leaves and a takes them back.
kcat -u -b "$B" -G two "${GROUP[@]}" -f '%p %s\n' t >"$work/a.out" 2>"$work/a.err" &
pids+=($!)
a=$!
check "member a reads what is there" wait_lines "$work/a.out" 20 2000
t0=$(date +%s%N)
kcat -u -b "$B" -G two "${GROUP[@]}" -f '%p %s\n' t >"$work/b.out" 2>"$work/b.err" &
pids+=($!)
b=$!
rebalanced() { grep -q 'incremental assignment of [1-9]' "$work/b.err"; }
wait_rebalanced() {
    local deadline=$((SECONDS + 20))
    until rebalanced; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}
check "member b joins and gets partitions" wait_rebalanced
echo "      (b assigned $(ms_since "$t0") ms after it started)"
check "a gave them up incrementally (cooperative)" grep -q 'incremental revoke' "$work/a.err"
produce 2001 4000
both() { test "$(cat "$work/a.out" "$work/b.out" | wc -l)" -ge 4000; }
wait_both() {
    local deadline=$((SECONDS + 20))
    until both; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}
check "a and b together read the next 2000" wait_both
check "b read some of them" test "$(wc -l <"$work/b.out")" -gt 0
kill -TERM "$b"
wait "$b" 2>/dev/null || true
produce 4001 5000
check "b left: a reads the last 1000 from all partitions" wait_lines "$work/a.out" 20 4000
distinct=$(cat "$work/a.out" "$work/b.out" | awk '{ print $2 }' | sort -u | wc -l)
check "no message lost between a and b (5000 distinct)" test "$distinct" -eq 5000
kill -TERM "$a"
wait "$a" 2>/dev/null || true

check "offsets by timestamp (ListOffsets)" \
    bash -c "kcat -Q -b '$B' -t t:0:$(($(date +%s) * 1000 - 3600000)) | grep -q 'offset 0'"

t0=$(date +%s%N)
"$KAFKA" kill "$work/broker"
"$KAFKA" restart "$work/broker"
echo "      broker SIGKILLed and restarted in $(ms_since "$t0") ms"
check "the data survives SIGKILL and restart" test "$(count)" -eq 5000
check "so do the group's offsets" \
    test "$(kcat -b "$B" -G one "${GROUP[@]}" -e -q t 2>/dev/null | wc -l)" -eq 3000
check "the idempotent producer works after the restart" produce 5001 5100
check "...and those are there" test "$(count)" -eq 5100

t0=$(date +%s%N)
"$KAFKA" stop "$work/broker"
echo "      broker stopped in $(ms_since "$t0") ms"
echo "kafka_check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
