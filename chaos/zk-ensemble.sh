#!/usr/bin/env bash
# zk-ensemble.sh - writes the configs of a 3-node ZooKeeper ensemble under BASE/n1..n3; start each server
# with ../deploy/local/zk-start.sh BASE/nI PORT (which keeps a zoo.cfg it finds).
#
# Usage: zk-ensemble.sh BASE HOST1:CLIENT:PEER:ELECTION HOST2:… HOST3:…
#        e.g. 10.78.0.11:2181:2888:3888 (one network namespace per server) or
#        127.0.0.1:22191:22881:23881 (all on loopback: give each server its own ports)
# Env:   TICK_MS (default 500): the ensemble's clock. With syncLimit=4 a follower that loses the leader
#        notices within 2 s, and 1 s sessions are allowed (minSessionTimeout, below 2 ticks otherwise).
#        initLimit=20 (10 s): a follower's first sync on a busy 2-core machine.
# Pitfalls (../shared/recipes/README.md): clientPortAddress is set (never listen on every interface),
# admin.enableServer=false (else an admin server takes 0.0.0.0:8080), 4lw words whitelisted (`srvr`
# tells a leader from a follower). zookeeper.fastleader.maxNotificationInterval=1000 (faster elections
# after a heal) is a JVM flag: the caller passes it in JAVA_TOOL_OPTIONS to zk-start.sh.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 BASE H1:C:P:E H2:C:P:E H3:C:P:E" >&2; exit 2; }
BASE=$1; shift
TICK=${TICK_MS:-500}
SERVERS=""
i=0
for spec in "$@"; do
  i=$((i + 1)); IFS=: read -r host _client peer election <<<"$spec"
  SERVERS+="server.$i=$host:$peer:$election"$'\n'
done
i=0
for spec in "$@"; do
  i=$((i + 1)); IFS=: read -r host client _peer _election <<<"$spec"
  D=$BASE/n$i
  rm -rf "$D"; mkdir -p "$D/conf" "$D/data" "$D/logs"
  echo "$i" > "$D/data/myid"
  cat > "$D/conf/zoo.cfg" <<EOC
tickTime=$TICK
initLimit=20
syncLimit=4
dataDir=$D/data
clientPort=$client
clientPortAddress=$host
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr
minSessionTimeout=1000
maxSessionTimeout=60000
forceSync=no
$SERVERS
EOC
done
