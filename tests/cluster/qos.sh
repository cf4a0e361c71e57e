#!/usr/bin/env bash
# The test cluster's QOS for permanent-rejection tests (idempotent; start.sh runs it, and tests that
# need it run it again on a cluster started before it existed):
#   spineprod_maxwall  MaxWall=1 minute with DenyOnLimit: a longer --time is refused at submission
#                      ("QOSMaxWallDurationPerJobLimit"), as sites configure debug QOS.
set -euo pipefail
users=(root ${SPINEPROD_CLUSTER_USERS:-})
if ! sacctmgr -n -P show qos spineprod_maxwall format=name | grep -qx spineprod_maxwall; then
  sacctmgr -i add qos spineprod_maxwall MaxWall=00:01:00 Flags=DenyOnLimit >/dev/null
fi
for u in "${users[@]}"; do
  if ! sacctmgr -n -P show assoc user="$u" format=qos | tr ',' '\n' | grep -qx spineprod_maxwall; then
    sacctmgr -i modify user "$u" set QOS+=spineprod_maxwall >/dev/null
  fi
done
# slurmctld learns of accounting changes from slurmdbd within a moment: wait until it knows
for _ in $(seq 1 50); do
  scontrol show assoc_mgr flags=qos qos=spineprod_maxwall 2>/dev/null | grep -q "QOS=spineprod_maxwall" && exit 0
  sleep 0.2
done
echo "qos.sh: slurmctld does not know QOS spineprod_maxwall" >&2
exit 1
