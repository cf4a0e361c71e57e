#!/usr/bin/env bash
# TEST DOUBLE for SPINE's run.py: NOT SPINE. It stands in for SPINE in SpineProd's tests so that
# productions run end to end in seconds on the test cluster or the local scheduler.
#
#   spine-test-double.sh -S <file list> -o <output> -c <config> [other args are ignored]
#
# - Reads the file list (one input path per line, as SPINE's -S) and writes, for each input, one
#   file named like SPINE's split_output: <dir of output>/<input stem>_<output stem>.h5
#   (text, not HDF5: "input=<path>" and "config=<path>" lines, so tests can see what it received).
# - Exits 2 when the config file or the list does not exist, or an input is missing from disk;
#   exits 1 when the output's folder does not exist (as SPINE's writer fails: it creates no folder).
# - Behaviour asked for by an input's name:
#     FAIL      exit 1 before writing that input's output ... unless "fixed" (below)
#     SLEEP<n>  sleep n seconds first
#     OOM<n>    hold n MiB of memory (default 1024) for a moment, for out-of-memory tests
# - "Fixed" (a test lets the failing inputs succeed): env SPINE_TEST_DOUBLE_FIXED=1, or a file
#   named spine-test-double.fixed in the failing input's folder.
set -uo pipefail
list="" output="" config=""
while [ $# -gt 0 ]; do
  case "$1" in
    -S|--source-list) list=${2-}; shift 2 ;;
    -o|--output)      output=${2-}; shift 2 ;;
    -c|--config)      config=${2-}; shift 2 ;;
    *) shift ;;
  esac
done
echo "spine-test-double: list=$list output=$output config=$config"
[ -n "$list" ] && [ -f "$list" ]     || { echo "spine-test-double: no file list '$list'" >&2; exit 2; }
[ -n "$config" ] && [ -f "$config" ] || { echo "spine-test-double: config '$config' not found" >&2; exit 2; }
[ -n "$output" ]                     || { echo "spine-test-double: no -o output" >&2; exit 2; }

outdir=$(dirname -- "$output")
outname=$(basename -- "$output"); outstem=${outname%.*}
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
    if ! head -c "${mib}M" /dev/zero | tail -n 1 >/dev/null; then
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
  printf 'input=%s\nconfig=%s\n' "$input" "$config" > "$outdir/${stem}_${outstem}.h5"
  n=$((n + 1))
done < "$list"
echo "spine-test-double: wrote $n output(s) to $outdir"
exit 0
