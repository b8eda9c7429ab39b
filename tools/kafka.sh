#!/usr/bin/env bash
# kafka.sh: single-node Apache Kafka brokers (KRaft, combined broker and
# controller) on loopback, for the integration tests and the benchmark
# (issue 17).  librdkafka's mock cluster (tools/broker.c, daemon/embedded.c)
# stays the quick default; this is the real broker that users run.
#
# Usage: tools/kafka.sh COMMAND [ARG]...
#
#   fetch                      fetch Kafka's jars once into the cache (Maven
#                              Central through Debian's mvn), and make the
#                              class-data-sharing archive that halves the
#                              JVM's start; the other commands fetch the
#                              jars (not the archive) when they are missing
#   start DIR                  format a fresh log directory DIR/data with a
#                              random cluster id, start a broker on two free
#                              127.0.0.1 ports (clients, controller) and wait
#                              until it answers metadata
#   stop DIR                   SIGTERM, wait for the exit (bounded), SIGKILL
#                              past the bound (and exit 1); nothing to do
#                              when it is not running
#   kill DIR                   SIGKILL, wait until it is gone
#   restart DIR                start again on the SAME ports and log
#                              directory (stopping it first if it runs), and
#                              wait until every partition has its leader
#   create-topic DIR NAME PARTITIONS [KEY=VALUE]...
#                              create a topic (replication factor 1, topic
#                              configs KEY=VALUE) and wait until its
#                              partitions have leaders
#   status DIR                 print "running ADDR" (exit 0) or "stopped"
#                              (exit 1)
#   classpath                  print the broker's classpath (after fetch)
#
# DIR (created when missing) holds everything of one broker, so that any
# number run side by side:
#   DIR/bootstrap          "127.0.0.1:PORT", for bootstrap.servers
#   DIR/pid                the broker's (java's) process id
#   DIR/ports              "CLIENT_PORT CONTROLLER_PORT"
#   DIR/server.properties  the broker's configuration
#   DIR/kafka.log          the broker's log (log4j2, INFO), appended to by
#                          every start and restart
#   DIR/data               the log directory (topics, KRaft metadata)
# A command fails with exit status 1 and one line starting "kafka.sh: " on
# stderr (with the end of DIR/kafka.log when the broker did not come up).
#
# Environment (all optional):
#   ENGAGED_KAFKA_VERSION     Kafka release (default 4.4.0; see docs/kafka.md)
#   ENGAGED_KAFKA_CACHE       where the jars go (default
#                             ${XDG_CACHE_HOME:-~/.cache}/engaged/kafka-VERSION)
#   ENGAGED_KAFKA_HEAP        broker's -Xmx (default 128m)
#   ENGAGED_KAFKA_JVM_OPTS    replaces the broker's JVM flags (heap, GC,
#                             class-data-sharing archive)
#   ENGAGED_KAFKA_PROPS       extra server.properties lines (KEY=VALUE, one a
#                             line), appended so that they win
#   ENGAGED_KAFKA_START_TIMEOUT  seconds to wait for metadata (default 60)
#   ENGAGED_KAFKA_STOP_TIMEOUT   seconds to wait after SIGTERM (default 30)
#   ENGAGED_KAFKA_OWNER       a process id: a watchdog SIGKILLs the broker
#                             within a second of that process's exit, so that
#                             a crashed test leaves no broker behind
#   JAVA_HOME                 java is $JAVA_HOME/bin/java, else from PATH
#
# Needs java (17 or later), mvn (first fetch only), kcat and python3: make
# deps-kafka installs them.  The broker is configured for tests, not for
# production: no fsync, replication factors 1 (docs/kafka.md says why).
set -euo pipefail

KAFKA_VERSION=${ENGAGED_KAFKA_VERSION:-4.4.0}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
POM=$HERE/kafka/pom.xml
LOG4J=$HERE/kafka/log4j2.properties
CACHE=${ENGAGED_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/engaged/kafka-$KAFKA_VERSION}
LIBS=$CACHE/libs
HEAP=${ENGAGED_KAFKA_HEAP:-128m}
START_TIMEOUT=${ENGAGED_KAFKA_START_TIMEOUT:-60}
STOP_TIMEOUT=${ENGAGED_KAFKA_STOP_TIMEOUT:-30}
if [ -n "${JAVA_HOME:-}" ]; then JAVA=$JAVA_HOME/bin/java; else JAVA=java; fi
# Serial GC and a small heap: a test broker holds little (about 35 MiB live
# after 1,000,000 events), and two cores are shared with the tests.
# docs/kafka.md has the measurements behind these choices.
JVM_BASE="-Xms32m -Xmx$HEAP -XX:+UseSerialGC"
# The command-line tools are short-lived: C1 alone starts them faster.
TOOL_BASE="-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"

die() {
    echo "kafka.sh: $*" >&2
    exit 1
}

# The usage above, on stderr with exit status 2 (or stdout and 0 for help).
usage() {
    if [ "${1:-}" = help ]; then
        sed -n '/^# Usage:/,/^#   classpath/s/^# \{0,1\}//p' "$0"
        exit 0
    fi
    sed -n '/^# Usage:/,/^#   classpath/s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

# ---------------------------------------------------------------- fetch

# The cache is complete when libs/.complete names the pom it came from: a
# pom changed in the tree (another log4j, say) fetches again.
pom_sum() {
    sha256sum "$POM" | cut -d' ' -f1
}

jars_ok() {
    [ -f "$LIBS/.complete" ] && [ "$(cat "$LIBS/.complete")" = "$(pom_sum)" ]
}

# Fetches the jars when the cache lacks them; every command starts here.
ensure_jars() {
    jars_ok && return 0
    mkdir -p "$CACHE"
    # Brokers of parallel tests may all find the cache missing: one fetches.
    exec 9>"$CACHE/.lock"
    flock 9
    if jars_ok; then
        exec 9>&-
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found: run make deps-kafka"
    echo "kafka.sh: fetching Apache Kafka $KAFKA_VERSION into $LIBS (once)" >&2
    rm -rf "$LIBS.tmp"
    if ! mvn -B -q -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
            dependency:copy-dependencies -DincludeScope=runtime \
            -DoutputDirectory="$LIBS.tmp" >"$CACHE/fetch.log" 2>&1; then
        tail -n 30 "$CACHE/fetch.log" >&2
        die "mvn could not fetch Kafka $KAFKA_VERSION (log: $CACHE/fetch.log)"
    fi
    pom_sum >"$LIBS.tmp/.complete"
    rm -rf "$LIBS" "$CACHE"/*.jsa
    mv "$LIBS.tmp" "$LIBS"
    exec 9>&-
}

# The class-data-sharing archive of the broker's classes (AppCDS), which
# halves the JVM's start (docs/kafka.md).  It holds classes parsed by one
# JVM build from these very jars, hence a name keyed by libjvm.so: another
# JDK makes another archive.
jsa_path() {
    local java lib
    java=$(readlink -f "$(command -v "$JAVA")") || return 1
    lib=${java%/bin/java}/lib/server/libjvm.so
    [ -f "$lib" ] || return 1
    echo "$CACHE/broker-$(stat -c '%s %Y %i' "$lib" | cksum | cut -d' ' -f1).jsa"
}

# Makes the archive, once (fetch does it): a broker started with
# -XX:ArchiveClassesAtExit serves a producer and a consumer group, and
# writes the classes it loaded when it stops.  Without the archive
# everything works, only slower.
make_jsa() {
    local jsa tmp dir addr
    jsa=$(jsa_path) || return 0
    [ -f "$jsa" ] && return 0
    exec 8>"$CACHE/.jsa.lock"
    flock -n 8 || return 0    # another fetch is making it
    echo "kafka.sh: training the class-data-sharing archive $jsa (once)" >&2
    tmp=$jsa.tmp.$$
    dir=$(mktemp -d "${TMPDIR:-/tmp}/engaged-kafka-jsa.XXXXXX")
    (
        JVM_OPTS="$JVM_BASE -XX:ArchiveClassesAtExit=$tmp -Xlog:cds=off"
        ENGAGED_KAFKA_OWNER=$$ cmd_start "$dir"
        cmd_create_topic "$dir" train 2
        addr=$(cat "$dir/bootstrap")
        seq 1 1000 | kcat -P -b "$addr" -t train -X enable.idempotence=true 2>/dev/null
        kcat -b "$addr" -G train -X partition.assignment.strategy=cooperative-sticky \
            -X auto.offset.reset=earliest -e -q train >/dev/null 2>&1
        cmd_stop "$dir"
    ) || { cmd_kill "$dir" || true; }
    if [ -s "$tmp" ]; then
        mv "$tmp" "$jsa"
    else
        rm -f "$tmp"
        echo "kafka.sh: no archive made (see $dir/kafka.log); going on without" >&2
    fi
    [ -f "$jsa" ] && rm -rf "$dir"
    exec 8>&-
}

# Sets JVM_OPTS (the broker's flags) and TOOL_OPTS (StorageTool's,
# TopicCommand's): the base flags, and the archive when there is one.
set_jvm_opts() {
    local jsa cds=""
    if jsa=$(jsa_path) && [ -f "$jsa" ]; then
        cds="-XX:SharedArchiveFile=$jsa -Xlog:cds=off"
    fi
    JVM_OPTS=${ENGAGED_KAFKA_JVM_OPTS:-$JVM_BASE $cds}
    TOOL_OPTS="$TOOL_BASE $cds"
}

# java with Kafka's classpath: java_kafka JVM_FLAGS... CLASS ARGS...
java_kafka() {
    command -v "$JAVA" >/dev/null || die "java not found: run make deps-kafka"
    "$JAVA" -Djava.awt.headless=true -Dlog4j2.configurationFile="$LOG4J" \
        -cp "$LIBS/*" "$@"
}

# ---------------------------------------------------------------- helpers

# Prints n free TCP ports of 127.0.0.1, distinct.  They are drawn below the
# kernel's ephemeral range (ip_local_port_range), where neither bind(port 0)
# (redis in the tests, the mock cluster) nor outgoing connections take
# ports: a port stays ours between this check and the broker's bind, and
# while a killed broker is down before its restart.  Kafka cannot bind port
# 0 itself: its controller listener must be named in the configuration.
free_ports() {
    python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
lo, hi = 10000, max(low - 1, 10000 + 4 * n)
held, ports = [], []
for _ in range(1000):
    if len(ports) == n:
        break
    port = random.randint(lo, hi)
    if port in ports:
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # No SO_REUSEADDR: a port with connections in TIME_WAIT is skipped.
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    held.append(s)
    ports.append(port)
for s in held:
    s.close()
if len(ports) < n:
    sys.exit("no free port found")
print(" ".join(map(str, ports)))
EOF
}

# A random cluster id as Kafka writes them (Uuid.randomUuid: 16 random bytes,
# base64url without padding, never starting with "-").
cluster_id() {
    python3 -c '
import base64, uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    if not s.startswith("-"):
        print(s)
        break'
}

# Whether pid $2 is the broker of DIR $1 (and not a recycled pid).
is_ours() {
    local cmd
    [ -n "$2" ] && [ -r "/proc/$2/cmdline" ] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null) || return 1
    case "$cmd" in
    *kafka.Kafka\ "$1/server.properties"*) return 0 ;;
    *) return 1 ;;
    esac
}

# Whether pid $1 is a live process: it exists and is not a zombie (state Z
# or X in /proc/PID/stat, the field after the command's closing
# parenthesis).  Not from /proc/PID/cmdline, which reads empty for an
# instant while setsid execs java.  While a launch waits, the pid may still
# be the forked shell before its exec of java: alive, not yet ours.
alive() {
    local stat state
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    state=${stat##*) }
    state=${state%% *}
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

broker_pid() {
    if [ -f "$1/pid" ]; then cat "$1/pid"; fi
}

running() {
    is_ours "$1" "$(broker_pid "$1")"
}

# Waits (polling every 0.1 s) until pid $2 of DIR $1 is gone, for at most
# $3 seconds.  Returns 0 when gone.
wait_gone() {
    local deadline=$((SECONDS + $3))
    while is_ours "$1" "$2"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

log_tail() {
    echo "--- last lines of $1/kafka.log:" >&2
    tail -n "${2:-40}" "$1/kafka.log" >&2 || true
    echo "---" >&2
}

# Checks one metadata answer (kcat -L -J on stdin): a broker, and every
# partition of every topic (or of the topics named) led, without error.
metadata_ok() {
    python3 -c '
import json, sys
try:
    md = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
if not md.get("brokers"):
    sys.exit(1)
want = set(sys.argv[1:])
seen = set()
for t in md.get("topics", []):
    seen.add(t.get("topic"))
    if want and t.get("topic") not in want:
        continue
    if t.get("error") or not t.get("partitions"):
        sys.exit(1)
    for p in t["partitions"]:
        if p.get("error") or p.get("leader", -1) < 0:
            sys.exit(1)
sys.exit(0 if want <= seen else 1)' "$@"
}

# One metadata request to ADDR (for the topics named after it, else all).
# kcat's own connection retries are made quick so that one call returns
# soon after the listener opens; -m bounds it at 1 s.
metadata() {
    local addr=$1 t args=()
    shift
    for t in "$@"; do args+=(-t "$t"); done
    [ $# -le 1 ] || args=()   # kcat -L takes one -t: ask for all topics
    kcat -L -J -b "$addr" -m 1 -X reconnect.backoff.ms=10 \
        -X reconnect.backoff.max.ms=100 -X topic.metadata.refresh.interval.ms=-1 \
        "${args[@]}" 2>/dev/null
}

# Waits until the broker of DIR $1 (pid $2) answers metadata with every
# partition led.  Returns 0 when it does, 2 when the broker exited, 1 on
# timeout.
wait_ready() {
    local dir=$1 pid=$2 addr md
    addr=$(cat "$dir/bootstrap")
    local deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        alive "$pid" || return 2
        if md=$(metadata "$addr") && metadata_ok <<<"$md"; then
            return 0
        fi
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

write_config() {
    local dir=$1 port=$2 cport=$3
    cat >"$dir/server.properties" <<EOF
# Written by tools/kafka.sh start: a single-node KRaft broker for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
# One node: every replication factor and ISR is 1.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1
# The internal topics are created on first use (the first consumer group,
# the first idempotent producer): 50 partitions each by default, which costs
# a second or more; a test has a handful of groups.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
# A group forms as soon as its first member joins, instead of 3 s later.
group.initial.rebalance.delay.ms=0
# The tests run engaged with session.timeout.ms = 3000 (below the default
# minimum, 6000, which the broker would refuse).
group.min.session.timeout.ms=500
# Topics exist only when created (tools/kafka.sh create-topic, or the Admin
# API): a test that forgets one fails at once instead of running on a
# one-partition topic.
auto.create.topics.enable=false
num.partitions=1
# A broker restarted after SIGKILL cannot register again until the
# controller has fenced its previous life, broker.session.timeout.ms (9 s by
# default) after the controller came up: 1.5 s instead.  The heartbeat must
# come well within it.
broker.session.timeout.ms=1500
broker.heartbeat.interval.ms=500
# The log cleaner (compaction, of __consumer_offsets for one) allocates its
# whole dedupe buffer on the heap at start: 128 MiB by default.  4 MiB holds
# the keys of about 170,000 records per cleaning, plenty for tests.
log.cleaner.dedupe.buffer.size=4194304
# Two cores: fewer threads than the defaults (3 network, 8 I/O).
num.network.threads=2
num.io.threads=4
EOF
    if [ -n "${ENGAGED_KAFKA_PROPS:-}" ]; then
        printf '# ENGAGED_KAFKA_PROPS\n%s\n' "$ENGAGED_KAFKA_PROPS" \
            >>"$dir/server.properties"
    fi
    echo "127.0.0.1:$port" >"$dir/bootstrap.tmp"
    mv "$dir/bootstrap.tmp" "$dir/bootstrap"
    echo "$port $cport" >"$dir/ports"
}

format_log_dir() {
    local dir=$1
    rm -rf "$dir/data"
    # shellcheck disable=SC2086 # flags, split on purpose
    if ! java_kafka $TOOL_OPTS -Dengaged.kafka.loglevel=warn \
            kafka.tools.StorageTool format -t "$(cluster_id)" \
            -c "$dir/server.properties" >>"$dir/kafka.log" 2>&1; then
        log_tail "$dir" 20
        die "$dir: kafka.tools.StorageTool format failed"
    fi
}

# A watchdog that SIGKILLs the broker once ENGAGED_KAFKA_OWNER has exited.
# It ends with the broker (a restart starts another).
watchdog() {
    local dir=$1 pid=$2 owner=${ENGAGED_KAFKA_OWNER:-}
    [ -n "$owner" ] || return 0
    # Only the owner's exit kills.  The broker's own state is read with
    # kill -0, never from /proc/PID/cmdline: while setsid execs java the
    # command line reads empty for an instant, and a watchdog that took that
    # for an exit SIGKILLed a broker in start-up (CI, 2026-12-04).
    (
        exec </dev/null >/dev/null 2>&1
        while kill -0 "$owner" 2>/dev/null; do
            kill -0 "$pid" 2>/dev/null || exit 0
            sleep 1
        done
        if is_ours "$dir" "$pid"; then kill -KILL "$pid"; fi
    ) &
}

# Starts the broker of DIR $1 on its configuration and log directory, and
# waits.  Returns 0 when ready, 3 when a port was taken (the log says
# BindException), dies otherwise.
launch() {
    local dir=$1 pid rc=0
    echo "=== kafka.sh: $(date '+%F %T') starting Kafka $KAFKA_VERSION on" \
        "$(cat "$dir/bootstrap")" >>"$dir/kafka.log"
    # A session of its own: a Ctrl-C meant for a test runner or a shell does
    # not reach it; stop, kill or the owner's watchdog end it.
    # shellcheck disable=SC2086 # flags, split on purpose
    setsid "$JAVA" -Djava.awt.headless=true -Dlog4j2.configurationFile="$LOG4J" \
        $JVM_OPTS -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
        >>"$dir/kafka.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/pid"
    watchdog "$dir" "$pid"
    wait_ready "$dir" "$pid" || rc=$?
    case $rc in
    0) return 0 ;;
    1)
        log_tail "$dir"
        kill -KILL "$pid" 2>/dev/null || true
        die "$dir: the broker did not answer metadata within ${START_TIMEOUT}s (killed)"
        ;;
    *)
        # Only this launch's lines: a restart appends to the log.
        if awk '/^=== kafka.sh/ { b = "" } { b = b $0 "\n" } END { printf "%s", b }' \
                "$dir/kafka.log" | grep -q -E 'BindException|Address already in use'; then
            return 3
        fi
        log_tail "$dir"
        die "$dir: the broker exited during start-up"
        ;;
    esac
}

# ---------------------------------------------------------------- commands

cmd_start() {
    local dir=$1 attempt ports rc
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    ! running "$dir" || die "$dir: a broker is already running (pid $(broker_pid "$dir"))"
    : >"$dir/kafka.log"
    for attempt in 1 2 3; do
        ports=$(free_ports 2) || die "no free loopback port"
        # shellcheck disable=SC2086
        write_config "$dir" $ports
        format_log_dir "$dir"
        rc=0
        launch "$dir" || rc=$?
        [ "$rc" -eq 0 ] && return 0
        # Another process took a port between the check and the bind: again,
        # on other ports.
        echo "kafka.sh: $dir: port clash (attempt $attempt), retrying" >&2
        mv "$dir/kafka.log" "$dir/kafka.log.clash$attempt"
    done
    die "$dir: ports taken three times in a row"
}

cmd_restart() {
    local dir=$1 rc=0
    if [ ! -f "$dir/server.properties" ] || [ ! -d "$dir/data" ]; then
        die "$dir: nothing to restart (no server.properties or data; use start)"
    fi
    if running "$dir"; then cmd_stop "$dir"; fi
    launch "$dir" || rc=$?
    if [ "$rc" -eq 3 ]; then
        log_tail "$dir" 20
        die "$dir: a port of $(cat "$dir/ports") was taken while the broker was down"
    fi
}

cmd_stop() {
    local dir=$1 pid
    pid=$(broker_pid "$dir")
    is_ours "$dir" "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$dir" "$pid" "$STOP_TIMEOUT" && return 0
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$dir" "$pid" 10 || true
    die "$dir: the broker did not stop within ${STOP_TIMEOUT}s of SIGTERM (SIGKILLed)"
}

cmd_kill() {
    local dir=$1 pid
    pid=$(broker_pid "$dir")
    is_ours "$dir" "$pid" || return 0
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$dir" "$pid" 10 || die "$dir: pid $pid survived SIGKILL for 10 s"
}

cmd_create_topic() {
    local dir=$1 name=$2 parts=$3 kv args=() md
    shift 3
    [[ $parts =~ ^[1-9][0-9]*$ ]] || die "create-topic: PARTITIONS must be a positive integer"
    running "$dir" || die "$dir: no broker running"
    for kv in "$@"; do args+=(--config "$kv"); done
    # shellcheck disable=SC2086 # flags, split on purpose
    if ! java_kafka $TOOL_OPTS -Dengaged.kafka.loglevel=warn \
            org.apache.kafka.tools.TopicCommand \
            --bootstrap-server "$(cat "$dir/bootstrap")" --create \
            --topic "$name" --partitions "$parts" --replication-factor 1 \
            "${args[@]}" >"$dir/create-topic.log" 2>&1; then
        cat "$dir/create-topic.log" >&2
        die "$dir: cannot create topic $name"
    fi
    # CreateTopics answers once the controller has the topic; a client may
    # still be told it is unknown until the broker's metadata has it.
    local deadline=$((SECONDS + 30))
    until md=$(metadata "$(cat "$dir/bootstrap")" "$name") &&
            metadata_ok "$name" <<<"$md"; do
        [ "$SECONDS" -lt "$deadline" ] || die "$dir: topic $name has no leaders after 30 s"
        sleep 0.05
    done
}

cmd_status() {
    if running "$1"; then
        echo "running $(cat "$1/bootstrap") pid $(broker_pid "$1")"
    else
        echo "stopped"
        return 1
    fi
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
fetch | classpath | start | restart | stop | kill | status | create-topic) ;;
-h | --help | help) usage help ;;
*) usage ;;
esac
# Every command needs the jars.
ensure_jars
set_jvm_opts
case $cmd in
fetch) [ $# -eq 0 ] || usage; make_jsa ;;
classpath) [ $# -eq 0 ] || usage; echo "$LIBS/*" ;;
start | restart | stop | kill | status)
    [ $# -eq 1 ] || usage
    dir=$1
    case $cmd in
    start) cmd_start "$dir" ;;
    *)
        [ -d "$dir" ] || die "$dir: no such directory"
        dir=$(cd "$dir" && pwd)
        "cmd_$cmd" "$dir"
        ;;
    esac
    ;;
create-topic)
    [ $# -ge 3 ] || usage
    [ -d "$1" ] || die "$1: no such directory"
    dir=$(cd "$1" && pwd)
    shift
    cmd_create_topic "$dir" "$@"
    ;;
*) usage ;;
esac
