#!/usr/bin/env bash
# Stop the daemons tests/cluster/start.sh started, by the PIDs it recorded in
# $SPINEPROD_CLUSTER_DIR/pids/ (never by name). Daemons it reused (not started) are left alone.
# Order: cancel queued jobs, then slurmd + slurmctld, slurmdbd, mariadbd + munged.
set -uo pipefail
DIR=${SPINEPROD_CLUSTER_DIR:-/tmp/spineprod-cluster}
TIMEOUT=${SPINEPROD_CLUSTER_STOP_TIMEOUT:-15}
T0=$(date +%s.%N)
log() { echo "[cluster-stop] $*" >&2; }

stop_group() {  # name...: TERM all of them at once, then wait (KILL after $TIMEOUT s)
  local n f pid pids=() names=()
  for n in "$@"; do
    f="$DIR/pids/$n.pid"; [ -s "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; pids+=("$pid"); names+=("$n($pid)"); fi
    rm -f "$f"
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  for _ in $(seq $(( TIMEOUT * 10 ))); do
    local any=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && any=1; done
    [ $any = 0 ] && break; sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then log "$pid alive after ${TIMEOUT}s, KILL"; kill -KILL "$pid"; fi
  done
  log "stopped ${names[*]} at $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}') s"
}

[ -d "$DIR/pids" ] || { log "nothing recorded in $DIR/pids"; exit 0; }

# Cancel what is still queued or running, so slurmd leaves no job steps (and their children) behind.
if [ -s "$DIR/pids/slurmctld.pid" ] && kill -0 "$(cat "$DIR/pids/slurmctld.pid")" 2>/dev/null; then
  mapfile -t jobs < <(squeue -h -o %A 2>/dev/null | sort -u)
  if [ ${#jobs[@]} -gt 0 ]; then
    scancel --quiet "${jobs[@]}" 2>/dev/null || true
    for _ in $(seq 100); do [ -z "$(squeue -h -t R,CG -o %A 2>/dev/null)" ] && break; sleep 0.1; done
  fi
fi
stop_group slurmd slurmctld     # slurmctld may still talk to slurmdbd on the way down
stop_group slurmdbd
stop_group mariadbd munged
rm -f "$DIR/knobs"

# empty cgroup v1 folders slurmd made (rmdir only succeeds when empty)
for d in /sys/fs/cgroup/*/slurm_"$(hostname -s)"; do
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
done
exit 0
