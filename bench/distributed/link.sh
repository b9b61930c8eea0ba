#!/usr/bin/env bash
# Runs a command on an emulated network link: a private network namespace (unshare -n) whose loopback is rate-limited
# with a token-bucket filter, so ranks of an mpirun forced onto TCP over lo exchange gradients at RATE, as between
# machines. Needs root (or user namespaces), iproute2 and tc; netem (added delay) is not needed.
#   bench/distributed/link.sh RATE -- mpirun ... $FRUGAL_MPI_TCP ... frugal train ...
# RATE is tc's syntax: 1gbit, 200mbit. Inside, FRUGAL_MPI_TCP holds the mpirun flags that keep Open MPI on lo over TCP.
set -euo pipefail
if [ $# -lt 3 ] || [ "$2" != "--" ]; then
  echo "usage: bench/distributed/link.sh RATE -- COMMAND [ARGS...]   (RATE e.g. 1gbit, 200mbit)" >&2
  exit 2
fi
rate=$1; shift 2
command -v tc >/dev/null || { echo "link.sh: tc not found; install it: apt-get install iproute2" >&2; exit 1; }
export FRUGAL_MPI_TCP="--mca btl tcp,self --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo"
exec unshare -n bash -c '
  set -euo pipefail
  ip link set lo up
  tc qdisc add dev lo root tbf rate "$0" burst 256kb latency 20ms
  exec "$@"' "$rate" "$@"
