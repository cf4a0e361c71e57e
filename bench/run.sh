#!/usr/bin/env bash
# SpineProd benchmark: prints a table of medians (not a test). Run from anywhere:
#   bench/run.sh            # everything (the cluster parts start tests/cluster when needed)
#   bench/run.sh plan       # only the planning benchmarks
#   bench/run.sh noop       # only the no-op rebuild against the floor
# Results go to bench/out/results.json; bench/RESULTS.md records a run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out
mkdir -p "$out"
runs=${BENCH_RUNS:-5}
what=${1:-all}
measure() { python3 "$root/bench/measure.py" "$@"; }
row() { printf '| %-58s | %s |\n' "$1" "$2"; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Build the task assembly once, so no row pays for its compile.
dotnet build productions/icarus.spineproj -nologo -v:q >/dev/null

make_production() { # name count
  local dir=$out/$1
  mkdir -p "$dir"
  if [ ! -f "$dir/inputs.txt" ] || [ "$(wc -l < "$dir/inputs.txt")" -ne "$2" ]; then
    python3 - "$dir/inputs.txt" "$2" <<'PY'
import sys
with open(sys.argv[1], 'w') as f:
    for i in range(int(sys.argv[2])):
        f.write(f'/sdf/data/icarus/prod/run{i//1000:04d}/icarus_bnb_run{i:07d}.larcv.root\n')
PY
  fi
  cat > "$dir/$1.spineproj" <<XML
<Project Sdk="SpineProd.Sdk">
  <PropertyGroup>
    <SpineConfig>$root/infer/icarus/latest</SpineConfig>
    <MaxArraySize>1000</MaxArraySize>
    <Scheduler>local</Scheduler>
  </PropertyGroup>
  <ItemGroup>
    <SourceList Include="inputs.txt" />
  </ItemGroup>
</Project>
XML
}

echo "| benchmark (median of $runs; peak = whole process tree) | result |"
echo "|---|---|"
if [ "$what" = all ] || [ "$what" = plan ]; then
  for n in 1000 100000 1000000; do
    name=plan$n
    make_production $name $n
    proj=$out/$name/$name.spineproj
    # Build with the plan out of date (the list touched): the real work of a changed production.
    r=$(MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 measure "$runs" "touch $out/$name/inputs.txt" dotnet build "$proj" -nologo)
    row "Build, $n inputs (plan re-made)" "$r"
    r=$(MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 measure "$runs" "touch $out/$name/inputs.txt" dotnet build "$proj" -nologo -t:Preview)
    row "Preview, $n inputs (plan re-made)" "$r"
    # Warm build server (MSBuild server + node reuse), as a user's shell has by default.
    env -u MSBUILDDISABLENODEREUSE DOTNET_CLI_USE_MSBUILD_SERVER=1 dotnet build "$proj" -nologo -v:q >/dev/null
    r=$(env -u MSBUILDDISABLENODEREUSE DOTNET_CLI_USE_MSBUILD_SERVER=1 MEASURE_MSBUILD_SERVER=1 python3 "$root/bench/measure.py" "$runs" "touch $out/$name/inputs.txt" dotnet build "$proj" -nologo)
    row "Build, $n inputs, warm build server (peak: client + server trees)" "$r"
    dotnet build-server shutdown >/dev/null 2>&1 || true
    scripts=$(ls "$out/$name/obj/$name/$name"/submit_chunk_*.sh | wc -l)   # the local scheduler names its scripts .sh
    row "  scripts for $n tasks (expected ceil(n/1000) = $(( (n + 999) / 1000 )))" "$scripts"
  done
  # A million inputs with one duplicate file name: refused (SPN1016) at the list line, in seconds.
  make_production dupname 1000000
  sed -i '$ s|icarus_bnb_run[0-9]*|icarus_bnb_run0000007|; $ s|/run[0-9]*/|/elsewhere/|' "$out/dupname/inputs.txt"
  start=$(date +%s.%N)
  if MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 dotnet build "$out/dupname/dupname.spineproj" -nologo -v:q > "$out/dupname/build.log" 2>&1; then
    row "1000000 inputs, one duplicate name" "NOT refused"
  else
    wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')
    row "1000000 inputs, one duplicate name: refused in" "$wall s: $(grep -o 'inputs.txt([0-9]*,[0-9]*): error SPN1016' "$out/dupname/build.log" | head -1)"
  fi
fi
if [ "$what" = all ] || [ "$what" = plan ] || [ "$what" = noop ]; then
  # No-op rebuild against the floor: a .spineproj whose Build does nothing.
  make_production plan1000000 1000000
  mkdir -p "$out/floor"
  cat > "$out/floor/floor.spineproj" <<'XML'
<Project Sdk="SpineProd.Sdk">
  <PropertyGroup><SpineProdBuildDependsOn>SpineProdBuildTasks</SpineProdBuildDependsOn></PropertyGroup>
</Project>
XML
  dotnet build "$out/floor/floor.spineproj" -nologo -v:q >/dev/null
  dotnet build "$out/plan1000000/plan1000000.spineproj" -nologo -v:q >/dev/null
  floor=$(MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 measure "$runs" "" dotnet build "$out/floor/floor.spineproj" -nologo)
  noop=$(MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 measure "$runs" "" dotnet build "$out/plan1000000/plan1000000.spineproj" -nologo)
  row "floor: dotnet build of an empty .spineproj" "$floor"
  row "no-op rebuild, 1000000 inputs" "$noop"
  ratio=$(python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print(round(b['median_s']/a['median_s'],2))" "$floor" "$noop")
  row "  no-op / floor (target <= 1.3)" "$ratio"
fi
if [ "$what" = all ] || [ "$what" = configs ]; then
  corpus=${SPINEPROD_CONFORMANCE_DIR:-$root/../shared/conformance/spine-configs}
  if [ -d "$corpus/infer" ]; then
    r=$(MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 measure "$runs" "rm -rf $out/resolved" dotnet build productions/icarus.spineproj -nologo -t:ResolveConfigs "-p:ConfigRoot=$corpus/infer" "-p:ResolvedConfigDir=$out/resolved")
    row "ResolveConfigs of the conformance corpus ($(find "$corpus/infer" -name '*.cfg' -o -name '*.yaml' -o -name '*.yml' | wc -l) files)" "$r"
  fi
fi
if [ "$what" = all ] || [ "$what" = cluster ]; then
  if [ -x bench/cluster.sh ]; then bash bench/cluster.sh "$runs"; fi
fi
