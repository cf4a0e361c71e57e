#!/usr/bin/env python3
"""Runs a command several times; prints the median wall time and the peak memory of its whole
process tree (the MSBuild entry process, worker nodes and task hosts together), sampled from /proc
every 20 ms; with MEASURE_ALL_DOTNET=1, of every dotnet process on the machine (for the MSBuild
server, whose processes are not the command's children). Used by bench/run.sh; not a test."""
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

def all_dotnet_rss_kb():
    """RSS of every dotnet process: with the MSBuild server the build runs in processes that are
    not children of the command (the server and its task hosts)."""
    total = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/comm') as f:
                if f.read().strip() == 'dotnet':
                    total += rss_kb(pid)
        except OSError:
            pass
    return total

SYSTEM_WIDE = os.environ.get('MEASURE_ALL_DOTNET') == '1'

def run_once(cmd, env):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, all_dotnet_rss_kb() if SYSTEM_WIDE else tree_rss_kb(proc.pid))
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
