#!/bin/bash
# Starts a single-node Ceph (mon + osd + RGW with the beast frontend) serving S3 on 127.0.0.1 (or
# $CEPH_ADDR), entirely
# under one directory, without systemd. For tests and local clusters; not for data you want to keep.
#
# Prereq:  apt-get install -y radosgw ceph-mon ceph-osd   (Debian 12: Ceph Pacific 16.2.15)
# Usage:   start-ceph-rgw.sh [memstore|bluestore]          (default memstore: RAM-backed, starts faster)
# Output:  stdout = the daemons' PIDs, one per line (also in $CEPH_DIR/pids); progress goes to stderr.
#          Stop with: kill $(cat $CEPH_DIR/pids)
# Env:     CEPH_DIR      data, config and logs (default: a new mktemp -d); wiped first
#          CEPH_ADDR     the IPv4 address every daemon binds (default 127.0.0.1; cluster.sh gives the
#                        address of the network namespace it runs this script in)
#          RGW_PORT      S3 port (default 40080)
#          MON_PORT      monitor port, msgr v2 (default 40300)
#          MS_PORT_MIN / MS_PORT_MAX  the range the OSD binds in (default 40800-40899); the OSD needs 4
#                        ports (public, cluster, heartbeat front/back, msgr v2 only) and skips ports in use
#          S3_ACCESS_KEY / S3_SECRET_KEY  the S3 user's keys (default TESTACCESSKEY / TESTSECRETKEY)
#          WAIT_S        deadline of each step in seconds (default 60)
# S3:      http://$CEPH_ADDR:$RGW_PORT, path-style, region us-east-1. AWS SDK v3 >= 3.729 must set
#          requestChecksumCalculation:'WHEN_REQUIRED' (Pacific RGW answers aws-chunked uploads with 411).
#
# Never wrap this script in timeout(1): it signals the whole process group, daemons included. The daemons
# run in the foreground (-f) as background jobs of this shell, so they survive it, with their stdio on
# files under $CEPH_DIR/log (a caller reading this script's stdout gets EOF when the script ends, not when
# the daemons do). On any failure the script kills what it started and exits non-zero.
#
# Measured (2 vCPU VM, loaded by other test runs): serving S3 with a first bucket after 1.2-2.1 s with
# memstore, 4.1-6.1 s with bluestore (the 4 GiB block file's mkfs), against ~13 s + 2 s for the first
# bucket with Ceph's default paxos interval (see [mon]). SIGTERM to all three: gone in ~1.7 s.
# RSS: mon ~36 MiB, rgw ~135 MiB, osd ~115 MiB (bluestore) or the data itself (memstore, ~400 MiB after
# the blob bench). Memstore is plenty for tests; bluestore is for data that must outlive the OSD.
set -euo pipefail
STORE=${1:-${CEPH_STORE:-memstore}}
case "$STORE" in memstore | bluestore) ;; *) echo "usage: $0 [memstore|bluestore]" >&2; exit 2 ;; esac
C=${CEPH_DIR:-$(mktemp -d -t distci-ceph-XXXXXX)}
ADDR=${CEPH_ADDR:-127.0.0.1}
RGW_PORT=${RGW_PORT:-40080}
MON_PORT=${MON_PORT:-40300}
MS_PORT_MIN=${MS_PORT_MIN:-40800}
MS_PORT_MAX=${MS_PORT_MAX:-40899}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-TESTACCESSKEY}
S3_SECRET_KEY=${S3_SECRET_KEY:-TESTSECRETKEY}
WAIT_S=${WAIT_S:-60}
T0=$(date +%s%N)
ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }

# The directory is wiped: refuse anything that is not empty and not a cluster this script made.
if [ -d "$C" ] && [ -n "$(ls -A "$C")" ] && [ ! -f "$C/ceph.conf" ]; then
  echo "refusing to wipe $C: not empty and not made by $0 (no ceph.conf)" >&2; exit 2
fi
rm -rf "$C"; mkdir -p "$C"/{mon/ceph-a,osd/ceph-0,rgw,run,log,crash}
PIDS=$C/pids; : > "$PIDS"
# On failure, stop every daemon started so far: a half-started cluster only holds ports and RAM.
cleanup() { local rc=$?; if [ $rc -ne 0 ]; then xargs -r kill < "$PIDS" 2>/dev/null || true; echo "failed (exit $rc); logs in $C/log" >&2; fi; }
trap cleanup EXIT
started() { echo "$1" >> "$PIDS"; }
# Polls a probe every 0.1 s until it succeeds; fails early when a daemon we started has died.
wait_for() {
  local what=$1; shift
  local end=$(( $(date +%s) + WAIT_S ))
  until "$@" >/dev/null 2>&1; do
    while read -r pid; do kill -0 "$pid" 2>/dev/null || { echo "pid $pid died while waiting for $what; see $C/log" >&2; exit 1; }; done < "$PIDS"
    [ "$(date +%s)" -lt "$end" ] || { echo "timeout (${WAIT_S}s) waiting for $what; see $C/log" >&2; exit 1; }
    sleep 0.1
  done
}

FSID=$(cat /proc/sys/kernel/random/uuid)
CONF=$C/ceph.conf
cat > "$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:$ADDR:$MON_PORT]
public addr = $ADDR
cluster addr = $ADDR
ms bind ipv4 = true
ms bind ipv6 = false
# msgr v2 only: the OSD binds 4 ports instead of 8
ms bind msgr1 = false
ms bind port min = $MS_PORT_MIN
ms bind port max = $MS_PORT_MAX
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
# radosgw defaults to ms_mon_client_mode=secure, which auth=none cannot satisfy (EACCES -13)
ms mon client mode = crc
ms client mode = crc
run dir = $C/run
admin socket = $C/run/\$cluster-\$name.asok
pid file = $C/run/\$cluster-\$name.pid
log file = $C/log/\$cluster-\$name.log
crash dir = $C/crash
log to stderr = false
err to stderr = true
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
# 8 PGs per pool: RGW makes 6 pools at start and 2 more with the first bucket; one OSD serves them all
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
mon data avail warn = 1
mon data avail crit = 0

[mon]
mon data = $C/mon/\$cluster-\$id
mon cluster log file = $C/log/\$cluster.log
# 1 s by default: every map change (OSD boot, each of RGW's 8 pools) waits up to 1 s for the next
# proposal, which made RGW take ~9 s to start. 20 ms is plenty for one mon and nothing to batch.
paxos propose interval = 0.02
paxos min wait = 0.001

[osd]
osd data = $C/osd/\$cluster-\$id
osd objectstore = $STORE
# 2 GiB of RAM at most for memstore (it allocates as objects are written)
memstore device bytes = 2147483648
bluestore block path = $C/osd/\$cluster-\$id/block.file
bluestore block create = true
bluestore block size = 4294967296
bluestore fsck on mkfs = false
bluestore fsck on mount = false
osd memory target = 939524096
bluestore cache autotune = false
bluestore cache size = 134217728
osd op num shards = 1
osd op num threads per shard = 2
# 5 s by default: on SIGTERM the OSD waits that long for a mon that is usually being stopped with it
osd mon shutdown timeout = 0.5

[client.rgw.a]
# tcp_nodelay=1: without it beast sends a GET's headers and body in separate segments and Nagle holds the
# body until the client's delayed ACK: every small GET took ~45 ms (22/s); with it ~2.5 ms
rgw frontends = beast endpoint=$ADDR:$RGW_PORT tcp_nodelay=1
rgw data = $C/rgw
rgw thread pool size = 64
rgw enable usage log = false
# distci sets no lifecycle rules; the LC threads sleep 5 s at a time and hold up shutdown by as much
rgw enable lc threads = false
# Overwritten and deleted objects' data is reclaimed by RGW's GC after 2 h by default; memstore holds it in
# RAM (at most memstore device bytes) until then, so reclaim after 30 s
rgw gc obj min wait = 30
rgw gc processor period = 30
rgw dns name = localhost
EOF
export CEPH_CONF=$CONF

# 1. monitor
monmaptool --create --fsid "$FSID" --addv a "[v2:$ADDR:$MON_PORT]" "$C/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$C/monmap" 2>>"$C/log/setup.err"
ceph-mon -i a -f >>"$C/log/mon.out" 2>&1 </dev/null & started $!
wait_for mon ceph --connect-timeout 2 mon stat
echo "mon up at $(ms) ms" >&2

# 2. OSD
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$(ceph osd new "$OSD_UUID")
ceph-osd -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" 2>>"$C/log/setup.err" >/dev/null
ceph-osd -i "$OSD_ID" -f >>"$C/log/osd.out" 2>&1 </dev/null & started $!
wait_for osd bash -c "ceph osd stat | grep -q '1 up'"
echo "osd up at $(ms) ms" >&2

# 3. RGW (creates its pools on first start)
radosgw -n client.rgw.a -f >>"$C/log/rgw.out" 2>&1 </dev/null & started $!
# --max-time: a foreign listener on the port may accept and never answer
wait_for rgw curl -sf --max-time 2 -o /dev/null "http://$ADDR:$RGW_PORT/"
echo "rgw serving at $(ms) ms" >&2

# 4. S3 user with fixed keys
radosgw-admin -n client.admin user create --uid=distci --display-name=distci \
  --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" >/dev/null 2>>"$C/log/setup.err"
echo "user ready at $(ms) ms" >&2
cat "$PIDS"
