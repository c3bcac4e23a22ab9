#!/usr/bin/python3
"""Lifeline side by side with the peers of ../shared/bench, in one run, one table.

Runs the shared harness (harness.py, unmodified) for Lifeline -- the agent on the
shared display, the window viewer full screen on the viewer display, drawing the
remote screen 1:1 from the top left so that the harness's latency probe finds its
marker at (1792, 960) -- and then for x11vnc + TigerVNC, ffmpeg x11grab + libx264 and
x11grab + openh264, on the same workloads with the same options. Prints one Markdown
table (medians over repetitions): Mbit/s, agent and viewer CPU (% of one core),
marker latency p50 / p95, frames shown per second on the viewer's display, and the CPU
other tenants of the machine took meanwhile. Then, for Lifeline, where the time of a
frame goes, from the stage statistics the agent and the viewer log (target `stages`).

    scripts/bench_peers.py --bench ../shared/bench --bin target/release \
        [--seconds 20] [--reps 3] [--latency-reps 1] [--workloads "W1 W2 W3 W4"] \
        [--systems "lifeline vnc x264 openh264"] [--results DIR]

scripts/bench-peers.sh does the one-time setup (packages, the bench's helpers and
assets) and the release build first. Results: one JSONL file per system in --results
(default /tmp/peers/results/compare-<time>), run directories under /tmp/peers/runs.
"""
import argparse
import datetime
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

PY = "/usr/bin/python3"
ORDER = ["W1", "W2", "W3", "W4"]
# system -> (label, runner script, its first argument, peer name, config name in the records)
PEERS = {
    "vnc": ("x11vnc + TigerVNC (Tight)", "run-vnc.sh", "auto", "vnc", "x11vnc-auto"),
    "x264": ("ffmpeg x11grab + libx264 ultrafast", "run-ffmpeg.sh", "x264", "ffmpeg", "x264"),
    "openh264": ("x11grab + openh264 screen 4 Mbit/s", "run-ffmpeg.sh", "openh264", "ffmpeg", "openh264"),
}
LIFELINE = ("Lifeline", "lifeline", "default")


def run_lifeline(args, out):
    agent = os.path.abspath(os.path.join(args.bin, "lifeline-agent"))
    viewer = os.path.abspath(os.path.join(args.bin, "lifeline-viewer"))
    # The harness empties {run} between runs but cannot remove folders, so the data
    # folders are fresh temporary ones (removed at the end of this script).
    server = (
        f'exec {agent} --listen 127.0.0.1:{{port}} --display {{sdisp}} --consent tty --lang en '
        f'--data-dir "$(mktemp -d /tmp/lifeline-bench-agent.XXXXXX)" --code-file {{run}}/code '
        f'< <(echo y; sleep {{total}})'
    )
    client = (
        'for i in $(seq 400); do [ -s {run}/code ] && break; sleep 0.05; done; '
        f'exec {viewer} --data-dir "$(mktemp -d /tmp/lifeline-bench-viewer.XXXXXX)" --fullscreen '
        'connect 127.0.0.1:{port} --code "$(cat {run}/code)" --name Bench'
    )
    env = dict(os.environ, RUST_LOG="info,stages=debug")
    subprocess.run([PY, os.path.join(args.bench, "harness.py"), "--peer", "lifeline", "--config", "default",
                    "--proto", "udp", "--port", "4433", "--server-cmd", server, "--client-cmd", client,
                    "--out", out, *harness_options(args)], env=env, check=False)


def harness_options(args):
    return ["--workloads", args.workloads, "--reps", str(args.reps), "--latency-reps", str(args.latency_reps),
            "--seconds", str(args.seconds)]


def run_peer(args, system, out):
    _, script, first, _, _ = PEERS[system]
    subprocess.run([os.path.join(args.bench, script), first, "--out", out, *harness_options(args)], check=False)


def med(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def fmt(value, digits=1):
    if value is None:
        return "–"
    return f"{value:.{digits}f}"


def table(records, systems):
    lines = ["| workload | system | Mbit/s | agent CPU % | viewer CPU % | latency p50 / p95 ms "
             "| frames shown/s | others CPU % | runs |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for workload in ORDER:
        for label, peer, config in systems:
            mine = [r for r in records if (r["peer"], r["config"], r["workload"]) == (peer, config, workload)
                    and "error" not in r]
            cpu = [r for r in mine if r["pass"] == "cpu"]
            lat = [r.get("latency", {}) for r in mine if r["pass"] == "latency"]
            if not mine:
                continue
            p50, p95 = med([l.get("median_ms") for l in lat]), med([l.get("p95_ms") for l in lat])
            lines.append(
                f"| {workload} | {label} | {fmt(med([r.get('mbit_s') for r in cpu]), 2)} "
                f"| {fmt(med([r.get('server_cpu_pct') for r in cpu]))} "
                f"| {fmt(med([r.get('client_cpu_pct') for r in cpu]))} "
                f"| {fmt(p50, 0)} / {fmt(p95, 0)} "
                f"| {fmt(med([r.get('client_fps') for r in cpu]))} "
                f"| {fmt(med([r.get('others_cpu_pct') for r in mine]), 0)} "
                f"| {len(cpu)} + {len(lat)} |")
    return "\n".join(lines)


STAGE_LINE = re.compile(r"^(\S+Z)\s+DEBUG\s+stages: (\w+) (.*)$")


def stage_lines(path, window):
    """`name key=value ...` lines logged by target `stages` inside the window."""
    out = []
    try:
        text = open(path, errors="replace").read()
    except OSError:
        return out
    for line in text.splitlines():
        m = STAGE_LINE.match(line)
        if not m:
            continue
        when = datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
        if window[0] <= when <= window[1] + 0.5:
            values = {}
            for pair in m.group(3).split():
                key, _, value = pair.partition("=")
                try:
                    values[key] = float(value)
                except ValueError:
                    pass
            out.append((m.group(2), values))
    return out


def breakdown(records, workdir):
    """Mean per-stage times of Lifeline's frames in each workload's CPU pass."""
    rows = []
    for workload in ORDER:
        rs = [r for r in records if r["peer"] == "lifeline" and r["workload"] == workload and r["pass"] == "cpu"
              and "error" not in r]
        if not rs:
            continue
        sums = {}
        for r in rs:
            run = os.path.join(workdir, "runs", f"lifeline-default-{workload}-r{r['rep']}")
            for log in ("server.log", "client.log"):
                for name, values in stage_lines(os.path.join(run, log), r["window_wall"]):
                    frames = values.get("frames", 0)
                    for key, value in values.items():
                        if key.endswith("_ms"):
                            total = sums.setdefault(f"{name}.{key}", [0.0, 0.0])
                            total[0] += value * frames
                            total[1] += frames
        means = {key: (total[0] / total[1] if total[1] else None) for key, total in sums.items()}
        rows.append((workload, means))
    return rows


def breakdown_table(rows):
    agent = ["agent.capture_ms", "agent.detect_ms", "agent.convert_ms", "agent.encode_ms", "agent.queue_ms"]
    columns = [
        ("agent.pace_ms", "wait (pacing, viewer acks)"), ("agent.capture_ms", "capture"), ("agent.detect_ms", "change detection"),
        ("agent.convert_ms", "classify + convert (+ scale)"), ("agent.encode_ms", "encode"),
        ("agent.queue_ms", "queue to network"), ("send", "send + transit"),
        ("viewer.decode_wait_ms", "decode queue"), ("viewer.decode_ms", "decode (+ upscale, to RGBA)"),
        ("window.pickup_ms", "wait for window"), ("window.upload_ms", "texture upload"),
        ("window.draw_ms", "window pass (upload, layout, paint)"),
    ]
    lines = ["| workload | " + " | ".join(label for _, label in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for workload, means in rows:
        network = means.get("viewer.network_ms")
        known = [means.get(key) for key in agent]
        if network is not None and None not in known:
            means["send"] = max(0.0, network - sum(known))
        lines.append(f"| {workload} | " + " | ".join(fmt(means.get(key)) for key, _ in columns) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True, help="the shared bench folder (harness.py)")
    parser.add_argument("--bin", required=True, help="folder with lifeline-agent and lifeline-viewer")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--latency-reps", type=int, default=1)
    parser.add_argument("--workloads", default="W1 W2 W3 W4")
    parser.add_argument("--systems", default="lifeline vnc x264 openh264")
    parser.add_argument("--results", default=None)
    parser.add_argument("--workdir", default="/tmp/peers")
    args = parser.parse_args()
    results = args.results or os.path.join(
        args.workdir, "results", "compare-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs(results, exist_ok=True)
    systems = args.systems.split()
    unknown = [s for s in systems if s != "lifeline" and s not in PEERS]
    if unknown:
        sys.exit(f"unknown systems {unknown}; choose from lifeline {' '.join(PEERS)}")
    try:
        for system in systems:
            out = os.path.join(results, f"{system}.jsonl")
            if system == "lifeline":
                run_lifeline(args, out)
            else:
                run_peer(args, system, out)
    finally:
        for folder in glob.glob("/tmp/lifeline-bench-agent.*") + glob.glob("/tmp/lifeline-bench-viewer.*"):
            shutil.rmtree(folder, ignore_errors=True)
    records = []
    for path in sorted(glob.glob(os.path.join(results, "*.jsonl"))):
        records += [json.loads(line) for line in open(path) if line.strip()]
    labels = [LIFELINE] + [(PEERS[s][0], PEERS[s][3], PEERS[s][4]) for s in PEERS]
    shown = [l for l in labels if any((r["peer"], r["config"]) == l[1:] for r in records)]
    print(f"{datetime.date.today()}, {os.uname().nodename}, {os.cpu_count()} cores; "
          f"{args.seconds} s windows, {args.reps} CPU/bandwidth + {args.latency_reps} latency run(s) per workload")
    print()
    print(table(records, shown))
    rows = breakdown(records, args.workdir)
    if rows:
        print()
        print("Lifeline, mean ms per frame in the CPU runs:")
        print()
        print(breakdown_table(rows))
    failed = [r for r in records if "error" in r]
    for r in failed:
        print(f"- failed: {r['peer']}/{r['config']} {r['workload']} {r['pass']} rep {r['rep']}: {r['error']}")
    print(f"\nrecords: {results}")


if __name__ == "__main__":
    main()
