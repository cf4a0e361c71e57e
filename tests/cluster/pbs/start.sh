#!/usr/bin/env bash
# Start the SpineProd PBS test server: a real single-node OpenPBS complex on this machine
# (pbs_comm, pbs_mom, pbs_sched, pbs_server and the PostgreSQL datastore the server runs), by hand
# (no systemd), as root. OpenPBS is not packaged for Debian 12, so the first run builds it from the
# vendored source tarball into $SPINEPROD_PBS_PREFIX (~2.5 min on 2 cores) and stamps the build;
# later runs reuse it (~5 s to start, 0.1 s when already up).
#
# Idempotent: when the daemons this script started are still alive it exits 0 at once. Every PID
# it starts is recorded with the process start time in $DIR/pids/<name>.pid; stop.sh stops exactly
# those. A PBS this script did not start (ports taken) is refused, never touched.
#
# Knobs (environment, all optional):
#   SPINEPROD_PBS_DIR        PIDs, logs, env file                    (default /tmp/spineprod-pbs)
#   SPINEPROD_PBS_PREFIX     install prefix, the build cache         (default /opt/pbs)
#   SPINEPROD_PBS_HOME       PBS_HOME: spool, logs, datastore        (default /var/spool/pbs)
#   SPINEPROD_PBS_SRC        OpenPBS source: a .tar.gz with one top folder, or a source tree
#                            (default: openpbs-*.tar.gz in ../shared/reference/pbs/ next to the repo)
#   SPINEPROD_PBS_BUILD_DIR  scratch build tree                      (default /tmp/spineprod-pbs-build)
#   SPINEPROD_PBS_USER       a normal user to create for jobs ('' = none)        (default pbstest)
#   SPINEPROD_PBS_MAX_ARRAY  server max_array_size (subjobs per array)   (default: PBS's 10000)
#   SPINEPROD_PBS_FRESH=1    wipe PBS_HOME first: new datastore, job ids from 0, no history.
#                            Default: keep it, so a job id is never reused, as on a real server
#   SPINEPROD_PBS_INSTALL=0  fail instead of installing missing Debian packages
#   SPINEPROD_PBS_BUILD_ONLY=1  build and install, start nothing
# /etc/pbs.conf is written (its path is compiled into every PBS command), so clients need nothing
# but PATH=$SPINEPROD_PBS_PREFIX/bin.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
DIR=${SPINEPROD_PBS_DIR:-/tmp/spineprod-pbs}
PREFIX=${SPINEPROD_PBS_PREFIX:-/opt/pbs}
PBSHOME=${SPINEPROD_PBS_HOME:-/var/spool/pbs}
BUILD=${SPINEPROD_PBS_BUILD_DIR:-/tmp/spineprod-pbs-build}
TEST_USER=${SPINEPROD_PBS_USER-pbstest}
MAXARRAY=${SPINEPROD_PBS_MAX_ARRAY:-}
FRESH=${SPINEPROD_PBS_FRESH:-0}
SRC=${SPINEPROD_PBS_SRC:-}
if [ -z "$SRC" ]; then
  for d in "$REPO/../shared/reference/pbs" /work/shared/reference/pbs; do
    SRC=$(ls "$d"/openpbs-*.tar.gz 2>/dev/null | head -1 || true)
    [ -n "$SRC" ] && break
  done
fi
# PBS reads PBS_HOME, PBS_EXEC, PBS_SERVER... from the environment *over* /etc/pbs.conf: stray
# values from the caller would split the complex.
unset PBS_HOME PBS_EXEC PBS_SERVER PBS_CONF_FILE PBS_START_SERVER PBS_START_MOM PBS_START_SCHED PBS_START_COMM
# server 15001, mom 15002/15003, sched 15004 (older versions), datastore 15007, comm 17001
PORTS="15001 15002 15003 15004 15007 17001"
DAEMONS="comm mom sched server postgres ds_monitor"

t_start=$(date +%s.%N)
log() { echo "[pbs-start] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
elapsed() { awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }

[ "$(id -u)" = 0 ] || die "must run as root (packages, daemons, setuid pbs_iff, the postgres user)"
case "$PREFIX" in /?*) ;; *) die "SPINEPROD_PBS_PREFIX must be an absolute path other than /" ;; esac
[ -z "$MAXARRAY" ] || [[ "$MAXARRAY" =~ ^[0-9]+$ ]] || die "SPINEPROD_PBS_MAX_ARRAY must be a number"

# The daemons must inherit no descriptor of the caller: a `flock FILE dotnet test ...` around a
# test run that starts the server would otherwise stay locked for the daemons' whole life.
# (255 is the file bash reads this script from.)
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then eval "exec $fd>&-"; fi
done
mkdir -p "$DIR/pids" "$DIR/log"
# One start (or stop) at a time. Every daemon is started with fd 9 closed (9>&-): pbs_sched keeps
# inherited descriptors and would hold this lock for as long as it runs.
exec 9>"$DIR/lock"
flock -w 600 9 || die "another start.sh/stop.sh holds $DIR/lock"

# ---------------------------------------------------------------- process helpers
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# ---------------------------------------------------------------- already running?
if [ "${SPINEPROD_PBS_BUILD_ONLY:-0}" != 1 ]; then
  n=0; for d in $DAEMONS; do ours "$d" >/dev/null && n=$((n + 1)); done
  if [ "$n" = 6 ] && [ "$FRESH" != 1 ]; then
    log "reusing the running PBS server; pids in $DIR/pids"
    exit 0
  elif [ "$n" != 0 ]; then
    log "stopping the PBS this script started ($n of 6 daemons alive, SPINEPROD_PBS_FRESH=$FRESH)"
    exec 9>&-
    SPINEPROD_PBS_DIR="$DIR" bash "$HERE/stop.sh"
    exec 9>"$DIR/lock"; flock -w 600 9
  fi
  busy=""
  for p in $PORTS; do ss -Hltn "( sport = :$p )" | grep -q . && busy="$busy $p"; done
  [ -z "$busy" ] || die "port(s)$busy in use by a PBS (or anything else) this script did not start: $(ss -Hltnp | grep -E ":(${busy// /|})\b" | tr -s ' ' | head -3)"
fi

# ---------------------------------------------------------------- Debian packages
# Build and run dependencies from OpenPBS's INSTALL (Debian section). sendmail-bin is left out:
# the server's mailer is set to /bin/true below.
PKGS="gcc g++ make libtool autoconf automake pkg-config libhwloc-dev libx11-dev libxt-dev
libedit-dev libical-dev libncurses-dev perl postgresql-server-dev-all postgresql-contrib
python3-dev tcl-dev tk-dev swig libexpat1-dev libssl-dev libxext-dev libxft-dev libcjson-dev
expat libedit2 postgresql python3 tcl tk libical3 libcjson1"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  [ "${SPINEPROD_PBS_INSTALL:-1}" = 1 ] || die "missing Debian packages:$missing"
  log "apt-get installing$missing"
  # (the lock timeout: another script, e.g. the SLURM cluster's start.sh, may be installing too)
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  # policy-rc.d on these machines keeps the distro's own postgres cluster (5432) down; PBS runs
  # its own on 15007.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing >/dev/null
  log "installed at $(elapsed) s"
fi
getent passwd postgres >/dev/null || die "no 'postgres' user (the postgresql package makes it)"

# ---------------------------------------------------------------- build (once, stamped)
STAMP="$PREFIX/.spineprod-pbs-build"
# --with-python=/usr: otherwise configure takes the first python on PATH (pyenv's here) and
# pbs_server gets a RUNPATH outside $PREFIX and Debian's packages.
CONFIGURE_FLAGS="--prefix=$PREFIX --with-python=/usr"
[ -n "$SRC" ] || die "no OpenPBS source: set SPINEPROD_PBS_SRC (the vendored openpbs-*.tar.gz)"
if [ -f "$SRC" ]; then src_id=$(sha256sum "$SRC" | cut -c1-16); else src_id="tree:$SRC"; fi
# The stamp names the source, the flags and the patch: changing any of them rebuilds.
BUILD_KEY="source=$src_id flags=[$CONFIGURE_FLAGS] loopback-patch=1 root-usage-patch=1"
if ! grep -qF "$BUILD_KEY" "$STAMP" 2>/dev/null || [ ! -x "$PREFIX/sbin/pbs_server.bin" ]; then
  log "building OpenPBS from $SRC into $PREFIX (about 2-3 min on 2 cores; logs in $BUILD)"
  t=$SECONDS
  rm -rf "$BUILD" && mkdir -p "$BUILD/src"
  if [ -f "$SRC" ]; then
    tar -xzf "$SRC" -C "$BUILD/src" --strip-components=1
  elif [ -f "$SRC/configure.ac" ]; then
    cp -a "$SRC/." "$BUILD/src/"
  else
    die "SPINEPROD_PBS_SRC=$SRC is neither a .tar.gz nor a source tree"
  fi
  cd "$BUILD/src"
  [ -f configure.ac ] || die "no configure.ac at the top of the unpacked source"
  # PBS skips 127.x addresses when it resolves a host (Libnet/hnls.c, Libtpp/tpp_platform.c), and
  # the server dies with "Could not find any usable IP address for host <name>" when the host name
  # resolves only to loopback, as here. Allow loopback: the whole complex lives on 127.0.0.1.
  sed -i 's/if (ntohl(sa->sin_addr.s_addr) >> 24 == IN_LOOPBACKNET)/if (0 \&\& ntohl(sa->sin_addr.s_addr) >> 24 == IN_LOOPBACKNET)/' \
    src/lib/Libnet/hnls.c src/lib/Libtpp/tpp_platform.c
  [ "$(cat src/lib/Libnet/hnls.c src/lib/Libtpp/tpp_platform.c | grep -c 'if (0 && ntohl')" = 2 ] ||
    die "the loopback patch did not apply (has the source changed?)"
  # MOM measures a job (resources_used.mem/cput, and $enforce mem) by scanning /proc for the job's
  # session, but skips every root-owned process (resmom/linux/mom_mach.c, mom_get_sample). A site
  # runs no job as root; the tests here submit as root (acl_roots), so every job measured 0kb and
  # 00:00:00 and no memory limit could fire. Count root's processes too: only those in a job's
  # session are ever summed, so nothing else changes.
  sed -i 's/if ((stat(procid, \&sbuf) == -1) || (sbuf.st_uid == 0)) {/if (stat(procid, \&sbuf) == -1) {/' \
    src/resmom/linux/mom_mach.c
  grep -q 'if (stat(procid, &sbuf) == -1) {' src/resmom/linux/mom_mach.c ||
    die "the root-usage patch did not apply (has the source changed?)"
  ./autogen.sh >"$BUILD/autogen.log" 2>&1 || die "autogen failed: $BUILD/autogen.log"
  # shellcheck disable=SC2086
  ./configure $CONFIGURE_FLAGS >"$BUILD/configure.log" 2>&1 || die "configure failed: $BUILD/configure.log"
  # nice: two shared cores; the build must not starve everything else.
  nice -n 10 make -j2 >"$BUILD/make.log" 2>&1 || die "make failed: $BUILD/make.log"
  # Installed into a staging folder, then renamed into place: a half-installed prefix never looks
  # finished (and /etc/profile.d is left alone).
  make install DESTDIR="$BUILD/stage" >"$BUILD/install.log" 2>&1 || die "make install failed: $BUILD/install.log"
  [ -x "$BUILD/stage$PREFIX/sbin/pbs_server.bin" ] || die "make install left no $PREFIX/sbin/pbs_server.bin"
  echo "$BUILD_KEY built=$(date -u +%FT%TZ) seconds=$((SECONDS - t))" >"$BUILD/stage$PREFIX/.spineprod-pbs-build"
  cd /
  rm -rf "$PREFIX.old"
  [ -e "$PREFIX" ] && mv "$PREFIX" "$PREFIX.old"
  mkdir -p "$(dirname "$PREFIX")"
  mv "$BUILD/stage$PREFIX" "$PREFIX"
  rm -rf "$PREFIX.old" "$BUILD"
  log "built and installed in $((SECONDS - t)) s"
fi
# Normal users' qsub/qstat authenticate through pbs_iff, which must be setuid root (INSTALL step
# 12); make install does not set it.
chmod 4755 "$PREFIX/sbin/pbs_iff" "$PREFIX/sbin/pbs_rcp"
[ "${SPINEPROD_PBS_BUILD_ONLY:-0}" = 1 ] && { log "built (SPINEPROD_PBS_BUILD_ONLY=1): nothing started"; exit 0; }

# ---------------------------------------------------------------- host name and pbs.conf
HOST=$(hostname -s)
if ! getent hosts "$HOST" >/dev/null; then   # pbs_habitat and the daemons resolve it
  log "adding '127.0.0.1 $HOST' to /etc/hosts (the host name must resolve)"
  echo "127.0.0.1 $HOST  # added by tests/cluster/pbs/start.sh" >>/etc/hosts
fi
CONF="PBS_EXEC=$PREFIX
PBS_HOME=$PBSHOME
PBS_SERVER=$HOST
PBS_START_SERVER=1
PBS_START_SCHED=1
PBS_START_COMM=1
PBS_START_MOM=1
PBS_CORE_LIMIT=unlimited"
if [ "$(cat /etc/pbs.conf 2>/dev/null)" != "$CONF" ]; then
  [ -f /etc/pbs.conf ] && cp /etc/pbs.conf "/etc/pbs.conf.bak.$(date +%s)"
  echo "$CONF" >/etc/pbs.conf.tmp && mv /etc/pbs.conf.tmp /etc/pbs.conf
fi

# ---------------------------------------------------------------- PBS_HOME and datastore
if [ "$FRESH" = 1 ]; then
  log "SPINEPROD_PBS_FRESH=1: wiping $PBSHOME"
  rm -rf "$PBSHOME"
fi
ver=$("$PREFIX/bin/qstat" --version | sed 's/^.* = //')
if [ ! -d "$PBSHOME/datastore" ] || [ "$(cat "$PBSHOME/pbs_version" 2>/dev/null)" != "$ver" ]; then
  # pbs_habitat (what the init script runs on a first start) creates PBS_HOME, runs initdb as
  # postgres, starts the server once to create queue workq and the node, then qterms it. Run
  # directly, it skips pbs_postinstall's /etc/init.d and update-rc.d.
  log "initialising $PBSHOME (pbs_habitat)"
  rm -rf "$PBSHOME"
  "$PREFIX/libexec/pbs_habitat" 9>&- >"$DIR/log/habitat.log" 2>&1 || die "pbs_habitat failed: $DIR/log/habitat.log"
fi
# MOM enforces walltime only when it polls its jobs; the defaults (10..120 s) let a 5 s job run
# ~30 s. Poll every 1-2 s.
MOMCFG="$PBSHOME/mom_priv/config"
grep -q '^\$min_check_poll' "$MOMCFG" || echo '$min_check_poll 1' >>"$MOMCFG"
grep -q '^\$max_check_poll' "$MOMCFG" || echo '$max_check_poll 2' >>"$MOMCFG"
# Kill a job whose measured memory (the sum over its processes, sampled at each poll) goes over its
# mem request: Exit_status -27, as at a site that enforces memory without the cgroup hook.
grep -q '^\$enforce mem' "$MOMCFG" || echo '$enforce mem' >>"$MOMCFG"

# ---------------------------------------------------------------- daemons
# Each forks and writes its PID to a lock file in PBS_HOME. Order as in pbs_init.d (whose ulimit
# lines fail in this sandbox): comm, mom, sched, server.
t=$SECONDS
"$PREFIX/sbin/pbs_comm" 9>&- >"$DIR/log/comm.out" 2>&1 || die "pbs_comm failed: $(cat "$DIR/log/comm.out")"
record comm "$(lockpid "$PBSHOME/server_priv/comm.lock" pbs_comm)"
"$PREFIX/sbin/pbs_mom" 9>&- >"$DIR/log/mom.out" 2>&1 || die "pbs_mom failed: $(cat "$DIR/log/mom.out")"
record mom "$(lockpid "$PBSHOME/mom_priv/mom.lock" pbs_mom)"
"$PREFIX/sbin/pbs_sched" 9>&- >"$DIR/log/sched.out" 2>&1 || die "pbs_sched failed: $(cat "$DIR/log/sched.out")"
record sched "$(lockpid "$PBSHOME/sched_priv/sched.lock" pbs_sched)"
start_server

# ---------------------------------------------------------------- until jobs can run
export PATH="$PREFIX/bin:$PATH"
st=""
for i in $(seq 600); do   # the node is "state-unknown,down" until MOM has reported in
  st=$(pbsnodes -a 2>/dev/null | sed -n 's/^ *state = //p' | head -1)
  [ -n "$st" ] && ! grep -qE 'down|unknown|offline' <<<"$st" && break
  [ "$i" = 600 ] && die "node not up after 60 s (state '$st'); see $PBSHOME/mom_logs"
  sleep 0.1
done

# ---------------------------------------------------------------- server settings (idempotent)
# acl_roots: root's jobs are refused ("Bad UID for job execution") unless root is listed.
# job_history_enable: finished jobs stay visible to qstat -x (Status needs them), and afterok on
#   an already finished job still resolves.
# mailer: no MTA here.
{
  echo "set server acl_roots = root"
  echo "set server job_history_enable = True"
  echo "set server mailer = /bin/true"
  if [ -n "$MAXARRAY" ]; then echo "set server max_array_size = $MAXARRAY"; else echo "unset server max_array_size"; fi
} | qmgr >/dev/null

if [ -n "$TEST_USER" ] && ! id "$TEST_USER" >/dev/null 2>&1; then
  useradd -m -s /bin/bash "$TEST_USER"
fi
printf 'PATH=%s/bin:$PATH\nPBS_SERVER_NAME=%s\n' "$PREFIX" "$HOST" >"$DIR/env"
log "PBS up in $(elapsed) s (daemons $((SECONDS - t)) s): server '$HOST', commands in $PREFIX/bin; pids: $(cd "$DIR/pids" && for f in *.pid; do printf '%s=%s ' "${f%.pid}" "$(cut -d' ' -f1 "$f")"; done)"
