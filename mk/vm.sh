#!/bin/bash
# mk/vm.sh FLAVOUR RESULTS_NAME [CMD]: boot build/obj-FLAVOUR's kernel with
# an initramfs holding busybox, build/guest-FLAVOUR/ (tests, tools; VM_GUEST
# names another folder) and CMD.
# CMD's output is shown and kept in build/results/RESULTS_NAME.out, the
# kernel log in build/results/dmesg-RESULTS_NAME.txt; exits with CMD's
# status.  Without CMD: an interactive shell on the terminal.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
flavour=$1 name=$2 cmd=${3:-}
build=$top/build
obj=$build/obj-$flavour
results=$build/results
root=$build/initramfs-$name
kernel=$obj/arch/x86/boot/bzImage
[ -f "$kernel" ] || { echo "vm: no kernel at $kernel (make kernel)" >&2; exit 1; }
mkdir -p "$results"

rm -rf "$root"; mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,tests,etc,root}
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$top/mk/guest/init" "$root/init"; chmod +x "$root/init"
guestdir=${VM_GUEST:-$build/guest-$flavour}
[ -d "$guestdir" ] && cp -a "$guestdir/." "$root/tests/"

# VM_CPU: e.g. max,vgif=off; VM_TCG: TCG's options, e.g. thread=single
accel="-accel tcg${VM_TCG:+,$VM_TCG} -cpu ${VM_CPU:-max}"
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
	accel="-accel kvm -cpu host"	# nested virtualization on the host
fi
echo "$accel" | awk '{print $2}' | sed 's/[,=].*//' >"$results/accel-$name.txt"
# The test machine knows what runs it: /accel (tcg or kvm).
cp "$results/accel-$name.txt" "$root/accel"
printf '%s\n' "$cmd" >"$root/cmd"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$build/initramfs-$name.cpio.gz"
append="console=ttyS0 panic=-1 oops=panic loglevel=6 kasan_multi_shot nokaslr"
# VM_QEMU: another emulator binary (default: Debian 12's QEMU 7.2).
qemu=("${VM_QEMU:-qemu-system-x86_64}" $accel -smp 2 -m 4G -no-reboot -display none
      -kernel "$kernel" -initrd "$build/initramfs-$name.cpio.gz")

if [ -z "$cmd" ]; then
	exec "${qemu[@]}" -append "$append" -serial mon:stdio -serial null
fi

out=$results/$name.out
log=$results/dmesg-$name.txt
pidf=$results/$name.pid
echo ">> booting the '$flavour' kernel ($accel): $cmd"
rm -f "$results/dmesg-$name".boot*.txt
# A kernel that never reaches /init (it writes @@INIT to ttyS0 first) is
# taken down after VM_BOOT_TIMEOUT seconds instead of VM_TIMEOUT.  If its
# log names neither KVM nor ioregionfd - nothing of ours had run - it is
# booted once more (VM_BOOT_TRIES); the failed boot's log is kept as
# dmesg-NAME.bootN.txt.  Seen once in CI: the emulator's second CPU came
# up with broken per-CPU state, a KASAN storm at 4 s, no /init, no tests.
tries=${VM_BOOT_TRIES:-2} boot_secs=${VM_BOOT_TIMEOUT:-300}
for try in $(seq 1 "$tries"); do
	rm -f "$out" "$log" "$pidf"
	# The QEMU monitor on a socket: a hung test machine's CPUs can be read
	# (mk/vmregs.sh NAME) before the timeout takes it down.
	rm -f "$results/$name.mon"
	(
		end=$(($(date +%s) + boot_secs))
		while [ "$(date +%s)" -lt "$end" ]; do
			grep -qa '@@INIT' "$log" 2>/dev/null && exit 0
			sleep 2
		done
		echo "vm: the kernel did not reach /init in $boot_secs s; stopping it" >&2
		[ -s "$pidf" ] && kill "$(cat "$pidf")"
	) &
	watchdog=$!
	set +e
	timeout "${VM_TIMEOUT:-2400}" "${qemu[@]}" -append "$append" -pidfile "$pidf" \
		-monitor "unix:$results/$name.mon,server=on,wait=off" \
		-serial "file:$log" -chardev stdio,id=out,signal=off -serial chardev:out \
		</dev/null | sed -u 's/\r$//' | tee "$out" | grep --line-buffered -v '^@@EXIT'
	qrc=${PIPESTATUS[0]}
	kill "$watchdog" 2>/dev/null
	wait "$watchdog" 2>/dev/null
	set -e
	if grep -qa '@@INIT' "$log" || [ "$try" = "$tries" ] ||
	   grep -qaiE 'kvm|ioregion' "$log"; then
		break
	fi
	cp "$log" "$results/dmesg-$name.boot$try.txt"
	echo "vm: boot $try never reached /init and its log names nothing of KVM's" \
	     "(build/results/dmesg-$name.boot$try.txt); booting again" >&2
	grep -aE 'BUG:|WARNING:|panic' "$log" | head -n 3 >&2 || true
done
rc=$(sed -n 's/^@@EXIT \([0-9]*\).*/\1/p' "$out" | tail -n 1)
if [ -z "$rc" ]; then
	echo "vm: the test machine stopped without reporting a status (qemu exit $qrc);" \
	     "kernel log: $log" >&2
	tail -n 30 "$log" >&2
	exit 1
fi
exit "$rc"
