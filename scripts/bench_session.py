#!/usr/bin/env python3
"""Lifeline on the shared bench workloads: one agent and one headless viewer per
workload on a 1920x1080 Xvfb, measured over the workload's active window.

Prints one Markdown table: Mbit/s of video, frames decoded per second, capture-to-
decoded latency p50/p95 (both ends on this machine, so one clock), and the CPU of the
agent and of the viewer in % of one core. With --record the viewer also records the
session (`--record FILE`) and the table gives the recording's growth in MB per minute
over the same window (and checks the file with `recording verify`). Usage
(scripts/bench-session.sh does the setup and build):

    scripts/bench_session.py --bench ../shared/bench --bin target/release [--seconds 20] [--workloads "W1 W2 W3 W4"] [--record]
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import xdisplays  # noqa: E402 (scripts/ is on the path when run as a script)

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU seconds of a live process (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_display():
    return xdisplays.free_display(91, 140)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def run_workload(args, workload):
    display = free_display()
    state = tempfile.mkdtemp(prefix="lifeline-bench-state-")
    data = tempfile.mkdtemp(prefix="lifeline-bench-data-")
    env = dict(os.environ, DISPLAY=display, PEERS_STATE=state)
    started = []
    try:
        xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1920x1080x24", "-nolisten", "tcp", "-noreset"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(xvfb)
        wait_for(lambda: os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"), 10, "Xvfb")
        time.sleep(0.5)
        subprocess.run([f"{args.bench}/workload.sh", "desktop", display], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        address = f"127.0.0.1:{free_port()}"
        code_file = os.path.join(data, "code")
        agent = subprocess.Popen(
            [f"{args.bin}/lifeline-agent", "--listen", address, "--display", display, "--consent", "tty",
             "--data-dir", data, "--code-file", code_file, "--lang", "en"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        started.append(agent)
        agent.stdin.write(b"y\n")
        agent.stdin.flush()
        wait_for(lambda: os.path.exists(code_file), 20, "the agent's code")
        code = open(code_file).read().strip()
        runner_log = open(os.path.join(data, "workload.log"), "w")
        runner = subprocess.Popen([f"{args.bench}/workload.sh", "run", display, workload,
                                   str(args.seconds + args.warmup + args.settle)], env=env,
                                  stdout=runner_log, stderr=subprocess.STDOUT)
        started.append(runner)
        active = os.path.join(state, f"disp{display[1:]}", "active")
        wait_for(lambda: os.path.exists(active) or runner.poll() is not None, 30, "the workload to start")
        if not os.path.exists(active):
            sys.exit(f"{workload} did not start: " + open(os.path.join(data, "workload.log")).read())
        stats_path = os.path.join(data, "stats.json")
        viewer_dir = os.path.join(data, "viewer")
        recording = os.path.join(data, "session.llrec")
        viewer = subprocess.Popen(
            [f"{args.bin}/lifeline-viewer", "--data-dir", viewer_dir, "connect", address, "--code", code,
             "--headless", "--seconds", str(args.seconds + args.settle + 1), "--stats", stats_path]
            + (["--record", recording] if args.record else []),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        def recorded_bytes():
            return os.path.getsize(recording) if args.record and os.path.exists(recording) else 0
        started.append(viewer)
        # Let the session start and the first keyframe pass, then measure a window.
        time.sleep(args.settle)
        t0, agent0, viewer0, rec0 = time.time(), cpu_seconds(agent.pid), cpu_seconds(viewer.pid), recorded_bytes()
        time.sleep(args.seconds)
        t1, agent1, viewer1, rec1 = time.time(), cpu_seconds(agent.pid), cpu_seconds(viewer.pid), recorded_bytes()
        _, err = viewer.communicate(timeout=60)
        if viewer.returncode != 0:
            sys.exit(f"{workload}: the viewer failed: {err.decode(errors='replace')}")
        stats = json.load(open(stats_path))
        window = [(t, b, l) for (t, b, l) in stats["timeline"] if t0 * 1000 <= t <= t1 * 1000]
        latencies = sorted(l for (_, _, l) in window)
        def pct(q):
            return latencies[min(len(latencies) - 1, int(round(q * (len(latencies) - 1))))] if latencies else float("nan")
        wall = t1 - t0
        verified = ""
        if args.record:
            check = subprocess.run([f"{args.bin}/lifeline-viewer", "recording", "verify", recording],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            verified = "OK" if check.returncode == 0 else f"verify exit {check.returncode}"
        return {
            "rec_mb_min": (rec1 - rec0) / wall * 60 / 1e6,
            "rec_total_mb": recorded_bytes() / 1e6,
            "verified": verified,
            "workload": workload,
            "mbit_s": sum(b for (_, b, _) in window) * 8 / wall / 1e6,
            "fps": len(window) / wall,
            "latency_p50": pct(0.5),
            "latency_p95": pct(0.95),
            "agent_cpu": 100 * (agent1 - agent0) / wall,
            "viewer_cpu": 100 * (viewer1 - viewer0) / wall,
        }
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.kill()
                process.wait()
        subprocess.run([f"{args.bench}/workload.sh", "teardown", display], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True, help="the shared bench folder (workload.sh)")
    parser.add_argument("--bin", required=True, help="folder with lifeline-agent and lifeline-viewer")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--settle", type=int, default=3, help="seconds between connecting and measuring")
    parser.add_argument("--workloads", default="W1 W2 W3 W4")
    parser.add_argument("--record", action="store_true", help="also record each session and report its size")
    args = parser.parse_args()
    rows = [run_workload(args, w) for w in args.workloads.split()]
    if args.record:
        print("| workload | Mbit/s | frames/s decoded | recording MB/min | recording MB/hour | verify |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['workload']} | {r['mbit_s']:.3f} | {r['fps']:.1f} | {r['rec_mb_min']:.2f} "
                  f"| {r['rec_mb_min'] * 60:.0f} | {r['verified']} |")
        return
    print("| workload | Mbit/s | frames/s decoded | latency p50 / p95 (ms) | agent CPU | viewer CPU |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workload']} | {r['mbit_s']:.3f} | {r['fps']:.1f} | {r['latency_p50']:.0f} / {r['latency_p95']:.0f} "
              f"| {r['agent_cpu']:.1f}% | {r['viewer_cpu']:.1f}% |")


if __name__ == "__main__":
    main()
