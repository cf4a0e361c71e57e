#!/usr/bin/env bash
# Status of a production of N tasks (default 1,000,000) that all ran, against a stand-in for
# SLURM's answer at that scale (bench/fake-slurm/ on PATH: sbatch hands out ids, sacct prints rows
# generated here in sacct -P's format, three a task: the task, .batch and .extern steps). Every
# task has its completion marker, as a finished production has. Prints rows for bench/RESULTS.md.
#   bench/usage.sh [N]        (BENCH_RUNS=3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=${1:-1000000}
runs=${BENCH_RUNS:-3}
out=$root/bench/out/usage$n
row() { printf '| %-58s | %s |\n' "$1" "$2"; }
export FAKE_SLURM_DIR=$out/slurm PATH=$root/bench/fake-slurm:$PATH
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
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
