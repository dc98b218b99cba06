#!/bin/sh
# The demo in the test machine (make check): demo_vmm boots the Linux guest
# with COM1 in the confined device process, over ioregionfd and forwarded
# (waiting for every access, or posting writes as KVM does);
# killing the device mid-run makes the VMM report the failure exit and stop
# with a non-zero status, without hanging; over ioregionfd the guest's LSR
# polling is answered from the shadow; with -r the VMM replaces a device
# that dies and the guest goes on; a device that dies while the guest
# leaves COM1 alone is noticed all the same.  TAP.
cd "$(dirname "$0")"
vmm="./demo_vmm"
img="demo/bzImage demo/initramfs.cpio.gz"
t=/tmp/demo_test.$$
mkdir -p $t
n=0 failed=0
result() { # ok? description
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; failed=1; fi
}
# show FILE [N]: its last N lines as TAP comments, each ended (the guest's
# last line may lack its newline).
show() { awk '{ print "# " $0 }' "$1" | tail -n "${2:-15}"; }
# wait_for FILE REGEX [SECONDS]: until REGEX appears in FILE (SECONDS, 60
# by default, at most), or the VMM (pid $vpid) has gone.
wait_for() {
	local i=0
	while [ $i -lt $((${3:-60} * 2)) ] && kill -0 $vpid 2>/dev/null &&
	      ! grep -qE "$2" "$1" 2>/dev/null; do
		sleep 0.5; i=$((i + 1))
	done
}
# wait_tick FILE N: until the guest has printed tick N there (5 minutes).
wait_tick() { wait_for "$1" "ioregionfd demo: tick $2[^0-9]" 300; }
# vmm_exit: wait up to 60 s for the VMM (pid $vpid) to exit; rc is its
# status, or "hung" (it is killed then).
vmm_exit() {
	local i=0
	while [ $i -lt 120 ] && kill -0 $vpid 2>/dev/null; do sleep 0.5; i=$((i + 1)); done
	if kill -0 $vpid 2>/dev/null; then
		kill -9 $vpid; wait $vpid; rc=hung
	else
		wait $vpid; rc=$?
	fi
}
# confined PID: the process runs as nobody under a seccomp filter.
confined() {
	[ -n "$1" ] && grep -q '^Uid:[[:space:]]*65534' /proc/$1/status &&
		grep -q '^Seccomp:[[:space:]]*2' /proc/$1/status
}
echo "TAP version 13"
echo "1..11"

# 1-3: boot to init and power off; only the out-of-process modes.
for m in ioregionfd forwarded forwarded-posted; do
	timeout 300 $vmm -m $m -a "quiet workload=hello" $img >$t/$m.out 2>&1
	rc=$?
	show $t/$m.out 8
	ok=1
	if [ $rc = 0 ] && grep -q '^ioregionfd demo: init running on Linux' $t/$m.out &&
	   grep -q '^ioregionfd demo: powering off' $t/$m.out &&
	   grep -q 'COM1 served by process [0-9]* (confined)' $t/$m.out &&
	   grep -q 'the guest powered off after' $t/$m.out; then
		ok=0
		# Over ioregionfd the VMM never sees COM1; forwarded, it sees all of it.
		com1=$(sed -n 's/.* exits to the VMM, \([0-9]*\) of them COM1.s.*/\1/p' $t/$m.out)
		case $m in
		ioregionfd) [ "$com1" = 0 ] || ok=1 ;;
		forwarded*) [ "${com1:-0}" -gt 100 ] || ok=1 ;;
		esac
	fi
	result $ok "$m: Linux boots to init and powers off, console through the confined UART process (exit $rc, COM1 exits to the VMM: ${com1:-?})"
	[ $m = forwarded-posted ] ||
		eval "lsr_$m=\$(sed -n 's/^uart device: served [0-9]* commands, \([0-9]*\) of them LSR reads.*/\1/p' $t/$m.out)"
done

# 3: the 8250 console driver polls LSR before every byte it writes.  Over
# ioregionfd KVM answers those loads from the shadow; forwarded, each one
# is a round trip to the device.
[ -n "$lsr_ioregionfd" ] && [ "${lsr_forwarded:-0}" -ge 10 ] &&
	[ $((lsr_ioregionfd * 10)) -lt "$lsr_forwarded" ]
result $? "ioregionfd: LSR reads reaching the device ${lsr_ioregionfd:-?}, forwarded ${lsr_forwarded:-?}: the shadow answers the rest"

# 4-6: the device dies while the guest writes; the VMM must say so and stop.
$vmm -m ioregionfd -a "quiet workload=forever" $img >$t/kill.out 2>&1 &
vpid=$!
wait_tick $t/kill.out 20
dpid=$(sed -n 's/.*COM1 served by process \([0-9]*\) .*/\1/p' $t/kill.out)
confined "$dpid"
result $? "ioregionfd: the device process runs as nobody under a seccomp filter (pid ${dpid:-?})"
[ -n "$dpid" ] && kill -9 "$dpid"
vmm_exit
show $t/kill.out 4
[ "$rc" != hung ] && [ "$rc" != 0 ]
result $? "killing the device mid-run: the VMM exits non-zero within 60 s (exit $rc)"
# The access that failed; or, when the device died between the guest's
# accesses to COM1 (its driver waiting for an interrupt), its death.
grep -qE 'KVM_EXIT_IOREGIONFD_FAILURE: (read|write) of 1 byte\(s\) at port 0x3f[89a-f]: .*\(reason [1-5],|COM1.s device process [0-9]+ died \(signal 9\)' \
	$t/kill.out
result $? "... and says why: KVM_EXIT_IOREGIONFD_FAILURE naming the access, or the device's death"
# 7, 8: -r: the device is killed mid-run; the VMM starts a new one, moves
# COM1 to it with the driver's programming, and the guest keeps printing.
$vmm -m ioregionfd -r -a "quiet workload=forever" $img >$t/restart.out 2>&1 &
vpid=$!
wait_tick $t/restart.out 20
dpid=$(sed -n 's/.*COM1 served by process \([0-9]*\) .*/\1/p' $t/restart.out | head -n 1)
[ -n "$dpid" ] && kill -9 "$dpid"
# The guest's lines end in CR LF.
killed_at=$(tr -d '\r' <$t/restart.out | sed -n 's/^ioregionfd demo: tick \([0-9]*\)$/\1/p' | tail -n 1)
want=$((${killed_at:-0} + 50))
wait_tick $t/restart.out $want
npid=$(sed -n "s/.*COM1's device restarted (process \([0-9]*\) replaces.*/\1/p" $t/restart.out)
confined "$npid"
new_confined=$?
kill -9 $vpid 2>/dev/null; wait $vpid 2>/dev/null
show $t/restart.out 6
grep -qE "ioregionfd demo: tick $want[^0-9]" $t/restart.out &&
	grep -q 'took over COM1 as its predecessor left it' $t/restart.out
result $? "-r: device $dpid killed at tick ${killed_at:-?}; the VMM restarted it as ${npid:-?} and the guest printed on to tick $want"
result $new_confined "-r: the new device process is confined too"

# 9, 10: the device dies while the guest does not touch COM1: no access
# fails, and the VMM must notice anyway - stop, or with -r replace it.
for r in "" -r; do
	$vmm -m ioregionfd $r -a "quiet workload=idle" $img >$t/idle.out 2>&1 &
	vpid=$!
	wait_for $t/idle.out 'ioregionfd demo: idle' 300
	dpid=$(sed -n 's/.*COM1 served by process \([0-9]*\) .*/\1/p' $t/idle.out | head -n 1)
	[ -n "$dpid" ] && kill -9 "$dpid"
	if [ -z "$r" ]; then
		vmm_exit
		show $t/idle.out 3
		[ "$rc" != hung ] && [ "$rc" != 0 ] &&
			grep -qE "COM1.s device process $dpid died \(signal 9\)" $t/idle.out
		result $? "device $dpid killed while the guest leaves COM1 alone: the VMM says so and exits non-zero within 60 s (exit $rc)"
	else
		wait_for $t/idle.out "device restarted \(process [0-9]+ replaces $dpid\)"
		alive=1
		kill -0 $vpid 2>/dev/null && alive=0
		kill -9 $vpid 2>/dev/null; wait $vpid 2>/dev/null
		show $t/idle.out 3
		[ $alive = 0 ] && grep -qE "device restarted \(process [0-9]+ replaces $dpid\)" $t/idle.out
		result $? "-r: device $dpid killed while the guest leaves COM1 alone: the VMM replaces it within 60 s and runs on"
	fi
done
rm -rf $t
exit $failed
