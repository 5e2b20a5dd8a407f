#!/usr/bin/env bash
# Failures on demand for the tests of the Redis topologies, against the
# servers scripts/test-services.sh started in TEST_SERVICES_DIR.
#
# Usage: scripts/lib/redis_ctl.sh sentinel-kill-master | sentinel-heal |
#        cluster-kill-master [KEY] | cluster-heal
# (the *-kill-master commands print the killed server's port)
set -euo pipefail
TS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
STATE_DIR=${TEST_SERVICES_DIR:-/tmp/teamtrack-test-services}
CACHE_DIR=${TEAMTRACK_CACHE:-${HOME:-/root}/.cache/teamtrack}
[ -d "$STATE_DIR" ] || { echo "redis_ctl: no state dir $STATE_DIR" >&2; exit 1; }
STATE_DIR="$(cd "$STATE_DIR" && pwd -P)"
export STATE_DIR CACHE_DIR TS_ROOT
# shellcheck source=scripts/lib/common.sh
. "$TS_ROOT/scripts/lib/common.sh"
# shellcheck source=scripts/lib/redis_sentinel.sh
. "$TS_ROOT/scripts/lib/redis_sentinel.sh"
# shellcheck source=scripts/lib/redis_cluster.sh
. "$TS_ROOT/scripts/lib/redis_cluster.sh"

case "${1:-}" in
sentinel-kill-master) redis_sentinel_kill_master ;;
sentinel-heal) redis_sentinel_heal ;;
cluster-kill-master) redis_cluster_kill_master "${2:-}" ;;
cluster-heal) redis_cluster_heal ;;
*) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2 ;;
esac
