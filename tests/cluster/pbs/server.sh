#!/usr/bin/env bash
# Stop or start only the PBS server (pbs_server and the datastore it runs), for the fault tests:
# what a user sees when the server is down or restarts. pbs_mom, pbs_sched and pbs_comm keep
# running, and PBS_HOME is kept, so queued and running jobs survive (as at a site's server restart).
# Uses the PIDs tests/cluster/pbs/start.sh recorded; never kills by name.
#   tests/cluster/pbs/server.sh stop|start|restart
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${SPINEPROD_PBS_DIR:-/tmp/spineprod-pbs}
PREFIX=${SPINEPROD_PBS_PREFIX:-/opt/pbs}
PBSHOME=${SPINEPROD_PBS_HOME:-/var/spool/pbs}
TIMEOUT=${SPINEPROD_PBS_STOP_TIMEOUT:-30}
log() { echo "[pbs-server] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
unset PBS_HOME PBS_EXEC PBS_SERVER PBS_CONF_FILE PBS_START_SERVER PBS_START_MOM PBS_START_SCHED PBS_START_COMM
[ "$(id -u)" = 0 ] || die "must run as root"
[ -d "$DIR/pids" ] || die "no PBS started by tests/cluster/pbs/start.sh in $DIR"
# The daemon must inherit no descriptor of the caller (a test's flock, a shim's pipes).
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then eval "exec $fd>&-"; fi
done
exec 9>"$DIR/lock"
flock -w 600 9 || die "another start.sh/stop.sh/server.sh holds $DIR/lock"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

start() {
  if ours server >/dev/null; then log "pbs_server is already running"; return 0; fi
  ours mom >/dev/null && ours comm >/dev/null && ours sched >/dev/null ||
    die "mom, sched and comm are not all running: use tests/cluster/pbs/start.sh"
  start_server
  for _ in $(seq 300); do   # answering, and the node back up (MOM reports in again)
    if timeout 5 "$PREFIX/bin/qstat" -B >/dev/null 2>&1 &&
       ! timeout 5 "$PREFIX/bin/pbsnodes" -a 2>/dev/null | sed -n 's/^ *state = //p' | grep -qE 'down|unknown|offline'; then
      log "pbs_server ($(ours server)) is up"
      return 0
    fi
    sleep 0.1
  done
  die "pbs_server did not come up; see $PBSHOME/server_logs"
}

case "${1:-}" in
  stop) stop_server ;;
  start) start ;;
  restart) stop_server; start ;;
  *) echo "usage: $0 stop|start|restart" >&2; exit 2 ;;
esac
