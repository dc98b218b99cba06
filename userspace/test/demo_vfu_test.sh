#!/bin/sh
# The demo with a PCI device from a real vfio-user server (make check):
# QEMU 10.0's x-vfio-user-server exports QEMU's own pci-serial (a 16550 on
# an I/O BAR) and demo_vmm -u puts it on its PCI bus.  The unmodified
# Linux guest enumerates it through conf1, places its BAR, binds 8250_pci
# and runs vfuserial: 4 blocks of 256 bytes through the UART in loopback,
# compared, then a line out of the server's chardev.  Through ioregionfd no
# BAR access reaches the VMM and no REGION_READ/WRITE message crosses the
# vfio-user socket; through messages (-U) every one does.  Then the server
# is killed mid-run: demo_vmm says so once, the device reads as all ones,
# the guest's workload fails and the guest powers off - no hang.  Also
# libvfio-user's gpio-pci-idio-16 sample under Linux's own driver for the
# card, both ways.  TAP.
cd "$(dirname "$0")"
q=/tests/qemu
img="qemu/bzImage demo/initramfs.cpio.gz"
t=/tmp/demo_vfu_test.$$
sock=$t/vfu.sock
mkdir -p $t
n=0 failed=0
result() { # ok? description
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; failed=1; fi
}
show() { awk '{ print "# " $0 }' "$1" | tail -n "${2:-15}"; }

if [ ! -w /dev/kvm ]; then
	echo "1..0 # SKIP no /dev/kvm in the test machine"
	exit 4
fi

# server NAME: QEMU's vfio-user server with pci-serial, its chardev in
# $t/NAME.chr; returns once its socket is there (pid $spid).
server() {
	rm -f $sock
	$q/qemu -machine x-remote,vfio-user=on -accel qtest -nodefaults \
		-display none -monitor none -chardev file,id=c0,path=$t/$1.chr \
		-device pci-serial,id=ser0,chardev=c0 \
		-object x-vfio-user-server,id=vfu0,type=unix,path=$sock,device=ser0 \
		>$t/$1.server 2>&1 &
	spid=$!
	wait_sock
}
# wait_sock: until the server (pid $spid) listens on $sock, 30 s at most.
wait_sock() {
	local i=0
	while [ ! -S $sock ] && [ $i -lt 300 ] && kill -0 $spid 2>/dev/null; do
		sleep 0.1; i=$((i + 1))
	done
}
# bar_counts MODE FILE: $bar, the BAR accesses that reached demo_vmm, and
# $rmsg, the BAR messages it sent, from its last line in FILE; true if
# they are what MODE should give: none through ioregionfd, and through
# messages one message for every access.
bar_counts() {
	bar=$(sed -n 's/.* \([0-9]*\) BAR accesses reached the VMM.*/\1/p' "$2")
	rmsg=$(sed -n 's/.* \([0-9]*\) BAR messages .*/\1/p' "$2")
	if [ "$1" = ioregionfd ]; then
		[ "$bar" = 0 ] && [ "$rmsg" = 0 ]
	else
		[ -n "$bar" ] && [ "$bar" -gt 0 ] && [ "$rmsg" = "$bar" ]
	fi
}

echo "TAP version 13"
echo "1..7"

for m in ioregionfd messages; do
	server $m
	flag=; [ $m = messages ] && flag=-U
	timeout 600 ./demo_vmm -m inline -u $sock $flag -a "quiet workload=vfu-serial vfurounds=4" \
		$img >$t/$m.out 2>&1
	rc=$?
	kill $spid 2>/dev/null; wait $spid 2>/dev/null
	sed 's/\r$//' $t/$m.out >$t/$m.txt
	show $t/$m.txt 12
	ok=1
	if [ $rc = 0 ] && grep -q '^@@VFUSERIAL .* bytes=1024 errors=0' $t/$m.txt &&
	   grep -q 'hello from the guest, through pci-serial' $t/$m.chr 2>/dev/null; then
		bar_counts $m $t/$m.txt && ok=0
	fi
	result $ok "$m: Linux's 8250_pci drove QEMU's pci-serial: 1024 bytes in loopback, a line out of the server; ${bar:-?} BAR accesses reached the VMM, ${rmsg:-?} BAR messages on the vfio-user socket"
done

# 3-4: libvfio-user's gpio-pci-idio-16 sample (BAR2, I/O), bound by Linux's
# gpio-pci-idio-16 driver, used through the GPIO character device: 50
# rounds of setting the 16 outputs and reading the 16 inputs, which the
# sample answers with 0.
for m in ioregionfd messages; do
	rm -f $sock
	./gpio-pci-idio-16 $sock >$t/gpio-$m.server 2>&1 &
	spid=$!
	wait_sock
	flag=; [ $m = messages ] && flag=-U
	timeout 600 ./demo_vmm -m inline -u $sock $flag -a "quiet workload=vfu-gpio vfurounds=50" \
		$img >$t/gpio-$m.out 2>&1
	rc=$?
	kill $spid 2>/dev/null; wait $spid 2>/dev/null
	sed 's/\r$//' $t/gpio-$m.out >$t/gpio-$m.txt
	show $t/gpio-$m.txt 8
	ok=1
	if [ $rc = 0 ] &&
	   grep -q '^@@VFUGPIO .* lines=32 rounds=50 inputs=0x0 errors=0' $t/gpio-$m.txt; then
		bar_counts $m $t/gpio-$m.txt && ok=0
	fi
	result $ok "$m: Linux's gpio-pci-idio-16 drove libvfio-user's sample: 32 lines, 50 rounds of 16 outputs set and 16 inputs read (0, as the sample answers); ${bar:-?} BAR accesses reached the VMM, ${rmsg:-?} BAR messages on the vfio-user socket"
done

# 5-7: the server killed while the guest uses the port (through ioregionfd).
server kill
./demo_vmm -m inline -u $sock -a "quiet workload=vfu-serial-forever" $img \
	>$t/kill.out 2>&1 &
vpid=$!
i=0
while [ $i -lt 600 ] && kill -0 $vpid 2>/dev/null &&
      ! grep -q 'vfuserial: round 3:' $t/kill.out; do
	sleep 0.5; i=$((i + 1))
done
kill -9 $spid; wait $spid 2>/dev/null
i=0
while [ $i -lt 480 ] && kill -0 $vpid 2>/dev/null; do sleep 0.5; i=$((i + 1)); done
if kill -0 $vpid 2>/dev/null; then
	kill -9 $vpid; wait $vpid; rc=hung
else
	wait $vpid; rc=$?
fi
sed 's/\r$//' $t/kill.out >$t/kill.txt
show $t/kill.txt 20
grep -q 'vfuserial: round 3:' $t/kill.txt
result $? "the guest used the port through ioregionfd before the server was killed"
result $([ "$(grep -c 'the vfio-user server failed' $t/kill.txt)" = 1 ] && echo 0 || echo 1) \
	"demo_vmm reported the lost server once"
result $([ "$rc" = 0 ] && grep -q '^vfuserial: round [0-9]*: [0-9]* of 256 bytes came back' $t/kill.txt &&
	 grep -q 'ioregionfd demo: powering off' $t/kill.txt && echo 0 || echo 1) \
	"the guest's reads failed (all ones, nothing back), it powered off, demo_vmm exited 0 (status $rc)"

rm -rf $t
exit $failed
