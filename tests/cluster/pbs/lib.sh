# Process helpers shared by start.sh, stop.sh and server.sh (sourced; needs DIR, and log/die).
# A PID is recorded with its start time (field 22 of /proc/PID/stat): a recycled PID has another,
# so nothing here ever signals a process these scripts did not start, and nothing kills by name.

starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }
alive() {  # running and not a zombie (dead daemons linger as zombies of PID 1 for a while)
  local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}
ours() {  # ours NAME: prints the PID when the recorded process is still that very process
  local f="$DIR/pids/$1.pid" pid st
  [ -s "$f" ] || return 1
  read -r pid st <"$f"
  alive "$pid" && [ "$(starttime "$pid")" = "$st" ] && echo "$pid"
}
lockpid() {  # lockpid FILE PROG: the PID a daemon writes to its lock file. The parent returns
  # before the child has written it, and the file may hold the last run's PID: wait for a live
  # process of that program.
  local pid
  for _ in $(seq 100); do
    pid=$(tr -dc '0-9' <"$1" 2>/dev/null || true)
    [ -n "$pid" ] && alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && { echo "$pid"; return 0; }
    sleep 0.1
  done
}
record() {  # record NAME PID
  [ -n "$2" ] && alive "$2" || die "$1 is not running (pid '${2:-}'); see $PBSHOME/*_logs and $DIR/log"
  echo "$2 $(starttime "$2")" >"$DIR/pids/$1.pid"
}
gone_within() {  # gone_within PID SECONDS
  for _ in $(seq $(( $2 * 10 ))); do alive "$1" || return 0; sleep 0.1; done
  return 1
}
stop_daemon() {  # stop_daemon NAME SIGNAL: signal, wait, SIGKILL after $TIMEOUT s
  local pid
  if pid=$(ours "$1"); then
    kill -s "$2" "$pid" 2>/dev/null
    if ! gone_within "$pid" "${TIMEOUT:-30}"; then
      log "$1 (pid $pid) still there after ${TIMEOUT:-30}s: KILL"
      kill -s KILL "$pid" 2>/dev/null
      gone_within "$pid" 5 || log "$1 (pid $pid) did not die"
    fi
    log "stopped $1 ($pid)"
  fi
  rm -f "$DIR/pids/$1.pid"
}
# pbs_server starts its datastore itself (postgres on 15007 plus pbs_ds_monitor) and stops it on
# shutdown: start it, then record the three.
start_server() {
  "$PREFIX/sbin/pbs_server" 9>&- >"$DIR/log/server.out" 2>&1 || die "pbs_server failed: $(cat "$DIR/log/server.out")"
  record server "$(lockpid "$PBSHOME/server_priv/server.lock" pbs_server.bin)"
  local pg="" dm=""
  for _ in $(seq 100); do   # postmaster.pid and pbs_dblock (host:pid) may lag a moment
    pg=$(head -1 "$PBSHOME/datastore/postmaster.pid" 2>/dev/null || true)
    dm=$(cut -d: -f2 "$PBSHOME/datastore/pbs_dblock" 2>/dev/null || true)
    [ -n "$pg" ] && alive "$pg" && [ -n "$dm" ] && alive "$dm" && break
    sleep 0.1
  done
  record postgres "$pg"
  record ds_monitor "$dm"
}
stop_server() {  # quick shutdown: jobs saved as they are; it stops postgres + pbs_ds_monitor itself
  stop_daemon server TERM
  stop_daemon postgres INT      # postgres' fast shutdown, if the server did not get to it
  stop_daemon ds_monitor TERM
}
