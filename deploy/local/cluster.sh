#!/usr/bin/env bash
# cluster.sh - the whole distci topology on one machine, without Docker (issue 17). As root.
#
# Usage:   cluster.sh up        start it (refuses when one with the same prefix is up: `down` first)
#          cluster.sh status    each process: role, name, pid, namespace, address, alive or not; the URL.
#                               Exit 0 when every process is alive, 1 when one is not, 3 when none is up.
#          cluster.sh down [--purge]   stop every process by PID (TERM, then KILL after a bounded wait),
#                               delete every network namespace, veth and the bridge; idempotent, safe
#                               after a failed `up`. The state directory stays (logs) unless --purge.
#
# What `up` starts, each "host" a network namespace ${PREFIX}-<host> on a bridge ${PREFIX}-br0
# (${SUBNET}.1/24, the root namespace's side), veth ${PREFIX}-v<last octet>:
#   zk1..zk3  ${SUBNET}.11-13:2181   a ZooKeeper 3-node ensemble (chaos/zk-ensemble.sh configs, started
#                                    by zk-start.sh), chroot /distci
#   s3        ${SUBNET}.20:7480      single-node Ceph RGW, memstore (start-ceph-rgw.sh); bucket `distci`
#   fe1, fe2  ${SUBNET}.31-32:8080   `distci frontend`
#   ctl1, git1, sh1, sh2, pub1, copy1  ${SUBNET}.41…  `distci worker <kind>`, /metrics on <address>:9464
#   balancer  HAProxy in the root namespace, ${HOST}:${PORT} -> fe1, fe2 (TCP, health check /readyz)
# and runs `distci storage init` once ZooKeeper and RGW answer (the bucket and the ZooKeeper chroot).
#
# Env (all optional):
#   DISTCI_CLUSTER_DIR      state: pids, logs, data, token, env files (default /tmp/distci-cluster)
#   DISTCI_CLUSTER_PORT     the balancer's port (default 18080); DISTCI_CLUSTER_HOST its address (127.0.0.1)
#   DISTCI_CLUSTER_PREFIX   namespace/link prefix (default dcl; chaos uses dch), at most 8 of [a-z0-9]
#   DISTCI_CLUSTER_SUBNET   first three octets of the /24 (default 10.79.0; chaos uses 10.78.0)
#   DISTCI_CLUSTER_WORKERS  "kind=count ..." (default: control=1 git-checkout=1 exec-shell=2
#                           publish-artifacts=1 copy-artifacts=1), at most 9 of a kind
#   DISTCI_CLUSTER_CONCURRENCY   tickets per worker at once (default 2)
#   DISTCI_CLUSTER_ISOLATION     exec-shell steps: bwrap (default) or none
#   DISTCI_CLUSTER_WAIT_S   deadline of each wait of `up` (default 120)
#   DISTCI_CLUSTER_NO_INSTALL=1  fail instead of apt-get installing a missing Debian package
#   DISTCI_ALLOW_LOCAL_REPOSITORIES=true  let jobs check out local paths and file:// URLs (off by default)
#
# Balancer: Debian's haproxy (installed when missing, like the other packages): it installs cleanly with
# apt (2.6, ~5 s), health-checks the frontends and keeps long SSE streams open, so no balancer of our own
# is needed. Ours is a process of its own with its own config; the package's service (started by apt
# where systemd runs) has Debian's default config, which listens on nothing.
#
# Pitfalls (as in zk-start.sh, start-ceph-rgw.sh and chaos/README.md): ZooKeeper and Ceph are never started
# under timeout(1) (it signals the process group); every daemon runs under setsid with its output on a
# file, so `up` returns and a Ctrl-C in the shell that ran it does not reach them. Processes are stopped
# by PID only, and only when their start time still matches the one recorded (a reused PID is left alone).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${DISTCI_CLUSTER_DIR:-/tmp/distci-cluster}
P=${DISTCI_CLUSTER_PREFIX:-dcl}
SUBNET=${DISTCI_CLUSTER_SUBNET:-10.79.0}
PORT=${DISTCI_CLUSTER_PORT:-18080}
HOST=${DISTCI_CLUSTER_HOST:-127.0.0.1}
WORKERS=${DISTCI_CLUSTER_WORKERS:-control=1 git-checkout=1 exec-shell=2 publish-artifacts=1 copy-artifacts=1}
CONCURRENCY=${DISTCI_CLUSTER_CONCURRENCY:-2}
ISOLATION=${DISTCI_CLUSTER_ISOLATION:-bwrap}
WAIT_S=${DISTCI_CLUSTER_WAIT_S:-120}
BR=$P-br0
GW=$SUBNET.1
PROCS=$DIR/processes # one line per process: name role namespace pid starttime log (tab-separated)
MARK=$DIR/.distci-cluster
ZK_PORT=2181
RGW_PORT=7480
FE_PORT=8080
METRICS_PORT=9464
BUCKET=distci

die() { echo "cluster.sh: $*" >&2; exit 1; }
log() { echo "cluster.sh: $*" >&2; }
T0=$(date +%s%N)
elapsed() { local ms=$((($(date +%s%N) - T0) / 1000000)); printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100)); }

[[ $P =~ ^[a-z0-9]{1,8}$ ]] || die "DISTCI_CLUSTER_PREFIX must be 1-8 of [a-z0-9] (link names are at most 15 bytes)"
[[ $SUBNET =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "DISTCI_CLUSTER_SUBNET must be three octets, e.g. 10.79.0"
[[ $PORT =~ ^[0-9]+$ ]] || die "DISTCI_CLUSTER_PORT must be a port number"

# --- processes -----------------------------------------------------------------------------------------

# Start time of a PID (clock ticks since boot, /proc/PID/stat field 22), empty when it is gone. The comm
# field may hold spaces: cut after its closing parenthesis first.
starttime() { local s f; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0; read -r -a f <<<"${s##*) }"; echo "${f[19]}"; }
# A recorded process is ours and alive: its PID exists, is no zombie, and has the start time we recorded
# (else the PID was reused by another process, which is left alone).
alive() {
  local s f
  [ -n "$1" ] && s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  read -r -a f <<<"${s##*) }"
  [ "${f[0]}" != Z ] && [ "${f[19]}" = "$2" ]
}
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(starttime "$4")" "$5" >>"$PROCS"; }
field() { awk -F'\t' -v n="$1" -v c="$2" '$1 == n { print $c }' "$PROCS"; }
alive_name() { alive "$(field "$1" 4)" "$(field "$1" 5)"; }

# spawn NAME ROLE NAMESPACE LOG CMD…: runs CMD in NAMESPACE ('-': the root one), named after it, in a
# session of its own.
# In a non-interactive shell a background job is no process group leader, so setsid(1) does not fork,
# and `ip netns exec` execs: $! is the PID of CMD itself.
spawn() {
  local name=$1 role=$2 ns=$3 logf=$4; shift 4
  if [ "$ns" = - ]; then
    setsid "$@" >>"$logf" 2>&1 </dev/null &
  else
    # Its own hostname too (a UTS namespace): `distci workers` shows each worker's "host". unshare and
    # sh exec as well, so the PID stays CMD's.
    setsid ip netns exec "$ns" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$ns" "$@" >>"$logf" 2>&1 </dev/null &
  fi
  record "$name" "$role" "$ns" "$!" "$logf"
}

# wait_until WHAT "NAMES TO WATCH" PROBE…: polls PROBE with a backoff (50 ms doubling to 1 s) until it
# succeeds; fails at the deadline, or at once when a watched process has died (with its log's tail).
wait_until() {
  local what=$1 watch=$2; shift 2
  local end=$((SECONDS + WAIT_S)) delay=0.05 name
  until "$@" >/dev/null 2>&1; do
    for name in $watch; do
      if ! alive_name "$name"; then
        log "$name died while waiting for $what; the end of $(field "$name" 6):"
        tail -n 20 "$(field "$name" 6)" >&2 || true
        return 1
      fi
    done
    if [ "$SECONDS" -ge "$end" ]; then log "timed out after ${WAIT_S} s waiting for $what (logs in $DIR/logs)"; return 1; fi
    sleep "$delay"
    delay=$(awk -v d="$delay" 'BEGIN { d *= 2; print (d > 1) ? 1 : d }')
  done
}

# stop_names GRACE-S NAME…: SIGTERM to each live one, wait (bounded) until all are gone, SIGKILL the rest.
stop_names() {
  local grace=$1; shift
  local name pid st left end
  for name in "$@"; do
    pid=$(field "$name" 4); st=$(field "$name" 5)
    if alive "$pid" "$st"; then kill -CONT "$pid" 2>/dev/null || true; kill -TERM "$pid" 2>/dev/null || true; fi
  done
  end=$(($(date +%s%N) + grace * 1000000000))
  while :; do
    left=()
    for name in "$@"; do alive "$(field "$name" 4)" "$(field "$name" 5)" && left+=("$name"); done
    [ ${#left[@]} -eq 0 ] && return 0
    [ "$(date +%s%N)" -lt "$end" ] || break
    sleep 0.1
  done
  log "still alive after ${grace} s, SIGKILL: ${left[*]}"
  for name in "${left[@]}"; do kill -KILL "$(field "$name" 4)" 2>/dev/null || true; done
  for name in "${left[@]}"; do
    end=$((SECONDS + 10))
    while alive "$(field "$name" 4)" "$(field "$name" 5)" && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
  done
}

# --- network namespaces --------------------------------------------------------------------------------

our_namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$P-[a-z0-9]+$" || true; }
our_links() { ip -o link show 2>/dev/null | grep -oE "\b$P-v[0-9]+\b" | sort -u || true; }

bridge_up() {
  if ip -4 -o addr show 2>/dev/null | grep -v " $BR " | grep -qE "inet $SUBNET\.[0-9]+/"; then
    die "$SUBNET.0/24 is already used by another interface: choose DISTCI_CLUSTER_SUBNET"
  fi
  ip link add "$BR" type bridge
  ip addr add "$GW/24" dev "$BR"
  ip link set "$BR" up
}

# host_add HOST OCTET: namespace $P-HOST with eth0 = $SUBNET.OCTET/24 on the bridge.
host_add() {
  local ns=$P-$1 veth=$P-v$2
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$BR"
  ip link set "$veth" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$SUBNET.$2/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$GW" dev eth0
  printf '%s\t%s\t%s\n' "$1" "$ns" "$SUBNET.$2" >>"$DIR/hosts"
}

# --- packages ------------------------------------------------------------------------------------------

ensure_packages() {
  local missing=()
  [ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
  command -v radosgw >/dev/null || missing+=(radosgw)
  command -v ceph-mon >/dev/null || missing+=(ceph-mon)
  command -v ceph-osd >/dev/null || missing+=(ceph-osd)
  command -v haproxy >/dev/null || missing+=(haproxy)
  command -v git >/dev/null || missing+=(git)
  command -v curl >/dev/null || missing+=(curl)
  if [ "$ISOLATION" = bwrap ]; then command -v bwrap >/dev/null || missing+=(bubblewrap); fi
  [ ${#missing[@]} -eq 0 ] && return 0
  [ -z "${DISTCI_CLUSTER_NO_INSTALL:-}" ] || die "missing Debian packages: ${missing[*]} (apt-get install -y ${missing[*]})"
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq install -y "${missing[@]}" >/dev/null
}

# --- probes --------------------------------------------------------------------------------------------

# zk_mode ADDRESS: leader, follower, standalone or nothing (ZooKeeper's `srvr`; the probe only is bounded).
zk_mode() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$ZK_PORT; printf srvr >&3; cat <&3" 2>/dev/null | sed -n 's/^Mode: //p' || true
}
zk_quorum() {
  local modes i
  modes=$(for i in 1 2 3; do zk_mode "$SUBNET.1$i"; done | sort | tr '\n' ' ')
  [ "$modes" = "follower follower leader " ]
}
in_log() { grep -q -- "$2" "$(field "$1" 6)"; }

# --- up ------------------------------------------------------------------------------------------------

up_failed() {
  local rc=$?
  trap - EXIT INT TERM
  [ "$rc" -eq 0 ] && return 0
  log "up failed after $(elapsed) (exit $rc); logs in $DIR/logs, $DIR/zk/n*/logs, $DIR/ceph/log. Stopping what started:"
  cmd_down >&2 || true
  exit "$rc"
}

cmd_up() {
  [ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
  if [ -f "$PROCS" ] && [ -n "$(cut -f1 "$PROCS" | while read -r n; do alive_name "$n" && echo "$n"; done)" ]; then
    die "a cluster is already up in $DIR (see \`$0 status\`); \`$0 down\` first"
  fi
  if ip link show "$BR" >/dev/null 2>&1 || [ -n "$(our_namespaces)" ]; then
    die "bridge $BR or namespaces $P-* exist (another cluster with prefix $P, or one left over): run \`$0 down\` first"
  fi
  if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ] && [ ! -f "$MARK" ]; then
    die "refusing to use $DIR: not empty and not made by $0"
  fi
  ensure_packages
  local kind count spec i
  for spec in $WORKERS; do
    kind=${spec%=*}; count=${spec#*=}
    case $kind in control | git-checkout | exec-shell | publish-artifacts | copy-artifacts) ;; *) die "unknown worker kind '$kind' in DISTCI_CLUSTER_WORKERS" ;; esac
    [[ $count =~ ^[0-9]$ ]] || die "worker count '$count' of $kind: 0-9"
  done
  rm -rf "$DIR"
  mkdir -p "$DIR/logs" "$DIR/data"
  chmod 0700 "$DIR"
  : >"$MARK"; : >"$PROCS"; : >"$DIR/hosts"
  trap up_failed EXIT
  trap 'exit 130' INT TERM

  # Hosts: the ZooKeeper servers, RGW, the frontends, the workers.
  bridge_up
  host_add zk1 11; host_add zk2 12; host_add zk3 13
  host_add s3 20
  host_add fe1 31; host_add fe2 32
  local octet=41 short workers=()
  for spec in $WORKERS; do
    kind=${spec%=*}; count=${spec#*=}
    case $kind in control) short=ctl ;; git-checkout) short=git ;; exec-shell) short=sh ;; publish-artifacts) short=pub ;; copy-artifacts) short=copy ;; esac
    for ((i = 1; i <= count; i++)); do
      host_add "$short$i" "$octet"
      workers+=("$short$i:$kind:$SUBNET.$octet")
      octet=$((octet + 1))
    done
  done
  log "namespaces up at $(elapsed)"

  # Credentials: the API token and the S3 user's keys, made for this cluster.
  local token access secret
  token="dci_$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
  access="DCL$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
  secret=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
  (umask 077 && echo "$token" >"$DIR/token")
  # What every component reads (the shape of deploy/systemd/distci.env).
  (umask 077 && cat >"$DIR/distci.env" <<EOF
DISTCI_ZK=$SUBNET.11:$ZK_PORT,$SUBNET.12:$ZK_PORT,$SUBNET.13:$ZK_PORT/distci
DISTCI_SESSION_TIMEOUT_MS=10000
DISTCI_S3_ENDPOINT=http://$SUBNET.20:$RGW_PORT
DISTCI_S3_BUCKET=$BUCKET
DISTCI_S3_REGION=us-east-1
AWS_ACCESS_KEY_ID=$access
AWS_SECRET_ACCESS_KEY=$secret
${DISTCI_ALLOW_LOCAL_REPOSITORIES:+DISTCI_ALLOW_LOCAL_REPOSITORIES=$DISTCI_ALLOW_LOCAL_REPOSITORIES}
EOF
  )

  # ZooKeeper: configs for the 3 servers, each started in its namespace (the JVMs warm up while Ceph starts).
  TICK_MS=${DISTCI_CLUSTER_ZK_TICK_MS:-1000} bash "$ROOT/chaos/zk-ensemble.sh" "$DIR/zk" \
    "$SUBNET.11:$ZK_PORT:2888:3888" "$SUBNET.12:$ZK_PORT:2888:3888" "$SUBNET.13:$ZK_PORT:2888:3888"
  local pid
  for i in 1 2 3; do
    # 1 s between election notifications (default: backing off to 60 s): a late server joins at once.
    pid=$(JAVA_TOOL_OPTIONS=-Dzookeeper.fastleader.maxNotificationInterval=1000 \
      setsid ip netns exec "$P-zk$i" bash "$ROOT/deploy/local/zk-start.sh" "$DIR/zk/n$i" "$ZK_PORT" | tail -n 1)
    [[ $pid =~ ^[0-9]+$ ]] || die "zk-start.sh printed no PID for zk$i"
    record "zk$i" zookeeper "$P-zk$i" "$pid" "$DIR/zk/n$i/logs/zookeeper.log"
  done

  # Ceph: mon, OSD and RGW in namespace s3 (the script waits for each and makes the S3 user).
  local pids role
  pids=$(CEPH_DIR=$DIR/ceph CEPH_ADDR=$SUBNET.20 RGW_PORT=$RGW_PORT MON_PORT=3300 MS_PORT_MIN=6800 MS_PORT_MAX=6899 \
    S3_ACCESS_KEY=$access S3_SECRET_KEY=$secret WAIT_S=$WAIT_S \
    setsid ip netns exec "$P-s3" bash "$ROOT/deploy/local/start-ceph-rgw.sh" memstore 2>>"$DIR/logs/ceph-start.log") ||
    { log "start-ceph-rgw.sh failed:"; tail -n 20 "$DIR/logs/ceph-start.log" >&2; return 1; }
  set -- ceph-mon ceph-osd radosgw
  for pid in $pids; do
    role=$1; shift
    record "$role" "$role" "$P-s3" "$pid" "$DIR/ceph/log/${role#ceph-}.out"
  done
  log "Ceph RGW serving at $(elapsed)"
  wait_until "a ZooKeeper quorum" "zk1 zk2 zk3" zk_quorum
  log "ZooKeeper quorum at $(elapsed)"

  # The bucket and the chroot. The client runs in the root namespace, which reaches the bridge.
  set -a; . "$DIR/distci.env"; set +a
  export NO_COLOR=1
  timeout -k 5 "$WAIT_S" node "$ROOT/packages/cli/bin/distci.js" storage init >"$DIR/logs/storage-init.log" 2>&1 ||
    { log "distci storage init failed:"; cat "$DIR/logs/storage-init.log" >&2; return 1; }
  log "storage init done at $(elapsed)"

  # Frontends and workers, all at once; then wait for every ready line.
  local name ip watch=""
  for name in fe1 fe2; do
    ip=$(awk -F'\t' -v h="$name" '$1 == h { print $3 }' "$DIR/hosts")
    mkdir -p "$DIR/data/$name"
    (cd "$DIR/data/$name" && spawn "$name" frontend "$P-$name" "$DIR/logs/$name.log" \
      node "$ROOT/packages/cli/bin/distci.js" frontend --host "$ip" --port "$FE_PORT" \
      --tokens-file "$DIR/token" --public-url "http://$HOST:$PORT" --log-level warn)
    watch+=" $name"
  done
  local w
  for w in "${workers[@]}"; do
    IFS=: read -r name kind ip <<<"$w"
    mkdir -p "$DIR/data/$name"
    (cd "$DIR/data/$name" && export DISTCI_GIT_CACHE_DIR=$DIR/data/$name/git-cache && spawn "$name" "$kind" "$P-$name" \
      "$DIR/logs/$name.log" node "$ROOT/packages/cli/bin/distci.js" worker "$kind" \
      --concurrency "$CONCURRENCY" --grace-ms 5000 --isolation "$ISOLATION" \
      --metrics-port "$METRICS_PORT" --metrics-host "$ip")
    watch+=" $name"
  done
  for name in fe1 fe2; do wait_until "frontend $name" "$name" in_log "$name" 'frontend ready at'; done
  for w in "${workers[@]}"; do
    name=${w%%:*}
    wait_until "worker $name" "$name" in_log "$name" 'ready: coordination'
  done
  log "frontends and workers ready at $(elapsed)"

  # The balancer: one port in the root namespace, TCP to both frontends, which are health-checked on
  # /readyz (a frontend without its ZooKeeper session or bucket is taken out). A connection refused by a
  # frontend that died since the last check goes to the other one (retries, redispatch). 1 h idle
  # timeouts: a `build trigger --follow` or the dashboard holds an SSE stream open that long without a byte.
  cat >"$DIR/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode tcp
  retries 2
  option redispatch 1
  timeout connect 2s
  timeout client 1h
  timeout server 1h
  timeout check 2s
frontend distci
  bind $HOST:$PORT
  default_backend frontends
backend frontends
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 1s fall 2 rise 1
  server fe1 $SUBNET.31:$FE_PORT check
  server fe2 $SUBNET.32:$FE_PORT check
EOF
  haproxy -c -q -f "$DIR/haproxy.cfg" >"$DIR/logs/balancer.log" 2>&1 || { cat "$DIR/logs/balancer.log" >&2; return 1; }
  spawn balancer balancer - "$DIR/logs/balancer.log" haproxy -db -f "$DIR/haproxy.cfg"
  wait_until "the balancer at http://$HOST:$PORT" balancer curl -sf --max-time 2 -o /dev/null "http://$HOST:$PORT/readyz"
  (umask 077 && printf 'DISTCI_URL=http://%s:%s\nDISTCI_TOKEN=%s\n' "$HOST" "$PORT" "$token" >"$DIR/client.env")
  trap - EXIT INT TERM
  cat <<EOF
distci cluster up in $(elapsed): $(wc -l <"$PROCS") processes, $(wc -l <"$DIR/hosts") network namespaces ($P-*) on $BR
  URL         http://$HOST:$PORT   (HAProxy -> frontends $SUBNET.31:$FE_PORT, $SUBNET.32:$FE_PORT)
  token file  $DIR/token
  state       $DIR (logs in $DIR/logs; component settings in $DIR/distci.env)
Run distci commands against it:
  export DISTCI_URL=http://$HOST:$PORT DISTCI_TOKEN="\$(cat $DIR/token)"
  node $ROOT/packages/cli/bin/distci.js job push $ROOT/jobs/hello.json
  node $ROOT/packages/cli/bin/distci.js build trigger hello --follow
  node $ROOT/packages/cli/bin/distci.js workers
Status and stop: $0 status | $0 down
EOF
}

# --- status --------------------------------------------------------------------------------------------

cmd_status() {
  if [ ! -s "$PROCS" ]; then
    echo "no cluster in $DIR (not up, or stopped)"
    local left; left=$(our_namespaces | tr '\n' ' ')
    [ -z "$left" ] || echo "namespaces with prefix $P exist: $left(another state directory, or left over: \`$0 down\`)"
    return 3
  fi
  local name role ns pid st logf addr state note dead=0
  printf '%-18s %-9s %-8s %-10s %-20s %s\n' ROLE NAME PID NAMESPACE ADDRESS STATE
  while IFS=$'\t' read -r name role ns pid st logf; do
    note=""
    case $role in
      zookeeper) addr=$(awk -F'\t' -v h="$name" '$1 == h { print $3 }' "$DIR/hosts"):$ZK_PORT ;;
      ceph-mon) addr=$SUBNET.20:3300 ;;
      ceph-osd) addr=$SUBNET.20 ;;
      radosgw) addr=$SUBNET.20:$RGW_PORT ;;
      frontend) addr=$(awk -F'\t' -v h="$name" '$1 == h { print $3 }' "$DIR/hosts"):$FE_PORT ;;
      balancer) addr=$HOST:$PORT ;;
      *) addr=$(awk -F'\t' -v h="$name" '$1 == h { print $3 }' "$DIR/hosts"):$METRICS_PORT ;;
    esac
    if alive "$pid" "$st"; then
      state=alive
      case $role in
        zookeeper) note=$(zk_mode "${addr%:*}") ;;
        frontend) note=$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://$addr/readyz" | sed 's/^200$/ready/; s/^[0-9]*$/not ready (&)/') ;;
      esac
    else
      state=DEAD; dead=1
    fi
    printf '%-18s %-9s %-8s %-10s %-20s %s\n' "$role" "$name" "$pid" "${ns/#-/(root)}" "$addr" "$state${note:+ ($note)}"
  done <"$PROCS"
  echo "URL: http://$HOST:$PORT   token file: $DIR/token   logs: $DIR/logs"
  return "$dead"
}

# --- down ----------------------------------------------------------------------------------------------

cmd_down() {
  [ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
  local first=() rgw=() osd=() last=() name role ns
  if [ -s "$PROCS" ]; then
    while IFS=$'\t' read -r name role _; do
      case $role in radosgw) rgw+=("$name") ;; ceph-osd) osd+=("$name") ;; ceph-mon | zookeeper) last+=("$name") ;; *) first+=("$name") ;; esac
    done <"$PROCS"
    # In waves, each user before what it uses: the balancer, frontends and workers (which drain:
    # --grace-ms 5000); RGW (stopped with its OSD and mon, it waits on them for up to 120 s); the OSD;
    # the mon and ZooKeeper. Each wave takes ~1 s.
    [ ${#first[@]} -eq 0 ] || stop_names 10 "${first[@]}"
    [ ${#rgw[@]} -eq 0 ] || stop_names 10 "${rgw[@]}"
    [ ${#osd[@]} -eq 0 ] || stop_names 10 "${osd[@]}"
    [ ${#last[@]} -eq 0 ] || stop_names 10 "${last[@]}"
  fi
  # Whatever still runs inside our namespaces (started there by hand, or not recorded by a failed `up`).
  local pid left end
  for ns in $(our_namespaces); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    end=$((SECONDS + 10))
    while left=$(ip netns pids "$ns" 2>/dev/null) && [ -n "$left" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
    ip netns del "$ns"
  done
  local link
  for link in $(our_links); do ip link del "$link" 2>/dev/null || true; done
  ip link del "$BR" 2>/dev/null || true
  if [ -f "$PROCS" ]; then mv "$PROCS" "$DIR/processes.stopped"; fi
  if [ "${1:-}" = --purge ] && [ -f "$MARK" ]; then rm -rf "$DIR"; fi
  echo "down: no process of $DIR left, no namespace $P-*, no link $P-v*, no bridge $BR"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  up) cmd_up ;;
  status) cmd_status ;;
  down) cmd_down "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
