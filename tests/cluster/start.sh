#!/usr/bin/env bash
# Start the SpineProd test cluster: a real single-node SLURM cluster on this machine
# (munged, MariaDB + slurmdbd so that sacct works, slurmctld, slurmd), partitions `cpu` (default)
# and `gpu`, by hand (no systemd), as root. Installs missing packages with apt-get.
#
# Idempotent: when the daemons this script started are still alive with the same knobs it reuses
# them and exits 0; with other knobs it stops them (tests/cluster/stop.sh) and starts again.
# A SLURM controller that this script did not start is used as it is (and never stopped).
# Every PID it starts is recorded in $DIR/pids/<name>.pid; stop.sh stops exactly those.
#
# Knobs (environment, all optional):
#   SPINEPROD_CLUSTER_DIR       state, logs, pids               (default /tmp/spineprod-cluster)
#   SPINEPROD_CLUSTER_DBD=0     no MariaDB/slurmdbd: sacct is off (Status falls back to squeue)
#   SPINEPROD_CLUSTER_MAX_ARRAY MaxArraySize: N allows indices 0..N-1   (default 1001)
#   SPINEPROD_CLUSTER_GPUS      fake GPUs on the node (char devices 1,3) (default 2; 0 = none)
#   SPINEPROD_CLUSTER_CGROUP    1 = enforce memory/cores with cgroup v1 (jobs over --mem end
#                               OUT_OF_MEMORY), 0 = nothing enforced,
#                               auto = 1 where cgroup v1 memory is writable (default auto)
#   SPINEPROD_CLUSTER_KILL_INVALID_DEP=1  DependencyParameters=kill_invalid_depend (default off:
#                               like most sites, jobs behind a failed afterok stay PENDING with
#                               Reason=DependencyNeverSatisfied)
#   SPINEPROD_CLUSTER_FRESH=1   wipe job state and the accounting DB (job ids restart at 1).
#                               Default: keep them, so a job id is never reused, as on a real cluster
#   SPINEPROD_CLUSTER_INSTALL=0 fail instead of installing missing packages
#   SPINEPROD_CLUSTER_WAIT_S    seconds to wait for the node to be idle (default 60)
# Configs are written to /etc/slurm/ so clients need no SLURM_CONF.
set -euo pipefail

DIR=${SPINEPROD_CLUSTER_DIR:-/tmp/spineprod-cluster}
ETC=/etc/slurm
WITH_DBD=${SPINEPROD_CLUSTER_DBD:-1}
MAXARRAY=${SPINEPROD_CLUSTER_MAX_ARRAY:-1001}
NGPU=${SPINEPROD_CLUSTER_GPUS:-2}
CGROUP=${SPINEPROD_CLUSTER_CGROUP:-auto}
KILL_INVALID=${SPINEPROD_CLUSTER_KILL_INVALID_DEP:-0}
FRESH=${SPINEPROD_CLUSTER_FRESH:-0}
WAIT_S=${SPINEPROD_CLUSTER_WAIT_S:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
t_start=$(date +%s.%N)
log() { echo "[cluster-start] $*" >&2; }
elapsed() { awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }
alive() { [ -s "$DIR/pids/$1.pid" ] && kill -0 "$(cat "$DIR/pids/$1.pid")" 2>/dev/null; }
wait_for() {  # seconds cmd...  (poll every 0.1 s)
  local n=$(( $1 * 10 )); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

[ "$(id -u)" = 0 ] || { log "must run as root (it installs packages and starts daemons)"; exit 1; }
[[ "$MAXARRAY" =~ ^[0-9]+$ && "$NGPU" =~ ^[0-9]+$ ]] || { log "SPINEPROD_CLUSTER_MAX_ARRAY and _GPUS must be numbers"; exit 1; }
if [ "$CGROUP" = auto ]; then
  # cgroup v1 memory controller mounted and writable: slurmd can enforce --mem
  if [ -d /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/memory ]; then CGROUP=1; else CGROUP=0; fi
fi

mkdir -p "$DIR"
# Two starts at once (two test runs) must not both start daemons. Every daemon below is started
# with fd 9 closed (9>&-): a daemon inheriting it would hold the lock for as long as it runs.
exec 9>"$DIR/starting.lock"   # (not start.lock: daemons of older versions of this script hold that one)
flock -w 120 9 || { log "another start.sh holds $DIR/starting.lock"; exit 1; }

knobs="v2 dbd=$WITH_DBD maxarray=$MAXARRAY gpus=$NGPU cgroup=$CGROUP killinvalid=$KILL_INVALID"
if alive slurmctld && alive slurmd; then
  if [ "$(cat "$DIR/knobs" 2>/dev/null)" = "$knobs" ] && [ "$FRESH" != 1 ]; then
    log "reusing the running cluster ($knobs); pids in $DIR/pids"
    exit 0
  fi
  log "running cluster has other knobs ($(cat "$DIR/knobs" 2>/dev/null)); restarting with $knobs"
  SPINEPROD_CLUSTER_DIR="$DIR" bash "$HERE/stop.sh"
elif alive slurmctld || alive slurmd; then
  log "half a cluster is running (one daemon died); restarting it"
  SPINEPROD_CLUSTER_DIR="$DIR" bash "$HERE/stop.sh"
elif command -v scontrol >/dev/null && timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; then
  log "a SLURM controller this script did not start is answering; using it as it is"
  exit 0
fi

# ---------------------------------------------------------------- packages
need=()
command -v munged    >/dev/null || need+=(munge)
command -v slurmctld >/dev/null || need+=(slurmctld)
command -v slurmd    >/dev/null || need+=(slurmd)
command -v sbatch    >/dev/null || need+=(slurm-client)
if [ "$WITH_DBD" = 1 ]; then
  command -v slurmdbd >/dev/null || need+=(slurmdbd)
  command -v mariadbd >/dev/null || need+=(mariadb-server)
fi
if [ ${#need[@]} -gt 0 ]; then
  [ "${SPINEPROD_CLUSTER_INSTALL:-1}" = 1 ] || { log "missing packages: ${need[*]}"; exit 1; }
  command -v apt-get >/dev/null || { log "missing packages (${need[*]}) and no apt-get to install them"; exit 1; }
  log "apt-get installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  log "installed at $(elapsed) s"
fi

# ---------------------------------------------------------------- dirs
[ "$FRESH" = 1 ] && rm -rf "$DIR/ctld" "$DIR/d" "$DIR/log"
mkdir -p "$DIR"/{ctld,d,log,pids} "$ETC"

# ---------------------------------------------------------------- slurm.conf
H=$(hostname -s)
hw=$(slurmd -C | head -1)          # what slurmd itself detects
cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
topo=$(grep -o 'Boards=[0-9]* SocketsPerBoard=[0-9]* CoresPerSocket=[0-9]* ThreadsPerCore=[0-9]*' <<<"$hw")
mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
mem=$(( mem * 95 / 100 ))          # below detected, so the node never drains for Low RealMemory
defmem=$(( mem / cpus / 2 ))       # default --mem-per-cpu; without it one job takes the whole node

if [ "$CGROUP" = 1 ]; then
  proctrack=proctrack/cgroup; taskplugin=task/cgroup,task/affinity
  cat > "$ETC/cgroup.conf" <<CONF
# generated by tests/cluster/start.sh
CgroupPlugin=cgroup/v1
CgroupAutomount=no
ConstrainCores=yes
ConstrainRAMSpace=yes
ConstrainSwapSpace=no
CONF
else
  proctrack=proctrack/linuxproc; taskplugin=task/none
  rm -f "$ETC/cgroup.conf"
fi

gres_node=""; gres_tres=""
if [ "$NGPU" -gt 0 ]; then
  # gres/gpu File= must be character devices; /dev/null's numbers (1,3) are harmless
  { echo "# generated by tests/cluster/start.sh: fake GPUs (char devices 1,3 = /dev/null)"
    for i in $(seq 0 $(( NGPU - 1 ))); do
      f="$DIR/fakegpu$i"; [ -c "$f" ] || { rm -f "$f"; mknod "$f" c 1 3; }
      echo "NodeName=$H Name=gpu File=$f"
    done; } > "$ETC/gres.conf"
  gres_node="Gres=gpu:$NGPU"; gres_tres="AccountingStorageTRES=gres/gpu"
else
  echo "# generated by tests/cluster/start.sh: no GRES" > "$ETC/gres.conf"
fi

if [ "$WITH_DBD" = 1 ]; then
  acct="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
AccountingStorageEnforce=associations,limits,qos
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30"
else
  acct="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi
dep_params=""
[ "$KILL_INVALID" = 1 ] && dep_params="DependencyParameters=kill_invalid_depend"

# Never write an empty Key= line: slurm treats it as a fatal parse error.
cat > "$ETC/slurm.conf" <<CONF
# generated by tests/cluster/start.sh ($knobs)
ClusterName=ci
SlurmctldHost=$H(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/d
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
MpiDefault=none
ProctrackType=$proctrack
TaskPlugin=$taskplugin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$defmem
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1
# Nice is honoured, as at a site: priority/basic ignores it (a bench's 10,000 tasks with Nice=100000
# went before the tests' jobs). Every job gets the partition's weight less its Nice; ties stay FIFO.
PriorityType=priority/multifactor
PriorityWeightPartition=10000
$dep_params
EnforcePartLimits=ALL
MaxArraySize=$MAXARRAY
MaxJobCount=100000
ReturnToService=2
$acct
$gres_tres
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
InactiveLimit=0
KillWait=5
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
Waittime=0
GresTypes=gpu
NodeName=$H NodeAddr=127.0.0.1 CPUs=$cpus $topo RealMemory=$mem $gres_node State=UNKNOWN
PartitionName=cpu Nodes=$H Default=YES DefaultTime=01:00:00 MaxTime=7-00:00:00 State=UP
PartitionName=gpu Nodes=$H Default=NO  DefaultTime=01:00:00 MaxTime=2-00:00:00 State=UP
CONF

# ---------------------------------------------------------------- munge
mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
fi
if alive munged; then
  :   # ours, from an earlier start whose slurm daemons were stopped
elif [ -s /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; then
  log "munged already running (pid $(cat /run/munge/munged.pid)), not ours: reusing it, stop.sh will leave it"
else
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged 9>&-    # daemonizes itself, writes /run/munge/munged.pid
  wait_for 5 test -s /run/munge/munged.pid
  cp /run/munge/munged.pid "$DIR/pids/munged.pid"
fi
munge -n | unmunge >/dev/null

# ---------------------------------------------------------------- MariaDB + slurmdbd
if [ "$WITH_DBD" = 1 ]; then
  if alive mariadbd; then
    :
  elif mysqladmin ping >/dev/null 2>&1; then
    log "a MariaDB is already answering, not ours: reusing it, stop.sh will leave it"
  else
    [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >/dev/null
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    # the buffer pool and lock timeout slurmdbd asks for (it warns otherwise)
    nohup /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 \
          --innodb-buffer-pool-size=512M --innodb-lock-wait-timeout=900 >"$DIR/log/mariadb.log" 2>&1 9>&- &
    echo $! > "$DIR/pids/mariadbd.pid"
    wait_for 60 mysqladmin ping || { log "MariaDB did not come up, see $DIR/log/mariadb.log"; exit 1; }
  fi
  [ "$FRESH" = 1 ] && mysql -e "DROP DATABASE IF EXISTS slurm_acct_db"
  mysql -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmci';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  cat > "$ETC/slurmdbd.conf" <<CONF
# generated by tests/cluster/start.sh
AuthType=auth/munge
DbdHost=$H
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
DebugLevel=info
LogFile=$DIR/log/slurmdbd.log
PidFile=$DIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageUser=slurm
StoragePass=slurmci
StorageLoc=slurm_acct_db
CONF
  chmod 600 "$ETC/slurmdbd.conf"        # slurmdbd refuses a world-readable slurmdbd.conf
  if ! alive slurmdbd; then
    nohup /usr/sbin/slurmdbd -D >"$DIR/log/slurmdbd.stdout" 2>&1 9>&- &
    echo $! > "$DIR/pids/slurmdbd.pid"
  fi
  wait_for 60 sacctmgr -n list cluster || { log "slurmdbd did not answer, see $DIR/log/slurmdbd.log"; exit 1; }
  # the cluster, accounts and QOS must exist before slurmctld registers
  sacctmgr -i add cluster ci >/dev/null 2>&1 || true
  sacctmgr -i add qos debug,high >/dev/null 2>&1 || true           # 'normal' exists already
  sacctmgr -i add account ci,research Cluster=ci Description=ci Organization=ci >/dev/null 2>&1 || true
  for u in root ${SPINEPROD_CLUSTER_USERS:-}; do
    sacctmgr -i add user "$u" Account=ci,research DefaultAccount=ci >/dev/null 2>&1 || true
    sacctmgr -i modify user "$u" set QOS=normal,debug,high DefaultQOS=normal >/dev/null 2>&1 || true
  done
  log "slurmdbd up at $(elapsed) s"
fi

# ---------------------------------------------------------------- slurmctld + slurmd
cd "$DIR"
# -D keeps them in the foreground, so $! is the daemon itself (what stop.sh signals).
nohup /usr/sbin/slurmctld -D >"$DIR/log/slurmctld.stdout" 2>&1 9>&- &
echo $! > "$DIR/pids/slurmctld.pid"
nohup /usr/sbin/slurmd -D >"$DIR/log/slurmd.stdout" 2>&1 9>&- &
echo $! > "$DIR/pids/slurmd.pid"

state=""
deadline=$(( $(date +%s) + WAIT_S ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)
  case "$state" in idle|mix|alloc) break ;; esac
  alive slurmctld || { log "slurmctld died, see $DIR/log/slurmctld.log"; exit 1; }
  alive slurmd    || { log "slurmd died, see $DIR/log/slurmd.log"; exit 1; }
  sleep 0.1
done
case "$state" in
  idle|mix|alloc) ;;
  *) log "node not ready after ${WAIT_S}s (state='$state'); see $DIR/log/"; exit 1 ;;
esac
if [ "$WITH_DBD" = 1 ]; then bash "$HERE/qos.sh" || log "qos.sh failed: no spineprod_maxwall QOS"; fi
echo "$knobs" > "$DIR/knobs"
log "cluster up in $(elapsed) s ($knobs); pids: $(cd "$DIR/pids" && for f in *.pid; do printf '%s=%s ' "${f%.pid}" "$(cat "$f")"; done)"
