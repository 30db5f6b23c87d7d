#!/bin/bash
# Starts one standalone ZooKeeper server (Debian's `zookeeper` package, 3.8) under one directory,
# without the system service. For tests and local clusters.
#
# Prereq:  apt-get install -y zookeeper      (jar at /usr/share/java/zookeeper.jar)
# Usage:   zk-start.sh DIR PORT
#          DIR/conf/zoo.cfg is written when missing (tickTime $TICK_MS, clientPort PORT); a caller that
#          wants other settings writes its own zoo.cfg first (the test harness does).
# Output:  stdout = the server's PID (also in DIR/zk.pid); logs in DIR/logs. Stop with: kill $(cat DIR/zk.pid)
# Env:     TICK_MS  tickTime of a generated zoo.cfg (default 2000, ZooKeeper's own default)
#
# Pitfalls (see the recipes this is based on):
#  - the package ships no SLF4J binding: without slf4j-log4j12.jar + log4j-1.2.jar the server logs nothing
#  - clientPortAddress=127.0.0.1 (never listen on every interface), admin.enableServer=false (else an admin
#    server binds 0.0.0.0:8080), 4lw.commands.whitelist=ruok,... (else `ruok` is refused),
#    minSessionTimeout=1000 (else the floor is 2 ticks: 4 s with the default tick), forceSync=no (tests only
#    need speed; a crashed test server is thrown away)
#  - never wrap this script in timeout(1): it signals the whole process group, the server included. The
#    server runs under nohup as a background job with its stdio on files, so it outlives this script and a
#    caller reading our stdout gets EOF when the script ends.
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: $0 DIR PORT" >&2; exit 2; fi
D=$1
PORT=$2
TICK_MS=${TICK_MS:-2000}
JAR=/usr/share/java/zookeeper.jar
[ -f "$JAR" ] || { echo "$JAR is missing: apt-get install -y zookeeper" >&2; exit 1; }
mkdir -p "$D/conf" "$D/data" "$D/logs"
if [ ! -f "$D/conf/zoo.cfg" ]; then
  cat > "$D/conf/zoo.cfg" <<EOF
tickTime=$TICK_MS
dataDir=$D/data
clientPort=$PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok,stat,srvr,mntr,cons,dump
minSessionTimeout=1000
maxSessionTimeout=60000
forceSync=no
EOF
fi
if [ ! -f "$D/conf/log4j.properties" ]; then
  cat > "$D/conf/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=${zookeeper.log.dir}/zookeeper.log
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
EOF
fi
CP=$D/conf:$JAR:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
# 256 MiB heap and the serial GC: one test server holds a few thousand small znodes; C1 only (level 1)
# because it starts faster and the server is short-lived.
nohup java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dzookeeper.log.dir="$D/logs" \
  -Dlog4j.configuration="file:$D/conf/log4j.properties" \
  -cp "$CP" org.apache.zookeeper.server.quorum.QuorumPeerMain "$D/conf/zoo.cfg" \
  > "$D/logs/stdout.log" 2>&1 < /dev/null &
echo $! > "$D/zk.pid"
echo $!
