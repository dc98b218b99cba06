#!/bin/sh
# Runs inside the test machine for `make run`: boots the demo's Linux guest
# under each way of serving its COM1 (or the one named), its console on
# this terminal, then the table of what the guest measured.
set -o pipefail
cd /tests

# MODE=restart: COM1 over ioregionfd with -r; the device process is killed
# mid-run, demo_vmm starts a new one and the guest goes on printing.
if [ "${1:-}" = restart ]; then
	out=/tmp/demo-restart.out
	echo "======== COM1 ioregionfd, restarted mid-run: demo_vmm -m ioregionfd -r"
	./demo_vmm -m ioregionfd -r -a "quiet workload=forever" demo/bzImage \
		demo/initramfs.cpio.gz >$out 2>&1 &
	vpid=$!
	tail -f $out & tpid=$!
	i=0
	while [ $i -lt 600 ] && ! grep -qE 'tick 200[^0-9]' $out; do sleep 0.5; i=$((i + 1)); done
	dpid=$(sed -n 's/.*COM1 served by process \([0-9]*\) .*/\1/p' $out | head -n 1)
	echo ">>>>>>>> killing COM1's device process $dpid" >&2
	kill -9 "$dpid"
	i=0
	while [ $i -lt 600 ] && ! grep -qE 'tick 400[^0-9]' $out; do sleep 0.5; i=$((i + 1)); done
	kill -9 $vpid $tpid; wait $vpid $tpid 2>/dev/null
	echo
	grep -E "^demo_vmm: (KVM_EXIT_IOREGIONFD_FAILURE|COM1's device restarted)|^uart device: took over" $out
	if grep -qE 'tick 400[^0-9]' $out; then
		echo "The guest printed on from tick 200 to 400 across the restart."
		exit 0
	fi
	echo "demo-run: the guest did not go on after the restart"
	exit 1
fi

# MODE=vfio-user: QEMU's pci-serial from QEMU's vfio-user server, on
# demo_vmm's PCI bus, driven by Linux's 8250_pci: through ioregionfd, then
# through vfio-user messages only.
if [ "${1:-}" = vfio-user ]; then
	sock=/tmp/demo-vfu.sock rc=0
	for m in ioregionfd messages; do
		rm -f $sock /tmp/demo-vfu-$m.chr
		qemu/qemu -machine x-remote,vfio-user=on -accel qtest -nodefaults \
			-display none -monitor none \
			-chardev file,id=c0,path=/tmp/demo-vfu-$m.chr \
			-device pci-serial,id=ser0,chardev=c0 \
			-object x-vfio-user-server,id=vfu0,type=unix,path=$sock,device=ser0 \
			</dev/null >/tmp/demo-vfu-$m.server 2>&1 &
		spid=$!
		i=0; while [ ! -S $sock ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
		flag=; [ $m = messages ] && flag=-U
		echo
		echo "======== pci-serial from QEMU's vfio-user server, $m: demo_vmm -u $sock $flag"
		./demo_vmm -m inline -u $sock $flag -a "workload=vfu-serial" qemu/bzImage \
			demo/initramfs.cpio.gz 2>&1 | tee "/tmp/demo-vfu-$m.out" ||
			{ echo "demo-run: vfio-user $m failed"; rc=1; }
		kill $spid; wait $spid
		# What the guest wrote through the port, out of the server's chardev.
		sed 's/\r$//; s/^/[vfio-user server] /' /tmp/demo-vfu-$m.chr \
			/tmp/demo-vfu-$m.server
	done
	echo
	echo "In the guest: Linux's 8250_pci drives QEMU's pci-serial (a 16550 on an"
	echo "I/O BAR) from QEMU's vfio-user server: 4096 bytes written and read back"
	echo "in loopback, then a line out of the server ([vfio-user server] above)."
	echo "BAR exits: accesses that reached demo_vmm; BAR msgs: REGION_READ/WRITE"
	echo "messages for the BAR on the vfio-user socket; all msgs: every message,"
	echo "configuration space and setup included."
	echo
	printf '%-12s %8s %8s %12s %10s %13s %9s %8s\n' path bytes errors "loop (us)" \
		"BAR exits" "BAR msgs" "all msgs" "run (s)"
	for m in ioregionfd messages; do
		sed 's/\r$//' "/tmp/demo-vfu-$m.out" | awk -v m="$m" '
		/^@@VFUSERIAL/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] } }
		/^demo_vmm: .* after / { for (i = 1; i <= NF; i++) if ($i == "after") t = $(i + 1) }
		/^demo_vmm: vfio-user device:/ { for (i = 1; i <= NF; i++) {
			if ($i == "BAR" && $(i + 1) == "accesses") b = $(i - 1)
			if ($i == "BAR" && $(i + 1) == "messages") g = $(i - 1)
			if ($i == "vfio-user" && $(i + 1) == "messages") a = $(i - 1) } }
		END { if (r["bytes"] == "") { printf "%-12s %8s\n", m, "(no result)"; exit }
		      printf "%-12s %8s %8s %12s %10s %13s %9s %8s\n", m, r["bytes"],
			     r["errors"], r["us"], b, g, a, t }'
	done
	exit $rc
fi

modes=${1:-inline forwarded forwarded-posted ioregionfd}
rc=0
for m in $modes; do
	echo
	echo "======== COM1 $m: demo_vmm -m $m demo/bzImage demo/initramfs.cpio.gz"
	./demo_vmm -m "$m" demo/bzImage demo/initramfs.cpio.gz 2>&1 | tee "/tmp/demo-$m.out" ||
		{ echo "demo-run: mode $m failed"; rc=1; }
done

echo
echo "In the guest: write 2048 bytes to /dev/ttyS0 (8250 driver, interrupts,"
echo "tcdrain), then 1000 reads of COM1's LSR from userspace (ioperm).  dev LSRs:"
echo "the LSR reads that reached the device process (over ioregionfd, KVM"
echo "answers the others from the device's shadow)."
echo
printf '%-16s %12s %9s %12s %9s %11s %9s %8s\n' mode "write (us)" "us/byte" \
	"reads (us)" "us/read" "COM1 exits" "dev LSRs" "run (s)"
for m in $modes; do
	sed 's/\r$//' "/tmp/demo-$m.out" | awk -v m="$m" '
	/^@@UARTBENCH/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] } }
	/^demo_vmm: .* after / { for (i = 1; i <= NF; i++) {
		if ($i == "after") t = $(i + 1)
		if ($i == "them") c = $(i - 2) } }
	/^uart device: served / { l = $6 }
	END { if (r["bytes"] == "") { printf "%-16s %12s\n", m, "(no result)"; exit }
	      printf "%-16s %12d %9.1f %12d %9.1f %11s %9s %8s\n", m, r["write_us"],
		r["write_us"] / r["bytes"], r["read_us"], r["read_us"] / r["reads"], c,
		l == "" ? "-" : l, t
	      printf "%s %s %s\n", m, r["write_us"], r["read_us"] >"/tmp/demo-" m ".res" }'
done
# ratio BASE: ioregionfd's write and read times over BASE's.
ratio() {
	[ -f /tmp/demo-$1.res ] && [ -f /tmp/demo-ioregionfd.res ] || return 0
	cat /tmp/demo-$1.res /tmp/demo-ioregionfd.res | awk -v b="$1" '
	{ w[NR] = $2; r[NR] = $3 }
	END { printf "ratio ioregionfd/%s: write %.2f, reads %.2f (lower is better)\n",
		b, w[2] / w[1], r[2] / r[1] }'
}
ratio forwarded
ratio forwarded-posted
exit $rc
