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

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

stop_server
stop_daemon sched TERM
stop_daemon mom TERM   # kills its running jobs (SIGINT would leave them running)
stop_daemon comm TERM
exit 0
