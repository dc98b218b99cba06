#!/bin/sh
# soak.sh SECONDS [stock]: runs inside the test machine (make soak, and a
# short slice in make check).  For SECONDS, one boot runs the feature's selftests and
# failure scenarios again and again, four lanes at once, so that VMs are
# created and destroyed in the hundreds while other VMs' vCPUs wait on
# their devices:
#   regs     registration games, edge cases, deassign/reassign while vCPUs
#            hammer (race), device restarts, the scoreboard, groups and
#            shadows created and dropped;
#   vcpus    more vCPUs than CPUs on one socket, answered out of order; the
#            response fuzzer with a fresh seed each run; the I/O paths;
#            failure exits and allocation failures (runs of 15 min or more);
#   library  libioregion end to end, the UART device, the demo (a nested
#            Linux, its device process killed and replaced);
#   kill     one of the tests started and SIGKILLed at a random moment: the
#            VM torn down while its vCPUs wait on a device that dies with it.
# With "stock", the same with ioregionfd unused (stock selftests, the demo
# inline), to tell a defect of ours from one of KVM or of the emulator.
# Every 10 s the kernel log is checked (logcheck.sh); a splat stops the
# soak.  At the end every VM must be gone.  TAP, one line per test and lane.
secs=${1:-1800}
cd /tests || exit 1
w=/tmp/soak
rm -rf $w; mkdir -p $w
end=$(($(date +%s) + secs))
# Under QEMU TCG, nested guests running on both CPUs at once is where the
# emulator fails, with or without ioregionfd (README): there every test
# runs on CPU 0 (preemption still interleaves them), unless SOAK_CPUS
# names CPUs ("all": no pinning).  The kernel's own work uses both.
ncpus=$(nproc)
cpus=${SOAK_CPUS:-}
if [ -z "$cpus" ]; then
	cpus=all
	[ "$(cat /accel 2>/dev/null)" = tcg ] && cpus=0
fi
[ "$cpus" = all ] || taskset -p -c "$cpus" $$ >/dev/null || exit 1
# A test's timeout: four lanes on one CPU take about three times as long.
tmo=900
[ "$cpus" = all ] || tmo=2700
echo "TAP version 13"
echo "# soak: $secs s, 4 lanes${2:+ ($2)}, $ncpus CPUs, tests on CPUs $cpus"

going() { [ "$(date +%s)" -lt $end ] && [ ! -e $w/stop ]; }
bump() { echo $(($(cat "$1" 2>/dev/null || echo 0) + 1)) >"$1"; }

# run_one LANE CMD: CMD (eval'd, so $RANDOM is fresh) under a timeout;
# counts runs and failures per LANE.test, keeps the first failures' output.
run_one() {
	key=$1.$(echo "$2" | awk '{ sub(".*/", "", $1); print $1 }')
	eval "timeout $tmo $2" </dev/null >$w/out.$1 2>&1
	rc=$?
	bump $w/$key.runs
	case $rc in
	0|4) ;;
	*) bump $w/$key.fails
	   f=$(cat $w/$key.fails)
	   [ "$f" -gt 2 ] || { echo "$2: exit $rc"; tail -n 40 $w/out.$1; } >$w/$key.fail$f ;;
	esac
}

lane() { # NAME CMD...
	name=$1; shift
	while going; do
		for c in "$@"; do going && run_one $name "$c"; done
	done
}

killer() { # CMD... (SEED: a fresh random number)
	while going; do
		i=$((RANDOM % $# + 1))
		eval "c=\"\${$i}\""
		c=$(echo "$c" | sed "s/SEED/$RANDOM/")
		# A session and process group of its own (setsid execs in
		# place: the background child is no group leader), so the
		# kill takes every process the test forked, devices too.
		setsid $c </dev/null >/dev/null 2>&1 &
		pid=$!
		usleep $(((RANDOM % 40 + 1) * 100000))
		if kill -0 $pid 2>/dev/null; then
			kill -9 -$pid 2>/dev/null || kill -9 $pid
			bump $w/kills
		else
			bump $w/finished
		fi
		wait $pid 2>/dev/null
	done
}

# The kernel log as the host's serial console gets it (loglevel=6: levels 0
# to 5, the level of every report logcheck.sh looks for).
klog() { dmesg -r | sed -n 's/^<[0-5]>//p' >$w/dmesg.txt; }

monitor() {
	while going; do
		klog
		if ! sh ./logcheck.sh $w/dmesg.txt >$w/splat.txt; then
			touch $w/stop
			break
		fi
		sleep 10
	done
}

long=
[ "$secs" -lt 900 ] || long=./ioregionfd_fail_test
if [ "${2:-}" = stock ]; then
	# The same machinery with ioregionfd unused: stock KVM selftests, the
	# demo's nested Linux with COM1 emulated inline.  What a report
	# here shows is not this project's code.
	lane regs ./set_memory_region_test ./userspace_io_test ./sync_regs_test &
	lane vcpus ./kvm_create_max_vcpus ./xapic_state_test &
	lane library "./demo_vmm -m inline -a 'quiet workload=hello' demo/bzImage demo/initramfs.cpio.gz" &
	killer ./set_memory_region_test ./kvm_create_max_vcpus ./xapic_state_test \
		"./demo_vmm -m inline -a quiet demo/bzImage demo/initramfs.cpio.gz" &
else
	lane regs ./ioregionfd_reg_test ./ioregionfd_edge_test ./ioregionfd_race_test \
		./ioregionfd_restart_test ./ioregionfd_scoreboard_test ./ioregionfd_shadow_test &
	lane vcpus "./ioregionfd_mvcpu_test -v 6 -i 300" \
		"./ioregionfd_fuzz_test -n 5000 -s \$RANDOM" ./ioregionfd_io_test $long &
	lane library ./libioregion_vm_test ./uart_vm_test ./demo_test.sh &
	killer "./ioregionfd_mvcpu_test -v 8 -i 500" ./ioregionfd_race_test \
		./ioregionfd_restart_test ./ioregionfd_shadow_test ./libioregion_vm_test \
		"./ioregionfd_fuzz_test -n 100000 -s SEED" ./ioregionfd_scoreboard_test &
fi
monitor &
wait
elapsed=$((secs - end + $(date +%s)))

n=0 failed=0
result() { # ok? description
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; failed=1; fi
}
for r in $w/*.runs; do
	key=$(basename $r .runs)
	runs=$(cat $r) fails=$(cat $w/$key.fails 2>/dev/null || echo 0)
	for f in $w/$key.fail*; do
		[ "$f" = "$w/$key.fails" ] || [ ! -f "$f" ] || sed 's/^/# /' "$f"
	done
	result $fails "soak: ${key#*.} in lane ${key%%.*}: $runs runs, $fails failed"
done
kills=$(cat $w/kills 2>/dev/null || echo 0)
result $((kills == 0)) "soak: $kills tests killed mid-run ($(cat $w/finished 2>/dev/null || echo 0) finished first)"
# Every VM is destroyed once its last file is closed: nothing may remain.
i=0
while [ $i -lt 20 ] && [ -n "$(ls /sys/kernel/debug/kvm | grep -- '^[0-9]*-[0-9]*$')" ]; do
	sleep 0.5; i=$((i + 1))
done
left=$(ls /sys/kernel/debug/kvm | grep -- '^[0-9]*-[0-9]*$' | tr '\n' ' ')
# Whose: a live process still holding the VM (a test's child that outlived
# it), or none - a VM the kernel failed to free.
for v in $left; do
	p=${v%-*}
	if [ -d /proc/$p ]; then
		echo "# VM $v: process $p ($(cat /proc/$p/comm 2>/dev/null)) still lives," \
		     "state $(sed -n 's/^State:[[:space:]]*//p' /proc/$p/status 2>/dev/null)," \
		     "parent $(sed -n 's/^PPid:[[:space:]]*//p' /proc/$p/status 2>/dev/null)"
		sed 's/^/#   /' /proc/$p/stack 2>/dev/null | head -n 12
	else
		echo "# VM $v: its process $p is gone"
	fi
done
if [ -n "$left" ]; then
	for d in /proc/[0-9]*; do
		ls -l $d/fd 2>/dev/null | grep -q 'anon_inode:kvm-vm' &&
			echo "# ${d#/proc/} ($(cat $d/comm 2>/dev/null)) holds a VM's file"
	done
fi
result $([ -z "$left" ]; echo $?) "soak: every VM destroyed at the end${left:+ (left: $left)}"
klog
sh ./logcheck.sh $w/dmesg.txt >$w/splat.txt
rc=$?
sed 's/^/# /' $w/splat.txt
result $rc "soak: kernel log clean after $elapsed s"
echo "1..$n"
exit $failed
