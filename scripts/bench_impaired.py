#!/usr/bin/env python3
"""Lifeline on impaired networks: the agent and the headless viewer each in a network
namespace of their own, joined by a veth pair, on the shared W2 workload (terminal
scroll, 1920x1080), one run per link condition.

Rate caps are the kernel's (tc tbf, 200 ms of queue); delay, loss and the outage come
from the `impaired-link` relay in the viewer's namespace (kernels without sch_netem,
such as CI's, have no `tc netem`). Prints one Markdown table: Mbit/s of video, frames
decoded per second, capture-to-decoded latency p50/p95 (one machine, one clock), the
p95 target of the issue (2 x RTT + 150 ms under a cap), the picture scales the agent
chose, and for the outage how long after the link came back the picture was current
again (first frame captured after the return).

    scripts/bench_impaired.py --bench ../shared/bench --bin target/release [--seconds 15]

Needs root (ip netns). Namespaces, addresses (10.77.200.0/24) and processes are removed
at the end, also on Ctrl+C.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import xdisplays  # noqa: E402 (scripts/ is on the path when run as a script)

CASES = [
    # name, one-way delay ms, loss %, cap kbit/s, outage s, preference
    ("clean link", 0, 0, None, None, "quality"),
    ("50 ms RTT", 25, 0, None, None, "quality"),
    ("150 ms RTT, 2% loss", 75, 2, None, None, "quality"),
    ("2 Mbit/s cap", 0, 0, 2000, None, "quality"),
    ("1 Mbit/s cap", 0, 0, 1000, None, "quality"),
    ("2 Mbit/s cap, prefer speed", 0, 0, 2000, None, "speed"),
    ("0.5 Mbit/s cap", 0, 0, 500, None, "quality"),
    ("0.5 Mbit/s cap, prefer speed", 0, 0, 500, None, "speed"),
    ("3 s outage", 10, 0, None, 3, "quality"),
]


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def free_display():
    return xdisplays.free_display(141, 190)


class Link:
    """Two namespaces and a veth pair, removed by close()."""

    def __init__(self):
        pid = os.getpid()
        self.agent_ns, self.viewer_ns = f"llbench{pid}a", f"llbench{pid}v"
        self.agent_ip, self.viewer_ip = "10.77.200.1", "10.77.200.2"
        sh("ip", "netns", "add", self.agent_ns)
        sh("ip", "netns", "add", self.viewer_ns)
        sh("ip", "link", "add", "llba", "netns", self.agent_ns, "type", "veth", "peer", "name", "llbv",
           "netns", self.viewer_ns)
        for ns, dev, ip in ((self.agent_ns, "llba", self.agent_ip), (self.viewer_ns, "llbv", self.viewer_ip)):
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def cap(self, kbit):
        burst = str(max(kbit * 1000 // 8 // 100, 4000))
        for ns, dev in ((self.agent_ns, "llba"), (self.viewer_ns, "llbv")):
            sh("tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{kbit}kbit",
               "burst", burst, "latency", "200ms")

    def close(self):
        for ns in (self.agent_ns, self.viewer_ns):
            sh("ip", "netns", "del", ns, check=False)


def log_file(args, name, side):
    """Where a process logs: a file in --logs, or nowhere."""
    if not args.logs:
        return subprocess.DEVNULL
    os.makedirs(args.logs, exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in name)
    return open(os.path.join(args.logs, f"{slug}-{side}.log"), "w")


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def run_case(args, case):
    name, delay_ms, loss, cap, outage, prefer = case
    display = free_display()
    state = tempfile.mkdtemp(prefix="lifeline-impaired-state-")
    data = tempfile.mkdtemp(prefix="lifeline-impaired-data-")
    env = dict(os.environ, DISPLAY=display, PEERS_STATE=state)
    started = []
    link = Link()
    try:
        xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1920x1080x24", "-nolisten", "tcp", "-noreset"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(xvfb)
        wait_for(lambda: os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"), 10, "Xvfb")
        time.sleep(0.5)
        subprocess.run([f"{args.bench}/workload.sh", "desktop", display], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        agent_address = f"{link.agent_ip}:4433"
        code_file = os.path.join(data, "code")
        agent = subprocess.Popen(
            ["ip", "netns", "exec", link.agent_ns, f"{args.bin}/lifeline-agent", "--listen", agent_address,
             "--display", display, "--consent", "tty", "--data-dir", data, "--code-file", code_file,
             "--lang", "en", *args.agent_arg],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log_file(args, name, "agent"), env=env)
        started.append(agent)
        agent.stdin.write(b"y\n")
        agent.stdin.flush()
        wait_for(lambda: os.path.exists(code_file), 20, "the agent's code")
        code = open(code_file).read().strip()
        relay = subprocess.Popen(
            ["ip", "netns", "exec", link.viewer_ns, f"{args.bin}/impaired-link", "--listen", "127.0.0.1:0",
             "--to", agent_address, "--delay-ms", str(delay_ms), "--loss-percent", str(loss)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        started.append(relay)
        relay_address = relay.stdout.readline().decode().strip().removeprefix("listening on ")
        if cap:
            link.cap(cap)
        runner_log = open(os.path.join(data, "workload.log"), "w")
        total = args.seconds + args.warmup + args.settle
        runner = subprocess.Popen([f"{args.bench}/workload.sh", "run", display, args.workload, str(total)], env=env,
                                  stdout=runner_log, stderr=subprocess.STDOUT)
        started.append(runner)
        active = os.path.join(state, f"disp{display[1:]}", "active")
        wait_for(lambda: os.path.exists(active) or runner.poll() is not None, 30, "the workload to start")
        stats_path = os.path.join(data, "stats.json")
        viewer = subprocess.Popen(
            ["ip", "netns", "exec", link.viewer_ns, f"{args.bin}/lifeline-viewer", "--data-dir",
             os.path.join(data, "viewer"), "connect", relay_address, "--code", code, "--headless",
             "--seconds", str(args.seconds + args.settle + 1), "--stats", stats_path, "--prefer", prefer],
            stdout=subprocess.DEVNULL, stderr=log_file(args, name, "viewer") or subprocess.PIPE)
        started.append(viewer)
        time.sleep(args.settle)
        t0 = time.time()
        back = None
        if outage:
            time.sleep(args.seconds / 2 - outage / 2)
            relay.stdin.write(b"down\n")
            relay.stdin.flush()
            time.sleep(outage)
            relay.stdin.write(b"up\n")
            relay.stdin.flush()
            back = time.time()
            time.sleep(t0 + args.seconds - time.time())
        else:
            time.sleep(args.seconds)
        t1 = time.time()
        _, err = viewer.communicate(timeout=90)
        if viewer.returncode != 0:
            return {"name": name, "error": (err or b"see the viewer's log").decode(errors="replace").strip().splitlines()[-1:]}
        stats = json.load(open(stats_path))
        if args.logs:
            shutil.copy(stats_path, os.path.join(args.logs, "".join(c if c.isalnum() else "-" for c in name) + "-stats.json"))
        window = [(t, b, l) for (t, b, l) in stats["timeline"] if t0 * 1000 <= t <= t1 * 1000]
        latencies = [l for (_, _, l) in window]
        wall = t1 - t0
        scales = sorted({f"{w}x{h}" for (_, w, h, _, _) in stats.get("quality_changes", [])})
        recovery = ""
        if back:
            # The first frame shown after the return that was captured after it.
            after = [t for (t, _, l) in stats["timeline"] if t >= back * 1000 and t - l >= back * 1000]
            recovery = f"{after[0] - back * 1000:.0f} ms" if after else "never"
        rtt = 2 * delay_ms
        return {
            "name": name,
            "mbit_s": sum(b for (_, b, _) in window) * 8 / wall / 1e6,
            "fps": len(window) / wall,
            "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "target": f"{2 * rtt + 150} ms" if cap else "",
            "scales": ", ".join(scales),
            "recovery": recovery,
        }
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.kill()
                process.wait()
        subprocess.run([f"{args.bench}/workload.sh", "teardown", display], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        link.close()
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True, help="the shared bench folder (workload.sh)")
    parser.add_argument("--bin", required=True, help="folder with lifeline-agent, lifeline-viewer, impaired-link")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--settle", type=int, default=4, help="seconds between connecting and measuring")
    parser.add_argument("--cases", default="", help="only cases whose name contains this")
    parser.add_argument("--logs", default="", help="keep the agent's and viewer's logs in this folder")
    parser.add_argument("--workload", default="W2", choices=["W1", "W2", "W3", "W4"])
    parser.add_argument("--agent-arg", action="append", default=[],
                        help="extra argument for the agent, e.g. --agent-arg=--video-tuning=text (repeatable)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root for network namespaces (ip netns)")
    rows = [run_case(args, c) for c in CASES if args.cases in c[0]]
    tuning = " ".join(args.agent_arg)
    print(f"| link ({args.workload}, 1920x1080{', ' + tuning if tuning else ''}) | Mbit/s | frames/s | latency p50 / p95 (ms) | p95 target | picture sizes sent | picture current after the outage |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['name']} | failed: {r['error']} | | | | | |")
            continue
        print(f"| {r['name']} | {r['mbit_s']:.2f} | {r['fps']:.1f} | {r['p50']:.0f} / {r['p95']:.0f} "
              f"| {r['target']} | {r['scales']} | {r['recovery']} |")


if __name__ == "__main__":
    main()
