#!/usr/bin/env bash
# Stop the PBS test server tests/cluster/pbs/start.sh started, by the PIDs (and start times) it
# recorded in $SPINEPROD_PBS_DIR/pids/, never by name: SLURM, MariaDB and other postgres run on
# the same machine. PBS_HOME (datastore, history, job ids) is kept.
# Order: pbs_server (it stops its own datastore), then whatever of the datastore is left,
# pbs_sched, pbs_mom (SIGTERM: it kills its running jobs first), pbs_comm last.
set -uo pipefail
DIR=${SPINEPROD_PBS_DIR:-/tmp/spineprod-pbs}
TIMEOUT=${SPINEPROD_PBS_STOP_TIMEOUT:-30}
t_start=$(date +%s.%N)
log() { echo "[pbs-stop] $*" >&2; }
elapsed() { awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }

[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }
[ -d "$DIR/pids" ] || { log "nothing recorded in $DIR/pids"; exit 0; }
exec 9>"$DIR/lock"
flock -w 600 9 || { log "another start.sh/stop.sh holds $DIR/lock"; exit 1; }

starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }
alive() {  # running and not a zombie (dead daemons linger as zombies of PID 1 for a while)
  local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}
ours() {  # ours NAME: prints the PID if the recorded process is still that very process
  local f="$DIR/pids/$1.pid" pid st
  [ -s "$f" ] || return 1
  read -r pid st <"$f"
  alive "$pid" && [ "$(starttime "$pid")" = "$st" ] && echo "$pid"
}
gone_within() {  # gone_within PID SECONDS
  for _ in $(seq $(( $2 * 10 ))); do alive "$1" || return 0; sleep 0.1; done
  return 1
}
stop() {  # stop NAME SIGNAL: signal, wait, SIGKILL after $TIMEOUT s
  local pid
  if pid=$(ours "$1"); then
    kill -s "$2" "$pid" 2>/dev/null
    if ! gone_within "$pid" "$TIMEOUT"; then
      log "$1 (pid $pid) still there after ${TIMEOUT}s: KILL"
      kill -s KILL "$pid" 2>/dev/null
      gone_within "$pid" 5 || log "$1 (pid $pid) did not die"
    fi
    log "stopped $1 ($pid) at $(elapsed) s"
  fi
  rm -f "$DIR/pids/$1.pid"
}

stop server TERM       # quick shutdown: jobs saved as they are; it stops postgres + pbs_ds_monitor
stop postgres INT      # postgres' fast shutdown, if the server did not get to it
stop ds_monitor TERM
stop sched TERM
stop mom TERM          # kills its running jobs (SIGINT would leave them running)
stop comm TERM
exit 0
