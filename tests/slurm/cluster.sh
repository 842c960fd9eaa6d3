#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for tests (tests/farm.rs) and for trying
# `mattebox farm` by hand: munged, slurmctld and slurmd with their own config, munge key and
# socket, free ports, state and logs, all in one folder, and stopped by the PIDs they wrote.
#
#   bash tests/slurm/cluster.sh start DIR   # prints SLURM_CONF=DIR/slurm.conf once the node is idle
#   bash tests/slurm/cluster.sh stop DIR    # cancels its jobs, stops the daemons started in DIR by PID
#
# Needs root (slurmd starts jobs as their user; munged runs as `munge`) and Debian's slurm-wlm and
# munge (Slurm 22.05). It never touches a system cluster: its own ports, socket and folders, no
# accounting (so `sacct` does not work here; `squeue` and `scontrol` do).
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi

# name:pidfile pairs, in stopping order.
daemons() {
    echo "slurmd:$dir/slurmd.pid slurmctld:$dir/slurmctld.pid munged:$dir/munge/munged.pid"
}

stop() {
    if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.pid" ]; then
        # The cluster's own jobs only (its config), so no task outlives its daemons.
        SLURM_CONF="$dir/slurm.conf" timeout 10 scancel --user="$(id -un)" 2>/dev/null || true
        sleep 1
    fi
    local entry name pidfile pid
    for entry in $(daemons); do
        name="${entry%%:*}"
        pidfile="${entry#*:}"
        [ -f "$pidfile" ] || continue
        pid="$(tr -dc 0-9 <"$pidfile")"
        # Only the daemon this folder started: the PID must still be that program.
        if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
        fi
        rm -f "$pidfile"
    done
}

start() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "cluster.sh: needs root (slurmd starts jobs as their user, munged runs as munge)" >&2
        exit 3
    fi
    local t
    for t in munged slurmctld slurmd sinfo sbatch; do
        if ! command -v "$t" >/dev/null && [ ! -x "/usr/sbin/$t" ]; then
            echo "cluster.sh: $t is missing: apt-get install slurm-wlm munge" >&2
            exit 3
        fi
    done
    export PATH="$PATH:/usr/sbin"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    # munged (user munge) must reach its folder inside this one.
    chmod 755 "$dir"
    if ! runuser -u munge -- test -x "$dir"; then
        echo "cluster.sh: the munge user cannot reach $dir: make its parent folders traversable (chmod o+x)" >&2
        exit 3
    fi
    trap 'echo "cluster.sh: start failed; logs in $dir" >&2; stop' ERR
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
    chown munge:munge "$dir/munge"
    # munged insists that every user can reach its socket; the key itself is 0400.
    chmod 755 "$dir/munge"
    local key="$dir/munge/munge.key" socket="$dir/munge/munge.socket.2"
    dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
    chown munge:munge "$key"
    chmod 400 "$key"
    runuser -u munge -- munged --socket="$socket" --key-file="$key" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
        --seed-file="$dir/munge/munged.seed"

    local host ports ctld_port slurmd_port node mem_mb
    host="$(hostname -s)"
    ports="$(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("", 0))
print(*[x.getsockname()[1] for x in s])')"
    read -r ctld_port slurmd_port <<<"$ports"
    # The node as slurmd sees it (CPUs, sockets, cores, threads), with less memory than it has.
    node="$(slurmd -C | head -n 1)"
    mem_mb="$(awk '/MemTotal/ { printf "%d", $2 / 1024 / 2 }' /proc/meminfo)"
    node="$(sed -E "s/RealMemory=[0-9]+/RealMemory=$mem_mb/" <<<"$node")"

    cat >"$dir/slurm.conf" <<CONF
# Written by tests/slurm/cluster.sh: a one-node test cluster on $host.
ClusterName=mattebox-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=60
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    local state=""
    for _ in $(seq 120); do
        state="$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)"
        if [ "$state" = "idle" ]; then
            trap - ERR
            echo "SLURM_CONF=$SLURM_CONF"
            return 0
        fi
        sleep 0.5
    done
    echo "cluster.sh: the node did not become idle (state: '${state:-none}'); logs:" >&2
    tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" "$dir/munge/munged.log" >&2 || true
    stop
    exit 1
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 start|stop DIR" >&2
        exit 2
        ;;
esac
