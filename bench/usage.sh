#!/usr/bin/env bash
# Status of a production of N tasks (default 1,000,000) that all ran, against a stand-in for
# SLURM's answer at that scale (bench/fake-slurm/ on PATH: sbatch hands out ids, sacct prints rows
# generated here in sacct -P's format, three a task: the task, .batch and .extern steps). Every
# task has its completion marker, as a finished production has. Prints rows for bench/RESULTS.md.
#   bench/usage.sh [N]        (BENCH_RUNS=3 by default; BENCH_ROWS=status for the Status rows only)
# The production is generated once into bench/out/usage<N>/ and reused (delete it to start again).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=${1:-1000000}
runs=${BENCH_RUNS:-3}
out=$root/bench/out/usage$n
row() { printf '| %-58s | %s |\n' "$1" "$2"; }
export FAKE_SLURM_DIR=$out/slurm PATH=$root/bench/fake-slurm:$PATH
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# The tasks run in-proc, as a packed SDK (what a physicist installs) runs them. From a clone they
# run in a task host, which only guards against a reused MSBuild node (none here) and costs a
# process start and JIT per task: about 1 s of a small Status on this machine.
export SpineProdTaskFactory=AssemblyTaskFactory
proj=$out/usage$n.spineproj

if [ ! -f "$out/ready" ]; then
  rm -rf "$out"; mkdir -p "$out/slurm"
  python3 - "$out/inputs.txt" "$n" <<'PY'
import sys
with open(sys.argv[1], 'w') as f:
    for i in range(int(sys.argv[2])):
        f.write(f'/sdf/data/icarus/prod/run{i//1000:04d}/icarus_bnb_run{i:07d}.larcv.root\n')
PY
  cat > "$proj" <<XML
<Project Sdk="SpineProd.Sdk">
  <PropertyGroup>
    <SpineConfig>$root/infer/icarus/latest</SpineConfig>
    <Container>none</Container>
    <MaxArraySize>1000</MaxArraySize>
    <Account>ci</Account><Partition>gpu</Partition><Gpus>1</Gpus><CpusPerTask>4</CpusPerTask>
    <MemPerCpu>8g</MemPerCpu><Time>4:00:00</Time>
    <JobsDir>$out/jobs/</JobsDir>
  </PropertyGroup>
  <ItemGroup><SourceList Include="inputs.txt" /></ItemGroup>
</Project>
XML
  dotnet build "$proj" -nologo -v:q -t:Submit >/dev/null
  # sacct's rows and the markers, from the ledger and the plan
  python3 - "$out" <<'PY'
import json, os, random, sys
out = sys.argv[1]
plan = json.load(open(os.path.join(out, 'obj', os.path.basename(out), 'plan.json')))
stage = plan['Stages'][0]
state = plan['StateDir']
ledger = json.load(open(os.path.join(state, 'submissions.json')))
inputs = [l.rstrip('\n') for l in open(os.path.join(out, 'inputs.txt'))]
markers = os.path.join(state, 'markers', stage['Name'])
os.makedirs(markers, exist_ok=True)
rnd = random.Random(1)
with open(os.path.join(out, 'slurm', 'sacct.txt'), 'w') as f:
    for sub in ledger['Submissions']:
        for st in sub['Stages']:
            for arr in st['Arrays']:
                jid, first = int(arr['JobId']), arr['FirstTask']
                a, b = (int(x) for x in arr['Tasks'].split('-'))
                for task in range(a, b + 1):
                    i = task - first
                    raw = jid + i + 1
                    el = rnd.randint(600, 2400)
                    cpu = el * 4 * rnd.uniform(0.5, 0.9)
                    rss = rnd.randint(2_800_000, 3_400_000)
                    t0 = '2026-11-29T01:00:00'; t1 = '2026-11-29T01:30:00'
                    f.write(f"{jid}_{i}|{raw}|COMPLETED|0:0|None|{arr['JobName']}|{el}|{int(cpu)//60:02d}:{int(cpu)%60:02d}.000||32G|240|4|billing=4,cpu=4,gres/gpu=1,mem=32G,node=1|sdfampere{task%100:03d}|{t0}|{t1}|{arr['Comment']}\n")
                    f.write(f"{jid}_{i}.batch|{raw}.batch|COMPLETED|0:0||batch|{el}|{int(cpu)//60:02d}:{int(cpu)%60:02d}.000|{rss}K|||4|cpu=4,gres/gpu=1,mem=32G,node=1|sdfampere{task%100:03d}|{t0}|{t1}|\n")
                    f.write(f"{jid}_{i}.extern|{raw}.extern|COMPLETED|0:0||extern|{el}|00:00.001|1024K|||4|billing=4,cpu=4,gres/gpu=1,mem=32G,node=1|sdfampere{task%100:03d}|{t0}|{t1}|\n")
                    with open(os.path.join(markers, f'{task}.done'), 'w') as m:
                        m.write(inputs[task] + '\n')
PY
  touch "$out/ready"
fi
dotnet build "$proj" -nologo -v:q >/dev/null   # plan up to date, task assembly built: not timed
rows=$(wc -l < "$out/slurm/sacct.txt")
state=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['StateDir'])" "$out/obj/usage$n/plan.json")

# Status: cold is the first Status after the tasks ran, by nobody before (no marker index: every
# marker is opened; nothing settled: all sacct rows read); "settling" is the first Status after the
# tasks ran when Status was run while they ran (markers verified before, but no job settled yet: all
# sacct rows are read once more, the jobs settle, trace.tsv is written whole); warm is every Status
# after that (every job settled, the stage settled: no sacct, no marker stat'ed, no trace row written).
status_rows() {
  local cold="rm -f '$state'/markers/*.verified '$state/trace.tsv' '$state/status.json' '$state/settled.bin'" r
  row "load average before (1/5/15 min)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  r=$(python3 bench/measure.py "$runs" "$cold" dotnet build "$proj" -nologo -t:Status)
  row "Status of $n finished tasks, cold ($rows sacct rows)" "$r"
  r=$(python3 bench/measure.py "$runs" "rm -f '$state/trace.tsv' '$state/settled.bin'" dotnet build "$proj" -nologo -t:Status)
  row "Status of $n finished tasks, settling (markers verified before)" "$r"
  dotnet build "$proj" -nologo -v:q -t:Status >/dev/null   # leaves what a warm Status finds
  r=$(python3 bench/measure.py "$runs" "" dotnet build "$proj" -nologo -t:Status)
  row "Status of $n finished tasks, warm" "$r"
  row "  trace.tsv written" "$(wc -l < "$state/trace.tsv") lines, $(du -h "$state/trace.tsv" | cut -f1)"
  row "  status.json written" "$(du -h "$state/status.json" | cut -f1)"
  row "  marker index / settled.bin" "$(du -ch "$state"/markers/*.verified | tail -1 | cut -f1) / $(du -h "$state/settled.bin" | cut -f1)"
  row "load average after (1/5/15 min)" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# Report (-t:Report): the same one query as Status, status.json and trace.tsv, then the HTML page drawn
# from the same attempts. Cold: after the tasks ran (no status.json, trace.tsv or marker index);
# warm: after a Status. The page's size must not grow with the production (aggregated charts,
# capped tables).
report_rows() {
  local page=$state/report.html r
  row "load average before (1/5/15 min)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  r=$(python3 bench/measure.py "$runs" "rm -f '$state'/markers/*.verified '$state/trace.tsv' '$state/status.json' '$state/settled.bin' '$page'" dotnet build "$proj" -nologo -t:Report)
  row "Report of $n finished tasks, cold" "$r"
  dotnet build "$proj" -nologo -v:q -t:Status >/dev/null   # what a warm Report finds
  r=$(python3 bench/measure.py "$runs" "" dotnet build "$proj" -nologo -t:Report)
  row "Report of $n finished tasks, warm" "$r"
  row "  report.html written" "$(du -h "$page" | cut -f1)"
  row "  of it in the report (-v:d)" "$(dotnet build "$proj" -nologo -v:d -t:Report | grep -o 'SpineProd report timings: .*' | head -1)"
  row "load average after (1/5/15 min)" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

case "${BENCH_ROWS:-all}" in
  status|all) status_rows ;;
esac
case "${BENCH_ROWS:-all}" in
  report|all) report_rows ;;
esac
