#!/usr/bin/env bash
# Cluster part of the benchmark (called by bench/run.sh): Submit of 10,000 tasks to the real test
# cluster and Status of those tasks, counting the scheduler commands each makes (a counting shim in
# front of sbatch/squeue/sacct/scancel on PATH). The tasks wait on a held job, so nothing runs; the
# production is cancelled at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
root=$PWD
out=$root/bench/out
runs=${1:-3}
n=${BENCH_SUBMIT_TASKS:-10000}
row() { printf '| %-58s | %s |\n' "$1" "$2"; }

bash tests/cluster/start.sh >/dev/null 2>&1 || { row "cluster" "tests/cluster/start.sh failed"; exit 0; }

shim=$out/shim
mkdir -p "$shim"
for tool in sbatch squeue sacct scancel scontrol; do
  real=$(command -v $tool)
  cat > "$shim/$tool" <<SH
#!/bin/sh
echo $tool >> "$out/calls.log"
exec "$real" "\$@"
SH
  chmod +x "$shim/$tool"
done

dir=$out/submit$n
mkdir -p "$dir/inputs"
if [ ! -f "$dir/inputs.txt" ]; then
  empty_inputs "$dir" "$n"
fi
hold=$(sbatch --parsable --hold --account=ci --job-name=spineprod-bench-hold --output=/dev/null --wrap=true)
cat > "$dir/submit$n.spineproj" <<XML
<Project Sdk="SpineProd.Sdk">
  <PropertyGroup>
    <SpineConfig>$root/infer/icarus/latest</SpineConfig>
    <SpineCommand>$root/tests/doubles/spine-test-double.sh</SpineCommand>
    <Container>none</Container>
    <Account>ci</Account><Partition>cpu</Partition><MemPerCpu>100M</MemPerCpu><Time>00:05:00</Time>
    <Gpus>0</Gpus><CpusPerTask>1</CpusPerTask>
    <Dependency>afterok:$hold</Dependency>
  </PropertyGroup>
  <ItemGroup><SourceList Include="inputs.txt" /></ItemGroup>
</Project>
XML
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0
dotnet build "$dir/submit$n.spineproj" -nologo -v:q >/dev/null   # plan once, outside the timing
rm -f "$out/calls.log"
start=$(date +%s.%N)
PATH=$shim:$PATH dotnet build "$dir/submit$n.spineproj" -nologo -v:q -t:Submit >/dev/null
wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')
row "Submit of $n tasks: wall time (one run)" "$wall s"
row "  sbatch calls (MaxArraySize from the cluster)" "$(grep -c '^sbatch$' "$out/calls.log" || true)"
rm -f "$out/calls.log"
r=$(PATH=$shim:$PATH python3 bench/measure.py "$runs" "" dotnet build "$dir/submit$n.spineproj" -nologo -t:Status)
row "Status of $n tasks (dotnet build -t:Status)" "$r"
row "  scheduler queries per Status" "$(( $(grep -cE '^(squeue|sacct)$' "$out/calls.log" || true) / runs )) ($(sort "$out/calls.log" | uniq -c | tr -s ' ' | tr '\n' ';'))"
PATH=$shim:$PATH dotnet build "$dir/submit$n.spineproj" -nologo -v:q -t:Cancel >/dev/null || true
scancel "$hold" || true
rm -rf "$dir/jobs" "$root/jobs/submit$n" "$root/jobs/submit$n"-*/   # state folder <name>-<hash>/ (first version: <name>/)
