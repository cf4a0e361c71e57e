#!/usr/bin/env bash
# TEST DOUBLE for SPINE's run.py: NOT SPINE. It stands in for SPINE in SpineProd's tests so that
# productions run end to end in seconds on the test cluster or the local scheduler.
#
#   spine-test-double.sh [-S <file list>] (-o <output> | --output-dir <dir> --output-suffix <s>)
#                        -c <config> [--log-dir <dir>] [--set KEY=VALUE ...] [other args are ignored]
#
# - Reads the file list (one input path per line, as SPINE's -S) and writes, for each input, one
#   file named like SPINE's split_output: <dir of output>/<input stem>_<output stem>.h5, or with
#   SPINE >= 0.15.3's --output-dir/--output-suffix: <output dir>/<input stem>_<suffix>.h5
#   (text, not HDF5: "input=<path>", "config=<path>", "args=<every argument>" and one "set=" line
#   per --set, so tests can see what it received).
# - Without -S it reads the inputs the config names, as SPINE does: a one-line
#   "file_keys: [a, b]" or "file_keys: a" in the -c file (the double's whole YAML), or a --set
#   io.*.file_keys=[a,b]. Without -o/--output-dir it writes next to nothing: SPINE would write where
#   the config says; the double then writes <config dir>/<input stem>_config.h5 only if the config
#   has a one-line "file_name: <path>" (else no output).
# - --log-dir: writes spine-test-double.log there (SPINE's CSV logs) when the folder exists; the
#   double creates no folder (the job script creates the log and output folders).
# - Records SPINE_CACHE_DIR in its log lines ("cache=<dir>") so tests see where !download looks.
# - Exits 2 when the config file or the list does not exist, or an input is missing from disk;
#   exits 1 when the output's folder does not exist (as SPINE's writer fails: it creates no folder).
# - Behaviour asked for by an input's name:
#     FAIL      exit 1 before writing that input's output ... unless "fixed" (below)
#     SLEEP<n>  sleep n seconds first
#     OOM<n>    hold n MiB of memory (default 1024) for a moment, for out-of-memory tests
#     HOLD<s>   with OOM: keep holding it s seconds (a scheduler that samples memory, as PBS's MOM
#               does every 1-2 s here, must see it; a cgroup limit, as SLURM's, needs no HOLD)
# - "Fixed" (a test lets the failing inputs succeed): env SPINE_TEST_DOUBLE_FIXED=1, or a file
#   named spine-test-double.fixed in the failing input's folder.
set -uo pipefail
list="" output="" config="" output_dir="" output_suffix="" log_dir="" sets=()
all_args=$(printf ' %q' "$@")
while [ $# -gt 0 ]; do
  case "$1" in
    -S|--source-list) list=${2-}; shift 2 ;;
    -o|--output)      output=${2-}; shift 2 ;;
    -c|--config)      config=${2-}; shift 2 ;;
    --output-dir)     output_dir=${2-}; shift 2 ;;
    --output-suffix)  output_suffix=${2-}; shift 2 ;;
    --log-dir)        log_dir=${2-}; shift 2 ;;
    --set)            sets+=("${2-}"); shift 2 ;;
    *) shift ;;
  esac
done
echo "spine-test-double: list=$list output=$output output-dir=$output_dir output-suffix=$output_suffix log-dir=$log_dir config=$config cache=${SPINE_CACHE_DIR-}"
echo "spine-test-double: args:$all_args"
[ -n "$config" ] && [ -f "$config" ] || { echo "spine-test-double: config '$config' not found" >&2; exit 2; }
if [ -n "$log_dir" ] && [ -d "$log_dir" ]; then
  printf 'args:%s\n' "$all_args" > "$log_dir/spine-test-double.log"
fi

# The inputs: -S, else what the config (or a --set of file_keys) names.
if [ -z "$list" ]; then
  keys=$(sed -n 's/^[[:space:]]*file_keys:[[:space:]]*//p' "$config" | head -n 1)
  for s in "${sets[@]}"; do case "$s" in *.file_keys=*) keys=${s#*=} ;; esac; done
  [ -n "$keys" ] && [ "$keys" != null ] || { echo "spine-test-double: no -S and the config names no inputs (file_keys)" >&2; exit 2; }
  list=$(mktemp); trap 'rm -f "$list"' EXIT
  keys=${keys#[}; keys=${keys%]}
  printf '%s\n' "$keys" | tr ',' '\n' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' > "$list"
fi
[ -f "$list" ] || { echo "spine-test-double: no file list '$list'" >&2; exit 2; }

if [ -n "$output" ]; then
  outdir=$(dirname -- "$output")
  outname=$(basename -- "$output"); outstem=${outname%.*}
elif [ -n "$output_dir" ]; then
  outdir=$output_dir; outstem=${output_suffix:-output}
else
  # Where the config says: a one-line file_name (the double's only reading of io.writer).
  cfg_out=$(sed -n 's/^[[:space:]]*file_name:[[:space:]]*//p' "$config" | head -n 1)
  [ -n "$cfg_out" ] && [ "$cfg_out" != null ] || { echo "spine-test-double: no output options and no file_name in the config: nothing written"; exit 0; }
  outdir=$(dirname -- "$cfg_out"); outname=$(basename -- "$cfg_out"); outstem=${outname%.*}
fi
# Like SPINE before 0.14.2, it does not create the output folder: the job script must.
[ -d "$outdir" ] || { echo "spine-test-double: output folder '$outdir' does not exist (SPINE's writer cannot create its file)" >&2; exit 1; }

n=0
while IFS= read -r input || [ -n "$input" ]; do
  [ -n "$input" ] || continue
  name=$(basename -- "$input"); stem=${name%.*}
  [ -e "$input" ] || { echo "spine-test-double: input '$input' does not exist" >&2; exit 2; }
  if [[ "$name" =~ SLEEP([0-9]+) ]]; then sleep "${BASH_REMATCH[1]}"; fi
  if [[ "$name" =~ OOM([0-9]*) ]]; then
    mib=${BASH_REMATCH[1]:-1024}; [ -n "$mib" ] || mib=1024
    echo "spine-test-double: holding ${mib} MiB for $input"
    # tail buffers the whole newline-free stream in memory: a bounded, dependency-free hog
    hold=0; if [[ "$name" =~ HOLD([0-9]+) ]]; then hold=${BASH_REMATCH[1]}; fi
    if ! { head -c "${mib}M" /dev/zero; sleep "$hold"; } | tail -n 1 >/dev/null; then
      echo "spine-test-double: killed while holding ${mib} MiB (out of memory)" >&2
      exit 137
    fi
  fi
  if [[ "$name" == *FAIL* ]]; then
    dir=$(dirname -- "$input")
    if [ "${SPINE_TEST_DOUBLE_FIXED:-0}" != 1 ] && [ ! -e "$dir/spine-test-double.fixed" ]; then
      echo "spine-test-double: failing on purpose for $input" >&2
      exit 1
    fi
  fi
  { printf 'input=%s\nconfig=%s\nargs=%s\ncache=%s\n' "$input" "$config" "$all_args" "${SPINE_CACHE_DIR-}"
    for s in "${sets[@]}"; do printf 'set=%s\n' "$s"; done; } > "$outdir/${stem}_${outstem}.h5"
  n=$((n + 1))
done < "$list"
echo "spine-test-double: wrote $n output(s) to $outdir"
exit 0
