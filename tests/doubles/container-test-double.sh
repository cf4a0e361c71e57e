#!/usr/bin/env bash
# TEST DOUBLE for a container runtime: NOT a container. It stands in for `apptainer`/`singularity`
# (`exec [options] IMAGE command...`) and `shifter` (`[--module=..] --image=IMAGE [--volume=..] command...`)
# in SpineProd's site tests (<ContainerCommand>), so a site's job script runs end to end where no
# container runtime is installed.
#
# - Writes its arguments, one a line, to container-args_<job>_<task>.txt in the folder it runs in
#   (the job folder), so tests can see the image, binds and options each task asked for; and
#   SLURM_STEP_ID and CUDA_VISIBLE_DEVICES to container-env_<job>_<task>.txt.
# - Fails as the real runtimes do when there is no image: exit 255 when an apptainer/singularity
#   IMAGE that is a path does not exist, or shifter has no --image.
# - Runs the command (from the first word `bash`) here, in the same environment: no isolation, no binds.
set -uo pipefail
task=${SLURM_ARRAY_TASK_ID:-${PBS_ARRAY_INDEX:-0}}
job=${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:-${PBS_JOBID:-0}}}
job=${job%%.*}; job=${job%%\[*}
printf '%s\n' "$@" > "container-args_${job}_${task}.txt"
# and whether it runs as a job step (srun) and with which GPUs
printf 'SLURM_STEP_ID=%s\nCUDA_VISIBLE_DEVICES=%s\n' "${SLURM_STEP_ID:-}" "${CUDA_VISIBLE_DEVICES:-}" > "container-env_${job}_${task}.txt"

args=("$@")
n=${#args[@]}
first=-1
for ((i = 0; i < n; i++)); do
  if [ "${args[i]}" = bash ]; then first=$i; break; fi
done
[ "$first" -ge 0 ] || { echo "container-test-double: no command (bash ...) in: $*" >&2; exit 255; }

if [ "${args[0]:-}" = exec ]; then
  image=${args[first - 1]}
  case "$image" in
    docker://*|library://*|oras://*) ;;
    *) [ -e "$image" ] || { echo "container-test-double: FATAL: could not open image ${image}: no such file" >&2; exit 255; } ;;
  esac
else
  image=""
  for ((i = 0; i < first; i++)); do
    case "${args[i]}" in --image=*) image=${args[i]#--image=} ;; esac
  done
  [ -n "$image" ] || { echo "container-test-double: shifter: no --image given" >&2; exit 255; }
fi
echo "container-test-double: image ${image}"
exec "${args[@]:first}"
