#!/usr/bin/env python3
"""bench.py: the measuring half of `make bench` (tools/bench.sh drives it).

Standard library only.  Subcommands:

  measure   wait until engaged's offsets in Redis reach --target, then take
            every reading at once: Redis INFO commandstats and memory,
            /proc/PID (VmHWM, utime+stime), GET /metrics.  One JSON file.
  latency   wait until the offsets reach --target again (after a live,
            rate-limited produce), scrape the latency histogram and store
            its difference from the one `measure` took, with p50 and p99.
  summary   medians over the runs' JSON files, a table on stdout and the
            whole lot as one JSON file, targets judged on the medians.
  check     the numbers stay exact: recompute, from the generator's own
            record of the events (engaged-gen --ndjson-out), every tier
            hash and a sample of creator hashes, and compare with Redis.

Why the latency is measured on a second, live phase: the N events of the
throughput phase are produced before engaged starts, so their produce-to-
checkpoint time is mostly time spent waiting in the topic.  The live phase
produces at a steady rate below engaged's throughput, the way a real stream
arrives, and only its events are counted (histogram after minus before).
"""

import argparse
import json
import os
import random
import re
import socket
import statistics
import sys
import time
import urllib.request

# --------------------------------------------------------------------------
# A minimal Redis client (RESP2), enough for HVALS, INFO, HGETALL, SCAN.
# --------------------------------------------------------------------------


class Redis:
    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rf = self.sock.makefile("rb")

    def _send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def _read(self):
        line = self.rf.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError("redis: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rf.read(n + 2)
            return data[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("redis: unexpected reply %r" % line)

    def call(self, *args):
        self._send(*args)
        return self._read()

    def pipeline(self, commands):
        """Sends every command, then reads every reply, in order."""
        for c in commands:
            self._send(*c)
        return [self._read() for _ in commands]


def info_section(r, section):
    out = {}
    for line in r.call("INFO", section).splitlines():
        if line and not line.startswith("#") and ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


def commandstats(r):
    """{command: calls} from INFO commandstats."""
    calls = {}
    for k, v in info_section(r, "commandstats").items():
        m = re.search(r"calls=(\d+)", v)
        if k.startswith("cmdstat_") and m:
            calls[k[len("cmdstat_"):]] = int(m.group(1))
    return calls


# Commands engaged sends itself (daemon/checkpoint.c); everything else in
# INFO commandstats ran inside its Lua scripts (HSET, SET, ZADD, HINCRBY,
# XADD, ...).  Redis counts both alike, so this list is the only way to tell
# them apart: keep it in step with checkpoint.c.
CLIENT_COMMANDS = {
    "multi", "exec", "discard", "watch", "unwatch", "eval", "evalsha",
    "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "script", "mget",
    "zrangebyscore", "ping", "select", "auth", "hello", "client",
}
# Commands the bench itself sends while engaged runs: HVALS (its polls, which
# are subtracted exactly), INFO and CONFIG (none of engaged's).
BENCH_COMMANDS = {"info", "config"}


def bench_command(name):
    return name.split("|")[0] in BENCH_COMMANDS


def offsets_sum(r, key):
    vals = r.call("HVALS", key) or []
    return sum(int(v) for v in vals)


def events_seen(http_port):
    """engaged_events_total summed, or None while /metrics does not answer.
    The poller shares the 2 cores with what it measures: one GET over a
    plain socket and a scan for the one family cost 0.5 ms of CPU, where
    urllib and the full parse (scrape) cost 1.4 ms, 12% of a core at 100
    polls a second."""
    try:
        s = socket.create_connection(("127.0.0.1", http_port), timeout=10)
        try:
            s.sendall(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            chunks = []
            while True:
                d = s.recv(65536)
                if not d:
                    break
                chunks.append(d)
        finally:
            s.close()
    except OSError:
        return None
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0]:
        return None
    total = 0.0
    for line in body.split(b"\n"):
        if line.startswith(b"engaged_events_total{"):
            total += float(line.rsplit(b" ", 1)[1])
    return total


def wait_offsets(r, key, target, pid, timeout, t0=None, interval=0.01,
                 http_port=None):
    """Polls until the offsets reach target.  Returns a dict of seconds
    since t0: "first_event" and "last_event" (the first event consumed and
    the target-th, from /metrics, when http_port is given),
    "first_checkpoint" (the first offset in Redis), "done"; and "polls", the
    HVALS sent."""
    t0 = time.time() if t0 is None else t0
    deadline = time.time() + timeout
    polls, last_print, done = 0, time.time(), 0
    out = {"first_event": None, "last_event": None, "first_checkpoint": None}
    while True:
        # /metrics at every poll until the first event, then at every third
        # (30 ms): the read's end needs no finer grain, and the poller's
        # CPU is taken from what it measures.
        if http_port and out["last_event"] is None and (
                out["first_event"] is None or polls % 3 == 0):
            seen = events_seen(http_port)
            if seen and out["first_event"] is None:
                out["first_event"] = time.time() - t0
            if seen and seen >= target:
                out["last_event"] = time.time() - t0
        done = offsets_sum(r, key)
        polls += 1
        now = time.time()
        if done > 0 and out["first_checkpoint"] is None:
            out["first_checkpoint"] = now - t0
        if done >= target:
            out["done"], out["polls"] = now - t0, polls
            return out
        if pid and not os.path.exists("/proc/%d" % pid):
            sys.exit("bench: engaged (pid %d) exited with %d of %d events "
                     "checkpointed" % (pid, done, target))
        if now > deadline:
            sys.exit("bench: timed out after %d s with %d of %d events "
                     "checkpointed" % (timeout, done, target))
        if now - last_print >= 5:
            print("bench:   %d of %d events checkpointed" % (done, target),
                  file=sys.stderr)
            last_print = now
        time.sleep(interval)


def proc_readings(pid):
    status = open("/proc/%d/status" % pid).read()
    hwm = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024
    rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024
    stat = open("/proc/%d/stat" % pid).read()
    # Fields after the command name, which is in parentheses and may hold
    # spaces: utime and stime are fields 14 and 15 of the whole line.
    fields = stat[stat.rindex(")") + 2:].split()
    tck = os.sysconf("SC_CLK_TCK")
    return {"vmhwm_bytes": hwm, "vmrss_bytes": rss,
            "cpu_user_s": int(fields[11]) / tck,
            "cpu_sys_s": int(fields[12]) / tck}


METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$")


def scrape(http_port):
    text = urllib.request.urlopen(
        "http://127.0.0.1:%d/metrics" % http_port, timeout=10).read().decode()
    samples = {}
    for line in text.splitlines():
        m = METRIC_LINE.match(line)
        if m:
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples


LAT = "engaged_event_checkpoint_latency_seconds"


def histogram(samples, name=LAT):
    """[(upper bound, cumulative count)], +Inf last; None when absent."""
    out = []
    for k, v in samples.items():
        m = re.match(re.escape(name) + r'_bucket\{le="([^"]+)"\}$', k)
        if m:
            le = m.group(1)
            out.append((float("inf") if le == "+Inf" else float(le), v))
    return sorted(out) if out else None


def quantile(hist, q):
    """Prometheus' histogram_quantile: linear inside the bucket that holds
    rank q x count; in the +Inf bucket, the largest finite bound."""
    if not hist or hist[-1][1] <= 0:
        return None
    rank = q * hist[-1][1]
    lower, below = 0.0, 0.0
    for upper, cum in hist:
        if cum >= rank:
            if upper == float("inf"):
                return lower
            if cum == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (cum - below)
        lower, below = upper, cum
    return lower


def gauge(samples, name):
    return samples.get(name)


# engaged's status.c refreshes its gauges every GAUGES_EVERY_MS (1 s).
GAUGE_PERIOD_S = 1.2


def settled_scrape(http_port, target, timeout=10):
    """/metrics once the latency histogram holds target events.  engaged
    observes a checkpoint's events only after EXEC has returned, so the
    offsets in Redis can run a moment ahead of the histogram.  Without the
    histogram (older daemons), the first scrape."""
    deadline = time.time() + timeout
    last, since = None, time.time()
    while True:
        samples = scrape(http_port)
        hist = histogram(samples)
        now = time.time()
        if hist is None or hist[-1][1] >= target or now > deadline:
            # The gauges (engaged_creators, engaged_state_bytes) are set
            # once a second: scraped at once they may lag the last
            # checkpoint by that much, so they come from one more scrape.
            time.sleep(GAUGE_PERIOD_S)
            later = scrape(http_port)
            for k, v in later.items():
                if k.startswith(("engaged_creators", "engaged_state_bytes")):
                    samples[k] = v
            return samples
        # Refused events may never be observed: a count that has stopped
        # moving for a second is final.
        if hist[-1][1] != last:
            last, since = hist[-1][1], now
        elif now - since > 1:
            return samples
        time.sleep(0.01)


def cpu_of(pid):
    """utime + stime of a process, seconds; None when it is gone."""
    try:
        r = proc_readings(pid)
    except (OSError, AttributeError):
        return None
    return r["cpu_user_s"] + r["cpu_sys_s"]


def busy_cpu_s():
    """CPU seconds the whole machine has spent busy since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cmd_measure(a):
    # The servers were idle since the previous phase ended: their CPU time
    # from here on is what serving engaged cost them.
    others = {"redis": a.redis_pid, "broker": a.broker_pid}
    others_before = {k: cpu_of(p) for k, p in others.items() if p}
    busy_before = busy_cpu_s()
    engaged_before = cpu_of(a.pid) or 0.0
    r = Redis(a.port)
    w = wait_offsets(r, a.key, a.target, a.pid, a.timeout, a.t0,
                     http_port=a.http_port)
    polls = w["polls"]
    # Everything read at once, before engaged does anything else.
    readings = proc_readings(a.pid)
    busy = busy_cpu_s() - busy_before
    for k, before in others_before.items():
        after = cpu_of(others[k])
        readings["cpu_%s_s" % k] = (None if before is None or after is None
                                    else after - before)
    # What the rest of the machine (other than engaged, its Redis and its
    # broker) burnt meanwhile: the poller's own few percent, and whatever
    # else runs here.  Anything large makes the run's numbers doubtful.
    ours = (readings["cpu_user_s"] + readings["cpu_sys_s"] - engaged_before +
            sum(readings.get("cpu_%s_s" % k) or 0 for k in others_before))
    readings["cpu_others_s"] = max(0.0, busy - ours)
    stats = commandstats(r)
    mem = info_section(r, "memory")
    samples = settled_scrape(a.http_port, a.target)
    stats["hvals"] = stats.get("hvals", 0) - polls
    if stats["hvals"] <= 0:
        del stats["hvals"]
    for c in [c for c in stats if bench_command(c)]:
        del stats[c]
    refused = sum(v for k, v in samples.items()
                  if k.startswith("engaged_events_total{")
                  and 'result="refused"' in k)
    run = {
        "events": a.target,
        "kcat_s": a.kcat_s,
        "kcat_group_s": a.kcat_group_s,
        "engaged_s": w["done"],
        "engaged_first_event_s": w["first_event"],
        "engaged_last_event_s": w["last_event"],
        "engaged_first_checkpoint_s": w["first_checkpoint"],
        "redis_commandstats": stats,
        "redis_used_memory_bytes": int(mem.get("used_memory", 0)),
        "creators": gauge(samples, "engaged_creators"),
        "state_bytes": gauge(samples, "engaged_state_bytes"),
        "refused": refused,
        "checkpoints_ok": gauge(samples,
                                'engaged_checkpoints_total{result="ok"}'),
        "checkpoint_seconds_sum": gauge(
            samples, "engaged_checkpoint_duration_seconds_sum"),
        "checkpoint_count": gauge(
            samples, "engaged_checkpoint_duration_seconds_count"),
        "histogram_before": histogram(samples),
    }
    run.update(readings)
    with open(a.out, "w") as f:
        json.dump(run, f, indent=1)


def cmd_latency(a):
    with open(a.out) as f:
        run = json.load(f)
    r = Redis(a.port)
    t0 = time.time()
    wait_offsets(r, a.key, a.target, a.pid, a.timeout, t0)
    samples = settled_scrape(a.http_port, a.target)
    after = histogram(samples)
    # The checkpoints of the live phase: how long each took is part of
    # every event's latency.
    n = (gauge(samples, "engaged_checkpoint_duration_seconds_count") or 0) - \
        (run.get("checkpoint_count") or 0)
    total = (gauge(samples, "engaged_checkpoint_duration_seconds_sum") or 0) \
        - (run.get("checkpoint_seconds_sum") or 0)
    run["live_checkpoints"] = n
    run["live_checkpoint_mean_s"] = total / n if n > 0 else None
    before = run.get("histogram_before")
    run["live_events"] = a.target - run["events"]
    run["live_rate"] = a.rate
    if after is None:
        run["latency_p50_s"] = run["latency_p99_s"] = None
    else:
        prev = dict(before or [])
        delta = [(le, cum - prev.get(le, 0)) for le, cum in after]
        run["latency_histogram"] = [["+Inf" if le == float("inf") else le,
                                     cum] for le, cum in delta]
        run["latency_p50_s"] = quantile(delta, 0.50)
        run["latency_p99_s"] = quantile(delta, 0.99)
        run["latency_observed"] = delta[-1][1]
    run.pop("histogram_before", None)
    with open(a.out, "w") as f:
        json.dump(run, f, indent=1)


def cmd_api(a):
    """The read API's cost (issue 19): one client on one keep-alive
    connection asks each route for a.seconds; per route, answers/s and the
    p50 and p99 of the answer time.  engaged is idle (caught up) meanwhile,
    Redis holds the run's creators and campaigns."""
    import http.client
    import urllib.parse
    with open(a.out) as f:
        run = json.load(f)
    r = Redis(a.port)
    camp = (r.call("ZREVRANGE", "eng:campaigns", "0", "0") or [None])[0]
    creator = None
    as_str = (lambda v: v.decode() if isinstance(v, bytes) else v)
    if camp is not None:
        camp = as_str(camp)
        top = r.call("ZREVRANGE", "eng:campaign_creators:" + camp, "0", "0")
        creator = as_str(top[0]) if top else None
    routes = [("campaigns", "/v1/campaigns?limit=50"), ("tiers", "/v1/tiers"),
              ("alerts", "/v1/alerts?limit=100")]
    if camp is not None:
        routes.append(("campaign", "/v1/campaigns/%s?days=31&top=20"
                       % urllib.parse.quote(camp, safe="")))
    if creator is not None:
        routes.append(("creator", "/v1/creators/%s"
                       % urllib.parse.quote(creator, safe="")))
    out = {}
    conn = http.client.HTTPConnection("127.0.0.1", a.http_port, timeout=10)
    for name, path in routes:
        times, size = [], 0
        end = time.time() + a.seconds
        while time.time() < end:
            t = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            times.append(time.perf_counter() - t)
            if resp.status != 200:
                sys.exit("bench api: %s answered %d: %s" % (path, resp.status,
                                                           body[:200]))
            size = len(body)
        times.sort()
        out[name] = {"path": path, "answers": len(times),
                     "per_s": len(times) / sum(times),
                     "p50_ms": 1000 * times[len(times) // 2],
                     "p99_ms": 1000 * times[min(len(times) - 1,
                                                int(len(times) * 0.99))],
                     "bytes": size}
    conn.close()
    run["api"] = out
    with open(a.out, "w") as f:
        json.dump(run, f, indent=1)


# --------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------


def derive(run):
    n = run["events"]
    stats = run["redis_commandstats"]
    client = sum(v for k, v in stats.items() if k in CLIENT_COMMANDS)
    total = sum(stats.values())
    creators = run.get("creators") or 0
    cpu = run["cpu_user_s"] + run["cpu_sys_s"]
    d = {
        "kcat_events_per_s": n / run["kcat_s"],
        "kcat_group_events_per_s": n / run["kcat_group_s"]
            if run.get("kcat_group_s") else None,
        "engaged_events_per_s": n / run["engaged_s"],
        "engaged_steady_events_per_s":
            n / (run["engaged_s"] - run["engaged_first_event_s"])
            if run.get("engaged_first_event_s") is not None
            and run["engaged_s"] > run["engaged_first_event_s"] else None,
        "engaged_startup_s": run.get("engaged_first_event_s"),
        "engaged_read_events_per_s":
            n / (run["engaged_last_event_s"] - run["engaged_first_event_s"])
            if run.get("engaged_last_event_s") is not None
            and run.get("engaged_first_event_s") is not None
            and run["engaged_last_event_s"] > run["engaged_first_event_s"]
            else None,
        "engaged_tail_s": run["engaged_s"] - run["engaged_last_event_s"]
            if run.get("engaged_last_event_s") is not None else None,
        "redis_commands_sent_per_1k_events": 1000.0 * client / n,
        "redis_commands_total_per_1k_events": 1000.0 * total / n,
        "cpu_s": cpu,
        "cpu_us_per_event": 1e6 * cpu / n,
        "cpu_redis_s": run.get("cpu_redis_s"),
        "redis_cpu_us_per_event": 1e6 * run["cpu_redis_s"] / n
            if run.get("cpu_redis_s") is not None else None,
        "cpu_broker_s": run.get("cpu_broker_s"),
        "cpu_others_s": run.get("cpu_others_s"),
        "vmhwm_bytes": run["vmhwm_bytes"],
        "creators": creators,
        "vmhwm_bytes_per_creator": run["vmhwm_bytes"] / creators
        if creators else None,
        "state_bytes_per_creator": run["state_bytes"] / creators
        if creators and run.get("state_bytes") is not None else None,
        "redis_used_memory_bytes_per_creator":
            run["redis_used_memory_bytes"] / creators if creators else None,
        "latency_p50_s": run.get("latency_p50_s"),
        "latency_p99_s": run.get("latency_p99_s"),
        "refused": run.get("refused"),
        "live_checkpoint_mean_s": run.get("live_checkpoint_mean_s"),
        "checkpoints": run.get("checkpoint_count"),
        "checkpoint_s": run.get("checkpoint_seconds_sum"),
    }
    d["engaged_to_kcat"] = d["engaged_events_per_s"] / d["kcat_events_per_s"]
    d["engaged_to_kcat_group"] = (
        d["engaged_events_per_s"] / d["kcat_group_events_per_s"]
        if d["kcat_group_events_per_s"] else None)
    return d


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def machine():
    m = {"cores": os.cpu_count()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                m["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    u = os.uname()
    m["kernel"] = "%s %s" % (u.sysname, u.release)
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                m["os"] = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                m["memory_kib"] = int(line.split()[1])
    except OSError:
        pass
    return m


ROWS = [
    # key, label, format, scale
    ("kcat_events_per_s", "kcat floor, events/s", "{:,.0f}", 1),
    ("engaged_events_per_s", "engaged, events/s (start to last offset)",
     "{:,.0f}", 1),
    ("engaged_to_kcat", "engaged / kcat", "{:.1%}", 1),
    ("kcat_group_events_per_s", "kcat in a consumer group (-G: joins, as "
     "engaged does), events/s", "{:,.0f}", 1),
    ("engaged_to_kcat_group", "engaged / kcat in a consumer group", "{:.1%}",
     1),
    ("engaged_startup_s", "  engaged start to its first event "
     "(group join, claims), s", "{:.2f}", 1),
    ("engaged_steady_events_per_s", "  engaged from its first event, "
     "events/s", "{:,.0f}", 1),
    ("engaged_read_events_per_s", "    reading, first event to last, events/s",
     "{:,.0f}", 1),
    ("engaged_tail_s", "    last event read to its offset in Redis, s",
     "{:.2f}", 1),
    ("redis_commands_sent_per_1k_events",
     "Redis commands sent by engaged / 1k events", "{:.2f}", 1),
    ("redis_commands_total_per_1k_events",
     "Redis commands incl. inside Lua / 1k events", "{:.1f}", 1),
    ("latency_p50_s", "latency produce->checkpoint p50, ms", "{:,.0f}", 1000),
    ("latency_p99_s", "latency produce->checkpoint p99, ms", "{:,.0f}", 1000),
    ("live_checkpoint_mean_s", "  mean checkpoint duration then, ms",
     "{:,.0f}", 1000),
    ("vmhwm_bytes", "peak RSS (VmHWM), MiB", "{:.1f}", 1 / 1048576),
    ("creators", "creators tracked (engaged_creators)", "{:,.0f}", 1),
    ("vmhwm_bytes_per_creator", "peak RSS / creator, bytes", "{:,.0f}", 1),
    ("state_bytes_per_creator", "engaged_state_bytes / creator, bytes",
     "{:,.0f}", 1),
    ("redis_used_memory_bytes_per_creator", "Redis used_memory / creator, "
     "bytes", "{:,.0f}", 1),
    ("cpu_s", "engaged CPU (user+sys), s", "{:.2f}", 1),
    ("cpu_us_per_event", "engaged CPU / event, us", "{:.2f}", 1),
    ("checkpoints", "checkpoints", "{:,.0f}", 1),
    ("checkpoint_s", "time in checkpoints (build, send, EXEC), s", "{:.2f}",
     1),
    ("cpu_redis_s", "redis-server CPU meanwhile, s", "{:.2f}", 1),
    ("cpu_broker_s", "broker CPU meanwhile, s", "{:.2f}", 1),
    ("cpu_others_s", "other processes' CPU meanwhile, s (noise)", "{:.2f}",
     1),
    ("refused", "events refused (DLQ), expected 0", "{:,.0f}", 1),
]


def fmt(v, f, scale):
    return "n/a" if v is None else f.format(v * scale)


def variants(specs, derived):
    """NAME=FILE,... -> the medians of the variant's runs and of each run's
    cost against the all-on read of the same run (else the full run)."""
    read = {}
    for spec in specs:
        name, _, files = spec.partition("=")
        runs = []
        for path in [f for f in files.split(",") if f]:
            with open(path) as f:
                runs.append(derive(json.load(f)))
        if runs:
            read[name] = runs
    # The reference: the same second read with everything on, when there
    # is one (a second read is slower than the run's first).
    ref = read.pop("all-on", derived)
    out = {}
    for name, runs in read.items():
        pairs = list(zip(ref, runs))

        def costs(key):
            return [1 - on[key] / off[key] if on.get(key) and off.get(key)
                    else None for on, off in pairs]

        def cost(key):
            return median(costs(key))
        out[name] = {
            "runs": len(runs),
            "off_events_per_s": median([r["engaged_events_per_s"]
                                        for r in runs]),
            "off_steady_events_per_s": median(
                [r["engaged_steady_events_per_s"] for r in runs]),
            "off_cpu_us_per_event": median([r["cpu_us_per_event"]
                                            for r in runs]),
            "on_cpu_us_per_event": median([on["cpu_us_per_event"]
                                           for on, _ in pairs]),
            "off_redis_cpu_us_per_event": median(
                [r["redis_cpu_us_per_event"] for r in runs]),
            "on_redis_cpu_us_per_event": median(
                [on["redis_cpu_us_per_event"] for on, _ in pairs]),
            "cost_from_start": cost("engaged_events_per_s"),
            "cost_from_first_event": cost("engaged_steady_events_per_s"),
            "costs_from_first_event": costs("engaged_steady_events_per_s"),
        }
    return out


def cmd_summary(a):
    runs = []
    for path in a.runs:
        with open(path) as f:
            runs.append(json.load(f))
    derived = [derive(r) for r in runs]
    med = {k: median([d[k] for d in derived]) for k in derived[0]}
    interval_ms = a.interval_ms
    targets = {
        "throughput_ratio_min": {
            "want": ">= 50% of the kcat floor",
            "value": med["engaged_to_kcat"],
            "met": med["engaged_to_kcat"] >= 0.5},
        "redis_commands_per_event_max": {
            "want": "<= 1 command per 20 events (50 per 1k), commands "
                    "engaged sends",
            "value": med["redis_commands_sent_per_1k_events"] / 1000,
            "met": med["redis_commands_sent_per_1k_events"] <= 50},
        "latency_p99_max_s": {
            "want": "p99 <= checkpoint.interval_ms + 100 ms = %g s"
                    % ((interval_ms + 100) / 1000),
            "value": med["latency_p99_s"],
            "met": None if med["latency_p99_s"] is None
            else med["latency_p99_s"] <= (interval_ms + 100) / 1000},
        "bytes_per_creator_max": {
            "want": "<= 2 KiB per tracked creator (peak RSS / creators)",
            "value": med["vmhwm_bytes_per_creator"],
            "met": None if med["vmhwm_bytes_per_creator"] is None
            else med["vmhwm_bytes_per_creator"] <= 2048},
    }
    mach = machine()
    cfg = json.loads(a.config) if a.config else {}
    result = {"machine": mach, "config": cfg, "median": med,
              "targets": targets, "runs": [dict(r, derived=d) for r, d
                                           in zip(runs, derived)]}
    if a.check:
        with open(a.check) as f:
            result["check"] = json.load(f)
    result["variants"] = variants(a.variant, derived)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)

    n = runs[0]["events"]
    print()
    print("engaged benchmark: %s events, %s creators, Zipf %s, %s partitions,"
          " %d run%s (medians)" % (
              "{:,}".format(n), "{:,}".format(cfg.get("creators", 0)),
              cfg.get("zipf", "?"), cfg.get("partitions", "?"), len(runs),
              "" if len(runs) == 1 else "s"))
    print("machine: %s, %s cores, %s, %s" % (
        mach.get("cpu", "?"), mach.get("cores"), mach.get("os", "?"),
        mach.get("kernel")))
    print("latency: %s live events at %s/s after the backlog; checkpoint."
          "interval_ms = %d" % ("{:,}".format(runs[0].get("live_events", 0)),
                                "{:,}".format(int(a.live_rate or 0)),
                                interval_ms))
    print()
    width = max(len(r[1]) for r in ROWS)
    head = "%-*s %12s" % (width, "", "median")
    if len(runs) > 1:
        head += "".join(" %12s" % ("run %d" % (i + 1))
                        for i in range(len(runs)))
    print(head)
    for key, label, f, scale in ROWS:
        line = "%-*s %12s" % (width, label, fmt(med[key], f, scale))
        if len(runs) > 1:
            line += "".join(" %12s" % fmt(d[key], f, scale) for d in derived)
        print(line)
    busy = [d for d in derived if d["cpu_others_s"] is not None and
            d["cpu_others_s"] > 0.1 * (runs[0]["events"] /
                                       d["engaged_events_per_s"])]
    if busy:
        print()
        print("warning: other processes used over 10%% of a core during %d "
              "run%s' engaged phase: the machine was not quiet, figures are "
              "pessimistic" % (len(busy), "" if len(busy) == 1 else "s"))
    print()
    print("targets (issue 6), on the medians:")
    for t in targets.values():
        met = {True: "MET", False: "NOT MET", None: "n/a"}[t["met"]]
        print("  %-8s %s" % (met, t["want"]))
    stats = runs[-1]["redis_commandstats"]
    client = sorted((k for k in stats if k in CLIENT_COMMANDS),
                    key=lambda k: -stats[k])
    inner = sorted((k for k in stats if k not in CLIENT_COMMANDS),
                   key=lambda k: -stats[k])
    print()
    print("Redis commands of the last run, per 1k events:")
    print("  sent by engaged:  " + ", ".join(
        "%s %.2f" % (k, 1000 * stats[k] / n) for k in client))
    print("  inside its Lua:   " + ", ".join(
        "%s %.1f" % (k, 1000 * stats[k] / n) for k in inner))
    api = runs[-1].get("api")
    if api:
        print()
        print("read API of the last run (one client, keep-alive, engaged idle):")
        print("  %-10s %9s %9s %9s %9s" % ("route", "answers/s", "p50 ms",
                                            "p99 ms", "bytes"))
        for name, v in api.items():
            print("  %-10s %9.0f %9.2f %9.2f %9d" % (
                name, v["per_s"], v["p50_ms"], v["p99_ms"], v["bytes"]))
    if result["variants"]:
        print()
        print("what a feature costs: each run's topic read again after it with"
              " the feature off, and with all on")
        print("(a fresh Redis and group each; medians of the runs' own costs,"
              " 1 - all-on / off):")
        print("  %-14s %22s %22s %17s %17s" % (
            "off", "from start, events/s", "from 1st event, ev/s",
            "CPU/event, us", "Redis CPU/ev, us"))
        for name, v in result["variants"].items():
            print("  %-14s %11s %9s %11s %9s %8.2f %8.2f %8s %8s" % (
                name, fmt(v["off_events_per_s"], "{:,.0f}", 1),
                "(%+.1f%%)" % (-100 * v["cost_from_start"])
                if v["cost_from_start"] is not None else "",
                fmt(v["off_steady_events_per_s"], "{:,.0f}", 1),
                "(%+.1f%%)" % (-100 * v["cost_from_first_event"])
                if v["cost_from_first_event"] is not None else "",
                v["off_cpu_us_per_event"], v["on_cpu_us_per_event"],
                fmt(v["off_redis_cpu_us_per_event"], "{:.2f}", 1),
                fmt(v["on_redis_cpu_us_per_event"], "{:.2f}", 1)))
        print("  (CPU/event: engaged's, then redis-server's, each with the"
              " feature off, then on;")
        print("  a negative percentage is the feature's cost)")
        for name, v in result["variants"].items():
            print("  %s, each run's cost from the first event: %s" % (
                name, ", ".join("%+.1f%%" % (-100 * c) if c is not None
                                else "n/a"
                                for c in v["costs_from_first_event"])))
    if a.check:
        c = result["check"]
        print()
        print("exactness: %s (%s)" % ("OK" if c["ok"] else "FAILED",
                                      c["summary"]))
    print()
    print("written to %s" % a.out)


# --------------------------------------------------------------------------
# check: the ground truth
# --------------------------------------------------------------------------

METRICS = ["likes", "comments", "shares", "saves", "views", "clicks",
           "conversions", "engagements", "posts", "sponsored_posts"]
ACTION_METRIC = {"like": 0, "comment": 1, "share": 2, "save": 3, "view": 4,
                 "click": 5, "conversion": 6}
# The daemon's default [tiers], which the bench does not change.
TIERS = [("nano", 0), ("micro", 10000), ("mid", 50000), ("macro", 500000),
         ("mega", 1000000)]
HYSTERESIS = 0.05
UNKNOWN = -1

TS_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})"
                   r"(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$")


def days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_ts(v):
    """An event's ts as epoch ms: integer ms, or RFC 3339 (the fraction cut
    to milliseconds)."""
    if isinstance(v, int):
        return v
    m = TS_RE.match(v)
    if not m:
        raise ValueError("bad ts %r" % v)
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "")[:3].ljust(3, "0")
    off = 0
    if m.group(9):
        off = (int(m.group(10)) * 60 + int(m.group(11))) * \
            (-1 if m.group(9) == "-" else 1)
    return ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
             off * 60) * 1000) + int(frac)


def classify(current, followers):
    """daemon/tier.c: up at once, down only below minimum x (1 - h)."""
    raw = 0
    for i, (_, minimum) in enumerate(TIERS):
        if minimum <= followers:
            raw = i
    if current == UNKNOWN or raw >= current:
        return raw
    for k in range(current, 0, -1):
        if followers >= TIERS[k][1] * (1.0 - HYSTERESIS):
            return k
    return 0


class Truth:
    __slots__ = ("sums", "followers", "followers_ts", "tier", "last_ts",
                 "first_ts", "events")

    def __init__(self):
        self.sums = [0] * len(METRICS)
        self.followers = None
        self.followers_ts = None
        self.tier = UNKNOWN
        self.last_ts = None
        self.first_ts = None
        self.events = 0


def replay(paths):
    """Every creator's truth, replaying the events in offset order (the
    order engaged-gen wrote them, which per key is the partition's order).
    Returns ({creator: Truth}, min ts, max ts)."""
    creators = {}
    lo, hi = None, None
    for path in paths:
        with open(path) as f:
            for line in f:
                key, _, doc = line.rstrip("\n").partition("\t")
                ev = json.loads(doc)
                if ev["creator_id"] != key:
                    raise SystemExit("check: %s: key %s is not the creator"
                                     % (path, key))
                t = creators.get(key)
                if t is None:
                    t = creators[key] = Truth()
                ts = parse_ts(ev["ts"])
                lo = ts if lo is None or ts < lo else lo
                hi = ts if hi is None or ts > hi else hi
                t.events += 1
                if t.last_ts is None or ts > t.last_ts:
                    t.last_ts = ts
                if t.first_ts is None or ts < t.first_ts:
                    t.first_ts = ts
                # daemon/state.c: the latest count by event time wins, a tie
                # going to the later message.
                fol = ev.get("followers")
                if fol is not None and (t.followers_ts is None or
                                        ts >= t.followers_ts):
                    t.followers, t.followers_ts = fol, ts
                    t.tier = classify(t.tier, fol)
                typ = ev["type"]
                if typ == "engagement":
                    a = ACTION_METRIC[ev["action"]]
                    n = ev.get("count", 1)
                    t.sums[a] += n
                    if a <= 3:
                        t.sums[7] += n
                elif typ == "post":
                    t.sums[8] += 1
                    if ev.get("sponsored"):
                        t.sums[9] += 1
    return creators, lo, hi


def tier_name(i):
    return "unknown" if i == UNKNOWN else TIERS[i][0]


def er(engagements, followers):
    return engagements / followers if followers else None


def hash_of(pairs):
    return dict(zip(pairs[0::2], pairs[1::2])) if pairs else {}


def cmd_check(a):
    t_start = time.time()
    creators, lo, hi = replay(a.ndjson)
    span_ms = hi - lo
    # Every event must be inside every checked window at the last watermark:
    # window w holds the buckets floor(W/(w/60)) - 59 .. floor(W/(w/60)), so
    # a span under 59 buckets of the shortest checked window is enough.
    windows = [w.strip() for w in a.windows.split(",") if w.strip()]
    win_ms = {"24h": 86400000, "7d": 7 * 86400000}
    for w in windows:
        if span_ms >= 59 * win_ms[w] // 60:
            raise SystemExit("check: events span %.2f h, too long for exact "
                             "%s sums" % (span_ms / 3.6e6, w))
    problems = []

    def mismatch(where, field, want, got):
        if len(problems) < 40:
            problems.append("%s %s: expected %s, Redis has %s"
                            % (where, field, want, got))
        else:
            problems.append(None)

    r = Redis(a.port)
    p = a.prefix

    # Every tier hash, exactly: creators, followers, each metric's sums.
    tiers = {}
    for t in creators.values():
        name = tier_name(t.tier)
        agg = tiers.setdefault(name, {"creators": 0, "followers": 0,
                                      "sums": [0] * len(METRICS)})
        agg["creators"] += 1
        agg["followers"] += t.followers or 0
        for i, v in enumerate(t.sums):
            agg["sums"][i] += v
    names = [n for n, _ in TIERS] + ["unknown"]
    replies = r.pipeline([("HGETALL", p + "tier:" + n) for n in names])
    tier_fields = 0
    for name, pairs in zip(names, replies):
        h = hash_of(pairs)
        agg = tiers.get(name, {"creators": 0, "followers": 0,
                               "sums": [0] * len(METRICS)})
        want = {"creators": agg["creators"], "followers": agg["followers"]}
        for w in windows:
            for i, mname in enumerate(METRICS):
                want["%s_%s" % (mname, w)] = agg["sums"][i]
        for field, v in want.items():
            tier_fields += 1
            got = int(h.get(field, "0") or 0)
            if got != v:
                mismatch("tier:" + name, field, v, got)

    # A sample of creator hashes: the busiest ones, then random ones.
    rng = random.Random(a.seed)
    by_activity = sorted(creators, key=lambda c: -creators[c].events)
    busiest = by_activity[:min(10, a.sample)]
    rest = [c for c in creators if c not in set(busiest)]
    sample = busiest + rng.sample(sorted(rest),
                                  min(len(rest), a.sample - len(busiest)))
    replies = r.pipeline([("HGETALL", p + "creator:" + c) for c in sample])
    creator_fields = 0
    for c, pairs in zip(sample, replies):
        h = hash_of(pairs)
        t = creators[c]
        where = "creator:" + c
        if not h:
            mismatch(where, "(hash)", "present", "nothing")
            continue
        want = {"tier": tier_name(t.tier), "last_event_ms": str(t.last_ts)}
        if t.followers is not None:
            want["followers"] = str(t.followers)
        for w in windows:
            for i, mname in enumerate(METRICS):
                want["%s_%s" % (mname, w)] = str(t.sums[i])
        for field, v in want.items():
            creator_fields += 1
            got = h.get(field)
            # A creator's sum of 0 is not stored: absent is the only 0.
            if v == "0" and field.endswith(tuple("_" + w for w in windows)):
                v = None
            if got != v:
                mismatch(where, field, "(absent)" if v is None else v, got)
        if t.followers is None and "followers" in h:
            mismatch(where, "followers", "absent", h["followers"])
        for w in windows:
            field = "er_" + w
            want_er = er(t.sums[7], t.followers)
            got = h.get(field)
            creator_fields += 1
            if want_er is None:
                if got is not None:
                    mismatch(where, field, "absent", got)
            elif got is None or abs(float(got) - want_er) > \
                    1e-9 * max(abs(want_er), 1e-300):
                mismatch(where, field, "%.10g" % want_er, got)

    nproblems = len(problems)
    ok = nproblems == 0
    summary = ("%d tier hashes (%d fields) and %d sampled creator hashes "
               "(%d fields) against %s events of %s creators, windows %s"
               % (len(names), tier_fields, len(sample), creator_fields,
                  "{:,}".format(sum(t.events for t in creators.values())),
                  "{:,}".format(len(creators)), " ".join(windows)))
    if not ok:
        summary += ": %d mismatches" % nproblems
    result = {"ok": ok, "summary": summary,
              "mismatches": [x for x in problems if x],
              "sampled": sample, "seconds": time.time() - t_start}
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print("bench: exactness %s: %s" % ("OK" if ok else "FAILED", summary),
          file=sys.stderr)
    for x in result["mismatches"]:
        print("bench:   " + x, file=sys.stderr)
    sys.exit(0 if ok else 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--port", type=int, required=True, help="Redis port")
        p.add_argument("--key", default="eng:offsets:engaged")
        p.add_argument("--pid", type=int, required=True, help="engaged")
        p.add_argument("--http-port", type=int, required=True)
        p.add_argument("--target", type=int, required=True,
                       help="sum of the offsets to wait for")
        p.add_argument("--timeout", type=float, default=600)
        p.add_argument("--out", required=True)

    p = sub.add_parser("measure")
    common(p)
    p.add_argument("--t0", type=float, help="engaged's start, epoch seconds")
    p.add_argument("--redis-pid", type=int)
    p.add_argument("--broker-pid", type=int)
    p.add_argument("--kcat-s", type=float, required=True,
                   help="seconds kcat took to read the same events")
    p.add_argument("--kcat-group-s", type=float,
                   help="seconds kcat took to read them in a consumer group")
    p.set_defaults(fn=cmd_measure)

    p = sub.add_parser("latency")
    common(p)
    p.add_argument("--rate", type=float)
    p.set_defaults(fn=cmd_latency)

    p = sub.add_parser("api")
    p.add_argument("--port", type=int, required=True, help="Redis port")
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--seconds", type=float, default=2.0,
                   help="per route")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_api)

    p = sub.add_parser("summary")
    p.add_argument("--out", required=True)
    p.add_argument("--interval-ms", type=int, default=1000)
    p.add_argument("--live-rate", type=float)
    p.add_argument("--config", help="JSON object of the bench's settings")
    p.add_argument("--check", help="the JSON file `check` wrote")
    p.add_argument("--variant", action="append", default=[],
                   help="NAME=FILE,FILE...: the throughput of each run again"
                   " with a feature off, in the order of the runs")
    p.add_argument("runs", nargs="+")
    p.set_defaults(fn=cmd_summary)

    p = sub.add_parser("check")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--prefix", default="eng:")
    p.add_argument("--sample", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--windows", default="24h,7d")
    p.add_argument("--out", required=True)
    p.add_argument("ndjson", nargs="+", help="engaged-gen --ndjson-out files,"
                   " in the order they were produced")
    p.set_defaults(fn=cmd_check)

    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
