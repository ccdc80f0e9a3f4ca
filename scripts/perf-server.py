#!/usr/bin/env python3
"""Runs the HTTP workloads of ../shared/perf against a fresh release agent.

Starts `caravan agent` (no dev node: every workload uses datacenter
`perf-none`, so nothing needs a node) on a free loopback port with an empty
data directory, runs the chosen workloads, prints one JSON line per run with
the load average and the server's CPU time per request (utime+stime from
/proc/<pid>/stat, independent of how busy the machine is), and stops the
agent by PID.

    scripts/perf-server.py --bin target/release/caravan [--runs 3] \
        [--workloads w1,w2,w2wrk,w3,w4,w5,restart] [--fanout 1000,5000] \
        [--restart-jobs 100000]

`restart` fills the store with --restart-jobs registrations (64 connections),
kills the agent with SIGKILL and measures how long a new agent takes until it
answers `GET /v1/job/<last id>`.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PERF = os.environ.get("CARAVAN_PERF_DIR", "/work/shared/perf")
sys.path.insert(0, PERF)

from jobs import small_job  # noqa: E402
from perfhttp import Conn  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Agent:
    def __init__(self, binary, data_dir, extra):
        self.binary = binary
        self.data_dir = data_dir
        self.extra = extra
        self.proc = None
        self.addr = None

    def start(self):
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [self.binary, "agent", "-http-port", "0", "-data-dir", self.data_dir, *self.extra],
            stdout=subprocess.PIPE,
            stderr=sys.stderr,
            text=True,
        )
        for line in self.proc.stdout:
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.addr = m.group(1)
                break
        if self.addr is None:
            raise SystemExit("agent did not start")
        self.listening_s = time.perf_counter() - t0
        return self

    @property
    def pid(self):
        return self.proc.pid

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=PERF).stdout


def measured(agent, name, fn, requests_of):
    load = loadavg()
    c0 = cpu_seconds(agent.pid)
    out = fn()
    c1 = cpu_seconds(agent.pid)
    n = requests_of(out)
    rec = {
        "workload": name,
        "loadavg": load,
        "server_cpu_s": round(c1 - c0, 3),
        "server_cpu_us_per_req": round((c1 - c0) * 1e6 / n, 1) if n else None,
        "rss_kb": rss_kb(agent.pid),
        "result": out,
    }
    print(json.dumps(rec), flush=True)
    return rec


def register(agent, count, conc, warmup, prefix):
    out = run(
        [sys.executable, "register_bench.py", "--addr", agent.addr, "--count", str(count),
         "--concurrency", str(conc), "--warmup", str(warmup), "--prefix", prefix]
    )
    return json.loads(out)


def wrk_register(agent):
    out = run(["wrk", "-t1", "-c16", "-d5s", "--latency", "-s", "wrk/register.lua", agent.addr])
    m = re.search(r"WRKREG (.*)", out)
    return dict(kv.split("=") for kv in m.group(1).split()) if m else {"raw": out}


def wrk_get(agent, conns, path):
    threads = "1" if conns == 1 else "2"
    out = run(["wrk", "-t" + threads, f"-c{conns}", "-d10s", "--latency", agent.addr + path])
    res = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["req_per_s"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else 0
    for p in ("50", "99"):
        m = re.search(rf"^\s+{p}%\s+(\S+)", out, re.M)
        res[f"p{p}"] = m.group(1) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    return res


def plan(agent, variant, count, warmup):
    out = run(
        [sys.executable, "plan_bench.py", "--addr", agent.addr, "--variant", variant, "--count",
         str(count), "--warmup", str(warmup)]
    )
    return json.loads(out)


def fanout(agent, k, prefix):
    out = run(
        [sys.executable, "blocking_fanout.py", "--addr", agent.addr, "-k", str(k), "--wait", "60s",
         "--pid", str(agent.pid), "--prefix", prefix]
    )
    return json.loads(out)


async def fill(addr, n, prefix, conns=64):
    counter = iter(range(n))
    errors = 0

    async def worker():
        nonlocal errors
        c = await Conn(addr).open()
        for i in counter:
            st, _, _ = await c.request("POST", "/v1/jobs", {"Job": small_job(f"{prefix}-{i:07d}")})
            if st != 200:
                errors += 1
        c.close()

    await asyncio.gather(*(worker() for _ in range(conns)))
    return errors


async def wait_for_job(addr, job_id, deadline_s=120):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < deadline_s:
        try:
            c = await Conn(addr).open()
            st, _, _ = await c.request("GET", f"/v1/job/{job_id}")
            c.close()
            if st == 200:
                return time.perf_counter() - t0
        except OSError:
            pass
        await asyncio.sleep(0.005)
    return None


def restart(args, data_dir):
    agent = Agent(args.bin, data_dir, args.agent_arg).start()
    prefix = f"restart-{int(time.time())}"
    t0 = time.perf_counter()
    errors = asyncio.run(fill(agent.addr, args.restart_jobs, prefix))
    fill_s = time.perf_counter() - t0
    # Let the eval worker drain so the log holds what a busy server holds.
    time.sleep(args.restart_settle)
    rss = rss_kb(agent.pid)
    agent.stop(signal.SIGKILL)
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(data_dir) for f in fs)
    results = []
    for _ in range(args.runs):
        load = loadavg()
        t0 = time.perf_counter()
        again = Agent(args.bin, data_dir, args.agent_arg).start()
        listening = time.perf_counter() - t0
        answered = asyncio.run(wait_for_job(again.addr, f"{prefix}-{args.restart_jobs - 1:07d}"))
        total = time.perf_counter() - t0
        cpu = cpu_seconds(again.pid)
        again.stop(signal.SIGKILL)
        results.append(
            {"loadavg": load, "listening_s": round(listening, 3), "first_answer_s": round(total, 3),
             "answered": answered is not None, "server_cpu_s": round(cpu, 3)}
        )
    print(json.dumps({"workload": "restart", "jobs": args.restart_jobs, "fill_s": round(fill_s, 1),
                      "fill_errors": errors, "rss_kb_before_kill": rss, "data_bytes": size,
                      "runs": results}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workloads", default="w1,w2,w2wrk,w3,w5")
    ap.add_argument("--fanout", default="1000,5000")
    ap.add_argument("--restart-jobs", type=int, default=100_000)
    ap.add_argument("--restart-settle", type=float, default=5.0)
    ap.add_argument("--agent-arg", action="append", default=[])
    args = ap.parse_args()
    workloads = args.workloads.split(",")
    tmp = tempfile.mkdtemp(prefix="caravan-perf-", dir=os.environ.get("CARAVAN_PERF_TMP"))
    print(json.dumps({"bin": args.bin, "nproc": os.cpu_count(), "loadavg": loadavg()}), flush=True)
    try:
        if "restart" in workloads:
            restart(args, os.path.join(tmp, "restart"))
        rest = [w for w in workloads if w != "restart"]
        if not rest:
            return
        agent = Agent(args.bin, os.path.join(tmp, "data"), args.agent_arg).start()
        try:
            tag = int(time.time())
            for r in range(args.runs):
                if "w1" in rest:
                    measured(agent, "w1-register-seq", lambda: register(agent, 500, 1, 20, f"seq-{tag}-{r}"),
                             lambda o: o["ok"] + 20)
                if "w2" in rest:
                    measured(agent, "w2-register-c16",
                             lambda: register(agent, 2000, 16, 32, f"c16-{tag}-{r}"), lambda o: o["ok"] + 32)
            if "w2wrk" in rest:
                for r in range(args.runs):
                    measured(agent, "w2-register-wrk-c16", lambda: wrk_register(agent),
                             lambda o: int(o.get("requests", 0)))
            if "w3" in rest:
                jid = f"perf-get-{tag}"
                asyncio.run(fill(agent.addr, 1, jid, conns=1))
                path = f"/v1/job/{jid}-0000000"
                time.sleep(1)
                for conns in (1, 16):
                    for r in range(args.runs):
                        measured(agent, f"w3-get-c{conns}", lambda: wrk_get(agent, conns, path),
                                 lambda o: o["requests"])
            if "w4" in rest:
                # No node here: the placeable variant (dc1) needs one.
                for variant, count, warmup in (("unplaceable", 200, 10), ("bigdiff", 20, 2)):
                    for r in range(args.runs):
                        measured(agent, f"w4-plan-{variant}", lambda: plan(agent, variant, count, warmup),
                                 lambda o: count + warmup)
            if "w5" in rest:
                for k in [int(x) for x in args.fanout.split(",")]:
                    for r in range(args.runs):
                        measured(agent, f"w5-fanout-{k}", lambda: fanout(agent, k, f"watch-{tag}-{k}-{r}"),
                                 lambda o: o["woken"] + 3)
                        time.sleep(2)
        finally:
            agent.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
