#!/usr/bin/env bash
# Stop or start only the test cluster's controller (slurmctld), for the fault tests: what a user
# sees when the controller is down or restarts. Uses the PID file tests/cluster/start.sh records;
# slurmd, slurmdbd and munged keep running. State is kept (StateSaveLocation), so jobs survive.
#   tests/cluster/controller.sh stop|start|restart
set -euo pipefail
DIR=${SPINEPROD_CLUSTER_DIR:-/tmp/spineprod-cluster}
pidfile=$DIR/pids/slurmctld.pid
log() { echo "[cluster-controller] $*" >&2; }
alive() { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

stop() {
  alive || { log "slurmctld is not running"; return 0; }
  local pid; pid=$(cat "$pidfile")
  kill -TERM "$pid"
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  log "stopped slurmctld ($pid)"
}

start() {
  alive && { log "slurmctld is already running"; return 0; }
  [ -d "$DIR/pids" ] || { log "no cluster started by tests/cluster/start.sh in $DIR"; exit 1; }
  cd "$DIR"
  nohup /usr/sbin/slurmctld -D >>"$DIR/log/slurmctld.stdout" 2>&1 9>&- &
  echo $! > "$pidfile"
  for _ in $(seq 300); do
    if timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; then log "slurmctld ($(cat "$pidfile")) is up"; return 0; fi
    sleep 0.1
  done
  log "slurmctld did not come up; see $DIR/log/slurmctld.log"; exit 1
}

case "${1:-}" in
  stop) stop ;;
  start) start ;;
  restart) stop; start ;;
  *) echo "usage: $0 stop|start|restart" >&2; exit 2 ;;
esac
