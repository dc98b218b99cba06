#!/bin/sh
# In the test machine: ioregion_lat (userspace/tools) counts exactly the
# accesses a known load makes, per region and direction (timed reads and
# writes, posted writes); -p leaves other processes out; a device dying
# under a read shows as a failure.  Exit 0 if all of that holds.
cd "$(dirname "$0")" || exit 1
# ioregion_bench runs warmup + reps timed batches of n per mode, then one
# counted batch; each posted-write batch ends with one read of the
# synchronous region (0xc0000000), so nothing is left queued.
n=200 reps=5 warmup=2
batches=$((warmup + reps + 1))
want=$((batches * n))
bad=0

# Start ioregion_lat ARGS... with output in $1; wait until it traces.
start_lat() {
	out=$1; shift
	./ioregion_lat "$@" >"$out" 2>&1 &
	pid=$!
	for _ in $(seq 300); do
		grep -q 'tracing' "$out" && return 0
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	echo "ioregion_lat $* did not start:"; cat "$out"
	exit 1
}

stop_lat() { kill -INT "$1"; wait "$1"; }

# The row for REGION DIR: "count posted failed".
row() { awk -v r="$2" -v d="$3" '$2 == r && $3 == d { print $4, $5, $6 }' "$1"; }

expect() { # what got want
	if [ "$2" = "$3" ]; then echo "ok: $1: $2"
	else echo "FAIL: $1: got '$2', want '$3'"; bad=1; fi
}

start_lat /tmp/lat.out; all=$pid
start_lat /tmp/lat1.out -p 1; init=$pid
./ioregion_bench -n $n -r $reps \
	-m ioregionfd_read,ioregionfd_write,ioregionfd_posted_write >/tmp/bench.out 2>&1 ||
	{ cat /tmp/bench.out; exit 1; }
stop_lat $all
stop_lat $init
cat /tmp/lat.out
expect "reads timed" "$(row /tmp/lat.out 0x00000000c0000000 read)" "$((want + batches)) 0 0"
expect "writes timed" "$(row /tmp/lat.out 0x00000000c0000000 write)" "$want 0 0"
expect "posted writes" "$(row /tmp/lat.out 0x00000000c0001000 write)" "0 $want 0"
expect "rows" "$(grep -c '^mmio\|^pio' /tmp/lat.out)" 3
expect "rows with -p 1 (init makes no accesses)" "$(grep -c '^mmio\|^pio' /tmp/lat1.out)" 0

# ioregionfd_restart_test lets a device die holding a read of 0xc0000000.
start_lat /tmp/lat2.out -d 600; all=$pid
./ioregionfd_restart_test >/tmp/restart.out 2>&1 || { cat /tmp/restart.out; exit 1; }
stop_lat $all
cat /tmp/lat2.out
failed=$(row /tmp/lat2.out 0x00000000c0000000 read | awk '{ print $3 }')
expect "failures seen" "$([ "${failed:-0}" -ge 1 ] && echo yes)" yes
exit $bad
