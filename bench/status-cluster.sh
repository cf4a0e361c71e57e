#!/usr/bin/env bash
# Status of N REAL finished tasks (default 10,000) on the test cluster (tests/cluster/): a production
# of N tasks of the SPINE test double (one empty input each, the shortest task there is) is
# submitted in arrays of the cluster's MaxArraySize, run to the end, then `dotnet build -t:Status`
# is timed cold (no marker index, nothing settled, no trace: the first Status after the tasks ran)
# and warm (the next ones: every job settled). The node has 2 CPUs and runs about 2 tasks a second,
# so 10,000 tasks take over an hour: the cluster tests' lock is held to submit and to time Status,
# not while the tasks run; their jobs run at the lowest priority (Nice), so a test's job is started
# before them and waits at most for one of their tasks to end. A finished production is kept
# (bench/out/status-cluster<N>/) and reused while the cluster still knows its jobs.
#   bench/status-cluster.sh [N]        (BENCH_RUNS=3 by default; BENCH_FRESH=1 runs the tasks again)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
root=$PWD
n=${1:-10000}
runs=${BENCH_RUNS:-3}
dir=$root/bench/out/status-cluster$n
proj=$dir/status$n.spineproj
row() { printf '| %-58s | %s |\n' "$1" "$2"; }
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# The tasks run in-proc, as a packed SDK (what a physicist installs) runs them. From a clone they
# run in a task host, which only guards against a reused MSBuild node (none here) and costs a
# process start and JIT per task: about 1 s of a small Status on this machine.
export SpineProdTaskFactory=AssemblyTaskFactory

exec 9>/tmp/spineprod-cluster-tests.lock
flock 9
bash tests/cluster/start.sh >/dev/null 2>&1 || { row "cluster" "tests/cluster/start.sh failed"; exit 1; }

state_dir() { python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['StateDir'])" "$dir/obj/status$n/plan.json"; }
job_ids() { python3 - "$(state_dir)/submissions.json" <<'PY'
import json, sys
ledger = json.load(open(sys.argv[1]))
print(','.join(a['JobId'] for s in ledger['Submissions'] for st in s['Stages'] for a in st['Arrays'] if a.get('JobId')))
PY
}

# Reuse a finished run while sacct still knows its first job (the cluster keeps its accounting).
if [ "${BENCH_FRESH:-0}" = 1 ] || [ ! -f "$dir/ready" ] || [ -z "$(sacct -n -X -P -j "$(job_ids | cut -d, -f1)" -o JobID 2>/dev/null)" ]; then
  rm -rf "$dir"; mkdir -p "$dir/inputs"
  empty_inputs "$dir" "$n"
  cat > "$proj" <<XML
<Project Sdk="SpineProd.Sdk">
  <PropertyGroup>
    <SpineConfig>$root/infer/icarus/latest</SpineConfig>
    <SpineCommand>$root/tests/doubles/spine-test-double.sh</SpineCommand>
    <Container>none</Container>
    <Account>ci</Account><Partition>cpu</Partition><MemPerCpu>100M</MemPerCpu><Time>00:05:00</Time>
    <Gpus>0</Gpus><CpusPerTask>1</CpusPerTask>
    <JobsDir>$dir/jobs/</JobsDir>
  </PropertyGroup>
  <ItemGroup><SourceList Include="inputs.txt" /></ItemGroup>
</Project>
XML
  start=$(date +%s)
  dotnet build "$proj" -nologo -v:q -t:Submit >/dev/null
  ids=$(job_ids)
  for id in ${ids//,/ }; do scontrol update JobId="$id" Nice=100000 >/dev/null 2>&1 || true; done   # "already finished" for tasks done: not an error here
  flock -u 9   # the tests may use the cluster meanwhile: their jobs go first
  # wait for every task to leave the queue (a poll every 10 s; no Status is run meanwhile)
  while [ -n "$(squeue -h -r -t pending,running,completing -j "$ids" -o %i 2>/dev/null | head -1)" ]; do sleep 10; done
  sleep 5   # sacct's last rows
  echo "$(( $(date +%s) - start ))" > "$dir/ready"
  flock 9
fi
dotnet build "$proj" -nologo -v:q >/dev/null   # plan up to date, task assembly built: not timed
state=$(state_dir)
row "$n real tasks: Submit to the last task's end (once)" "$(cat "$dir/ready") s"
cold="rm -f '$state'/markers/*.verified '$state/trace.tsv' '$state/status.json' '$state/settled.bin'"
r=$(python3 bench/measure.py "$runs" "$cold" dotnet build "$proj" -nologo -t:Status)
row "Status of $n real finished tasks, cold (no marker index)" "$r"
dotnet build "$proj" -nologo -v:q -t:Status >/dev/null   # builds the index and settles the jobs
r=$(python3 bench/measure.py "$runs" "" dotnet build "$proj" -nologo -t:Status)
row "Status of $n real finished tasks, warm" "$r"
done=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['totals']['completed'])" "$state/status.json")
row "  tasks complete (markers verified)" "$done of $n"
