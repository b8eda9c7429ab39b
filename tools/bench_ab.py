#!/usr/bin/env python3
"""bench_ab.py: two engaged builds or settings, in interleaved pairs.

On this machine single runs swing by 20% and more (docs/performance.md), so
one `make bench` cannot tell a 5% change from the noise.  This script reads
one topic again and again on one broker and one Redis, alternating A and B
(A B, then B A, ...), and prints each run and, per variant, the medians of
wall time, engaged's CPU, Redis's CPU, the broker's CPU and peak RSS, and
the median of the pairs' B/A wall-time ratios.  Ten pairs read a 5% change.

    tools/bench_ab.py [--broker mock|kafka] [--pairs N] [--fresh]
                      [--bin-a PATH] [--conf-a TEXT] [--bin-b PATH] [--conf-b TEXT]

A variant is a binary (default build-bench/engaged) and lines appended to
its engaged.conf (\\n escapes): `--conf-b '[kafka]\\nfetch.max.bytes = 524288'`.
--fresh (Kafka) restarts the broker before each run and has kcat read the
topic three times, as `make bench` meets it; a broker that served many runs
is warmer and uses less CPU.  Each run: Redis emptied, a new group, engaged
timed from its start until the sum of its offsets in Redis reaches the
events produced, then stopped with SIGTERM.

Standard library only; bench.py and bench_scale.py (same directory) provide
the Redis client and the helpers.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from bench_scale import KAFKA_SH, free_port, redis_up, start_broker, wait_for  # noqa: E402


def warm(addr, group):
    """kcat reads the topic whole twice, then once in a group."""
    base = ["kcat", "-b", addr, "-e", "-q", "-o", "beginning"]
    for _ in range(2):
        subprocess.run(base + ["-C", "-t", "engagement.events"], check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(base + ["-G", group, "-X", "auto.offset.reset=earliest",
                           "engagement.events"], check=True,
                   stdout=subprocess.DEVNULL)


def one_run(a, work, addr, port, broker_pid, variant, group):
    binary, extra = (a.bin_a, a.conf_a) if variant == "A" else (a.bin_b, a.conf_b)
    r = bench.Redis(port)
    r.call("FLUSHALL")
    http_port = free_port()
    conf = os.path.join(work, "engaged-%s.conf" % group)
    with open(conf, "w") as f:
        f.write("[kafka]\nbootstrap.servers = %s\ngroup.id = %s\n[redis]\n"
                "port = %d\n[http]\nlisten = 127.0.0.1:%d\n[log]\n"
                "level = notice\n%s\n"
                % (addr, group, port, http_port, extra.replace("\\n", "\n")))
    redis_cpu, broker_cpu = bench.cpu_of(a.redis_pid), bench.cpu_of(broker_pid)
    t0 = time.time()
    proc = subprocess.Popen([binary, "-c", conf],
                            stderr=open(os.path.join(work, "engaged-%s.log" % group), "w"))
    try:
        w = bench.wait_offsets(r, "eng:offsets:%s" % group, a.events, proc.pid,
                               a.timeout, t0=t0)
        got = bench.proc_readings(proc.pid)
        out = {"s": w["done"],
               "cpu": got["cpu_user_s"] + got["cpu_sys_s"],
               "redis": bench.cpu_of(a.redis_pid) - redis_cpu,
               "broker": bench.cpu_of(broker_pid) - broker_cpu,
               "hwm_mib": got["vmhwm_bytes"] / 2**20}
    finally:
        proc.terminate()
        proc.wait()
    if proc.returncode != 0:
        sys.exit("bench-ab: engaged (%s) exited with %d on SIGTERM; see %s"
                 % (variant, proc.returncode, work))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default="build-bench")
    p.add_argument("--broker", choices=["mock", "kafka"], default="mock")
    p.add_argument("--pairs", type=int, default=10)
    p.add_argument("--events", type=int, default=1000000)
    p.add_argument("--fresh", action="store_true",
                   help="Kafka: restart the broker and warm it before each run")
    p.add_argument("--bin-a")
    p.add_argument("--conf-a", default="")
    p.add_argument("--bin-b")
    p.add_argument("--conf-b", default="")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--keep", action="store_true",
                   help="keep the work directory, with every run's logs")
    a = p.parse_args()
    if a.fresh and a.broker != "kafka":
        sys.exit("bench-ab: --fresh needs --broker kafka (the mock keeps "
                 "its topics in memory)")
    a.bin_a = a.bin_a or os.path.join(a.build, "engaged")
    a.bin_b = a.bin_b or os.path.join(a.build, "engaged")
    work = tempfile.mkdtemp(prefix="engaged-bench-ab.")
    port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", work,
         "--logfile", os.path.join(work, "redis.log")])
    a.redis_pid = redis.pid
    procs, stops = [], []
    runs = {"A": [], "B": []}
    try:
        wait_for(lambda: redis_up(port), "redis-server answering")
        addr, broker_pid = start_broker(a.broker, a.build, work, procs, stops)
        start_ms = (int(time.time()) // 3600 - 24) * 3600000
        subprocess.run([os.path.join(a.build, "engaged-gen"), "-b", addr,
                        "-n", str(a.events), "-c", "100000", "--zipf", "1.1",
                        "--days", "0.9", "--start", str(start_ms), "--seed",
                        "1", "-q", "--campaign-posts", "0.3"],
                       check=True, stderr=subprocess.DEVNULL)
        warm(addr, "warm")
        for i in range(1, a.pairs + 1):
            for variant in ("AB" if i % 2 else "BA"):
                if a.fresh:
                    subprocess.run([KAFKA_SH, "restart",
                                    os.path.join(work, "kafka")], check=True,
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL,
                                   env=dict(os.environ,
                                            ENGAGED_KAFKA_OWNER=str(os.getpid())))
                    with open(os.path.join(work, "kafka", "pid")) as f:
                        broker_pid = int(f.read())
                    warm(addr, "warm-%s%d" % (variant, i))
                res = one_run(a, work, addr, port, broker_pid, variant,
                              "g%s%d" % (variant, i))
                runs[variant].append(res)
                print("%s %2d: %.3f s, engaged CPU %.2f s, Redis %.2f s, "
                      "broker %.2f s, peak RSS %.1f MiB" % (
                          variant, i, res["s"], res["cpu"], res["redis"],
                          res["broker"], res["hwm_mib"]), file=sys.stderr)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        for d in stops:
            subprocess.run([KAFKA_SH, "stop", d], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        redis.terminate()
        redis.wait()
        if a.keep:
            print("bench-ab: kept %s" % work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("variant  wall s  engaged CPU s  Redis CPU s  broker CPU s  peak RSS MiB")
    for v in "AB":
        med = {k: statistics.median(r[k] for r in runs[v])
               for k in ("s", "cpu", "redis", "broker", "hwm_mib")}
        print("%-7s  %6.3f  %13.2f  %11.2f  %12.2f  %12.1f" % (
            v, med["s"], med["cpu"], med["redis"], med["broker"], med["hwm_mib"]))
    ratios = [b["s"] / a_["s"] for a_, b in zip(runs["A"], runs["B"])]
    print("B/A wall time per pair: %s; median %.3f" % (
        " ".join("%.2f" % x for x in ratios), statistics.median(ratios)))


if __name__ == "__main__":
    main()
