#!/usr/bin/env bash
# netns.sh - "hosts" as network namespaces on one bridge, so the chaos suite can partition one of them.
# Based on ../shared/recipes/netns-hosts.sh, reduced to what the chaos suite needs: whole-host isolation
# by taking the host's veth down (no nftables needed, which these machines lack).
#
# Usage (as root):
#   netns.sh up N          bridge ${PREFIX}-br0 = ${SUBNET}.1/24 and hosts 1..N: namespace ${PREFIX}-h<i>,
#                          eth0 = ${SUBNET}.<10+i>/24, lo up; TCP retransmits capped at 1 s inside each
#                          (net.ipv4.tcp_rto_max_ms=1000, when the kernel has it) so connections recover
#                          quickly after a heal
#   netns.sh down          kill what runs inside the hosts, delete hosts and bridge (idempotent)
#   netns.sh partition I   isolate host I (its veth down: packets to and from it are dropped)
#   netns.sh heal I        undo it
#   netns.sh ip I          print host I's address
# Env: CHAOS_NETNS_PREFIX (default dch), CHAOS_NETNS_SUBNET (default 10.78.0): not the recipe's, so a
#      cluster made with the recipe on the same machine is left alone.
set -euo pipefail
PREFIX=${CHAOS_NETNS_PREFIX:-dch}
SUBNET=${CHAOS_NETNS_SUBNET:-10.78.0}
BR="${PREFIX}-br0"
die() { echo "netns.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
num() { [[ ${1:-} =~ ^[0-9]+$ ]] || die "bad host '${1:-}'"; echo "$1"; }
ns() { echo "$PREFIX-h$(num "$1")"; }
exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

up() {
  local n; n=$(num "${1:-}")
  ip link show "$BR" >/dev/null 2>&1 || ip link add "$BR" type bridge
  ip addr replace "$SUBNET.1/24" dev "$BR"
  ip link set "$BR" up
  local i name veth
  for ((i = 1; i <= n; i++)); do
    name=$(ns "$i"); veth="$name-r"
    exists "$name" || ip netns add "$name"
    ip link show "$veth" >/dev/null 2>&1 || ip link add "$veth" type veth peer name eth0 netns "$name"
    ip link set "$veth" master "$BR"
    ip link set "$veth" up
    ip -n "$name" link set lo up
    ip -n "$name" addr replace "$SUBNET.$((10 + i))/24" dev eth0
    ip -n "$name" link set eth0 up
    ip -n "$name" route replace default via "$SUBNET.1" dev eth0
    ip netns exec "$name" sysctl -q -w net.ipv4.tcp_rto_max_ms=1000 >/dev/null 2>&1 || true
  done
}

down() {
  local name p
  for name in $(ip netns list | awk '{print $1}' | grep -E "^$PREFIX-h[0-9]+$" || true); do
    for p in $(ip netns pids "$name" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$name"
    ip link del "$name-r" 2>/dev/null || true
  done
  ip link del "$BR" 2>/dev/null || true
}

cmd=${1:-}; [ $# -gt 0 ] && shift
case $cmd in
  up) up "$@" ;;
  down) down ;;
  partition) ip link set "$(ns "${1:-}")-r" down ;;
  heal) ip link set "$(ns "${1:-}")-r" up ;;
  ip) echo "$SUBNET.$((10 + $(num "${1:-}")))" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
