#!/usr/bin/env python3
"""Runs a command several times; prints the median wall time and the peak memory of its whole
process tree (the MSBuild entry process, worker nodes and task hosts together), sampled from /proc
every 20 ms; with MEASURE_MSBUILD_SERVER=1, plus the MSBuild server's process tree (which is not
the command's child). Used by bench/run.sh; not a test."""
import json, os, statistics, subprocess, sys, time

def rss_kb(pid):
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

def tree_rss_kb(root):
    children = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(pid))
        except (OSError, IndexError, ValueError):
            pass
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss_kb(pid)
        stack.extend(children.get(pid, []))
    return total

def msbuild_server_pids():
    """With the MSBuild server the build runs in the server process (MSBuild node mode 8) and its
    task hosts, which are not children of the command."""
    pids = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                if b'nodemode:8' in f.read().lower():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids

WITH_SERVER = os.environ.get('MEASURE_MSBUILD_SERVER') == '1'

def run_once(cmd, env):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    peak = 0
    while proc.poll() is None:
        rss = tree_rss_kb(proc.pid)
        if WITH_SERVER:
            rss += sum(tree_rss_kb(pid) for pid in msbuild_server_pids())
        peak = max(peak, rss)
        time.sleep(0.02)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f'command failed ({proc.returncode}): {" ".join(cmd)}')
    return wall, peak

def main():
    runs = int(sys.argv[1]); prepare = sys.argv[2]; cmd = sys.argv[3:]
    walls, peaks = [], []
    for _ in range(runs):
        if prepare:
            subprocess.run(prepare, shell=True, check=True)
        w, p = run_once(cmd, os.environ.copy())
        walls.append(w); peaks.append(p)
    print(json.dumps({"median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3),
                      "max_s": round(max(walls), 3), "peak_mb": round(max(peaks) / 1024, 1), "runs": runs}))

main()
