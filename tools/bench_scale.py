#!/usr/bin/env python3
"""bench_scale.py: how throughput grows with instances (`make bench-scale`).

For each run and each instance count in --instances: a fresh throwaway
redis-server and broker (32 partitions: engaged-broker, librdkafka's mock
cluster, or with --broker kafka a real Apache Kafka from tools/kafka.sh),
--events events from
engaged-gen (100,000 creators, Zipf 1.1) (on Kafka, a group read of an
empty topic first, so that the broker's __consumer_offsets exists, as in
any running cluster), then that many engaged processes
in one consumer group, started together and timed until the sum of their
offsets in Redis reaches --events.  Prints, per instance count, the median
events/s from start and from the first event any instance consumed, and
how often an instance lost its partitions in a rebalance, and how many
partitions were claimed again (assigned more than once: a rebalance after
the first assignment moved them); with --check,
the last run of each count is compared with the generator's ground truth
(bench.py check), since a rebalance must lose or double nothing.

Standard library only; bench.py (same directory) provides the Redis client.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

PARTITIONS = 32
KAFKA_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kafka.sh")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, what, timeout=10.0):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            sys.exit("bench-scale: %s did not happen in %.0f s" % (what, timeout))
        time.sleep(0.02)


def redis_up(port):
    try:
        return bench.Redis(port).call("PING") is not None
    except OSError:
        return False


def start_broker(broker, build, work, procs, stops):
    """Starts a broker in work with engagement.events (PARTITIONS
    partitions), engagement.dlq and engagement.alerts: engaged-broker
    (librdkafka's mock), or with broker "kafka" Apache Kafka from
    tools/kafka.sh.  As soon as it runs, its process is appended to procs
    (to terminate) or its directory to stops (for kafka.sh stop), so that
    the caller ends it whatever fails next.  Returns (bootstrap address,
    the broker's pid)."""
    boot = os.path.join(work, "bootstrap")
    topics = [("engagement.events", PARTITIONS), ("engagement.dlq", 4),
              ("engagement.alerts", 4)]
    with open(os.path.join(work, "broker.log"), "a") as log:
        if broker == "kafka":
            kafka_dir = os.path.join(work, "kafka")
            env = dict(os.environ, ENGAGED_KAFKA_OWNER=str(os.getpid()))
            subprocess.run([KAFKA_SH, "start", kafka_dir], check=True,
                           stdout=log, stderr=log, env=env)
            stops.append(kafka_dir)
            for name, parts in topics:
                subprocess.run([KAFKA_SH, "create-topic", kafka_dir, name,
                                str(parts)], check=True, stdout=log, stderr=log)
            shutil.copy(os.path.join(kafka_dir, "bootstrap"), boot)
            with open(os.path.join(kafka_dir, "pid")) as f:
                pid = int(f.read())
        else:
            args = [os.path.join(build, "engaged-broker"), "-f", boot]
            for name, parts in topics:
                args += ["-t", "%s:%d" % (name, parts)]
            procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                          stderr=log))
            pid = procs[-1].pid
    wait_for(lambda: os.path.exists(boot) and os.path.getsize(boot) > 0,
             "the broker writing its address")
    with open(boot) as f:
        return f.read().strip(), pid


def one_run(a, work, ninst, ndjson):
    """Runs ninst instances over a fresh broker and Redis; returns a dict."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    port = free_port()
    procs, stops = [], []
    try:
        procs.append(subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", work,
             "--logfile", os.path.join(work, "redis.log")]))
        wait_for(lambda: redis_up(port), "redis-server answering")
        addr, _ = start_broker(a.broker, a.build, work, procs, stops)
        if a.broker == "kafka":
            # A fresh broker creates __consumer_offsets for its first group,
            # about 1 s that a running cluster never pays (docs/kafka.md):
            # one group read of an empty topic pays it before the clock, as
            # make bench's kcat -G does.
            subprocess.run(["kcat", "-b", addr, "-G", "bench-scale-warm",
                            "-e", "-q", "-o", "beginning", "engagement.dlq"],
                           check=True, stdout=subprocess.DEVNULL,
                           timeout=a.timeout)
        start_ms = (int(time.time()) // 3600 - 24) * 3600000
        gen = [os.path.join(a.build, "engaged-gen"), "-b", addr,
               "-n", str(a.events), "-c", "100000", "--zipf", "1.1",
               "--days", "0.9", "--start", str(start_ms), "--seed", "1", "-q"]
        if ndjson:
            gen += ["--ndjson-out", ndjson]
        subprocess.run(gen, check=True, stderr=subprocess.DEVNULL)

        http_ports, logs = [], []
        t0 = time.time()
        for i in range(ninst):
            http_ports.append(free_port())
            conf = os.path.join(work, "engaged-%d.conf" % i)
            with open(conf, "w") as f:
                f.write("[kafka]\nbootstrap.servers = %s\n[redis]\nport = %d\n"
                        "[http]\nlisten = 127.0.0.1:%d\n[log]\nlevel = notice\n"
                        % (addr, port, http_ports[-1]))
                f.write(a.extra.replace("\\n", "\n"))
            logs.append(os.path.join(work, "engaged-%d.log" % i))
            procs.append(subprocess.Popen(
                [os.path.join(a.build, "engaged"), "-c", conf],
                stderr=open(logs[-1], "w")))
        r = bench.Redis(port)
        first = None
        deadline = t0 + a.timeout
        while bench.offsets_sum(r, "eng:offsets:engaged") < a.events:
            if first is None and any(bench.events_seen(p) for p in http_ports):
                first = time.time() - t0
            if time.time() > deadline:
                sys.exit("bench-scale: %d instance(s) timed out" % ninst)
            time.sleep(0.02)
        done = time.time() - t0
        lost, assigned = 0, 0
        for path in logs:
            with open(path) as f:
                text = f.read()
            lost += "partition lost" in text
            assigned += text.count("partition assigned ")
        out = {"s": done, "first": first, "lost": lost,
               "moved": max(0, assigned - PARTITIONS)}
        if ndjson:
            check = subprocess.run(
                [sys.executable, bench.__file__, "check", "--port", str(port),
                 "--sample", "50", "--out", os.path.join(work, "check.json"),
                 ndjson], capture_output=True, text=True)
            out["exact"] = check.returncode == 0
            out["check"] = (check.stdout + check.stderr).strip().splitlines()[-1:]
        return out
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait()
        for d in stops:
            subprocess.run([KAFKA_SH, "stop", d], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default="build-bench")
    p.add_argument("--broker", choices=["mock", "kafka"], default="mock",
                   help="mock: engaged-broker; kafka: Apache Kafka (tools/kafka.sh)")
    p.add_argument("--events", type=int, default=1000000)
    p.add_argument("--instances", default="1,2")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--check", action="store_true",
                   help="check the last run of each count for exactness")
    p.add_argument("--keep", action="store_true",
                   help="keep the work directory, with every run's logs")
    p.add_argument("--extra", default="",
                   help="lines appended to each engaged.conf (\\n escapes)")
    a = p.parse_args()
    counts = [int(x) for x in a.instances.split(",")]
    root = tempfile.mkdtemp(prefix="engaged-bench-scale.")
    results = {n: [] for n in counts}
    try:
        for run in range(1, a.runs + 1):
            for n in counts:
                last = a.check and run == a.runs
                ndjson = os.path.join(root, "events.ndjson") if last else None
                work = os.path.join(root, "w%d" % n)
                res = one_run(a, work, n, ndjson)
                if a.keep:
                    shutil.copytree(work, "%s-run%d" % (work, run))
                results[n].append(res)
                print("run %d, %d instance(s): %.2f s, first event at %.2f s, "
                      "%d lost their partitions, %d partitions claimed "
                      "again%s" % (
                          run, n, res["s"], res["first"] or -1, res["lost"],
                          res["moved"],
                          "" if "exact" not in res else
                          ", exact" if res["exact"] else
                          ", NOT EXACT: %s" % res["check"]),
                      file=sys.stderr)
    finally:
        if a.keep:
            print("bench-scale: kept %s" % root, file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print("instances  events/s from start  from first event  runs with a lost assignment")
    status = 0
    for n in counts:
        rs = results[n]
        start = statistics.median(a.events / r["s"] for r in rs)
        steady = statistics.median(a.events / (r["s"] - r["first"])
                                   for r in rs if r["first"] is not None)
        lost = sum(1 for r in rs if r["lost"])
        print("%9d  %19.0f  %16.0f  %d of %d" % (n, start, steady, lost, len(rs)))
        status |= any(r.get("exact") is False for r in rs)
    return status


if __name__ == "__main__":
    sys.exit(main())
