#!/bin/bash
# mk/selftests.sh FLAVOUR: build the KVM selftests that `make check` runs,
# statically, against build/obj-FLAVOUR's uAPI headers, into
# build/guest-FLAVOUR/ (the test machine's /tests).
# DEMO_ONLY=1 (make run): only what the demo needs - libioregion, demo_vmm,
# its guest kernel and initramfs - not the selftests, the benchmark, the
# BPF tool, QEMU or QEMU's guest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
flavour=${1:-test}
obj=$top/build/obj-$flavour
out=$top/build/selftests-$flavour
guest=$top/build/guest-$flavour
src=$top/build/src/tools/testing/selftests/kvm
# Ours, then the stock regression set.  Only these: some trees have
# selftests that do not build (dirty_log_test).
# Entries under libioregion/ and qemu/ are built below; guest/ is mk/guest.
tests=$(sed 's/#.*//' "$top/mk/guest/tests.txt" |
	awk 'NF && $1 !~ /^(libioregion|qemu|guest)\// {print $1}')
# A fresh test-machine tree: nothing left over from an older build can hide
# a file this script no longer provides.
rm -rf "$guest"
mkdir -p "$out" "$guest"
lib=$top/build/userspace

# guest_initramfs ROOT INIT OUT: a guest's initramfs from ROOT (which holds
# the guest's own programs under bin/) with busybox and INIT as /init.
guest_initramfs() {
	cp /bin/busybox "$1/bin/busybox"
	ln -sf busybox "$1/bin/sh"
	install -m 755 "$2" "$1/init"
	(cd "$1" && find . | cpio -o -H newc --quiet | gzip -9) >"$3"
}

# The demo (make run, and its test): the VMM, and the guest it boots -
# build/obj-guest's kernel and an initramfs of busybox, init and workload.
build_demo() {
	local demo=$guest/demo root=$top/build/demo-initramfs

	echo ">> building the demo: demo_vmm, its guest kernel and initramfs"
	"$top/mk/kernel.sh" guest >/dev/null
	rm -rf "$root"; mkdir -p "$demo" "$root"/{bin,dev,proc,sys}
	gcc -static -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror -D_GNU_SOURCE \
		-isystem "$obj/usr/include" -I"$top/userspace/src/include" -I"$lib/include" \
		-I"$top/userspace/demo" -o "$guest/demo_vmm" "$top/userspace/demo/demo_vmm.c" \
		"$top/userspace/demo/uart_device.c" "$top/userspace/demo/uart16550.c" \
		"$top/userspace/demo/pci.c" \
		"$lib/libioregion.a" -luring -lseccomp -ljson-c -pthread
	gcc -static -O2 -Wall -Werror -o "$root/bin/uartbench" "$top/userspace/demo/guest/uartbench.c"
	gcc -static -O2 -Wall -Werror -o "$root/bin/vfuserial" "$top/userspace/demo/guest/vfuserial.c"
	gcc -static -O2 -Wall -Werror -o "$root/bin/vfugpio" "$top/userspace/demo/guest/vfugpio.c"
	guest_initramfs "$root" "$top/userspace/demo/guest/init" "$demo/initramfs.cpio.gz"
	cp "$top/build/obj-guest/arch/x86/boot/bzImage" "$demo/bzImage"
	cp "$top/mk/guest/demo-run.sh" "$top/userspace/test/demo_test.sh" \
		"$top/userspace/test/demo_vfu_test.sh" "$guest/"
}

# Multi-process QEMU (userspace/qemu/): Debian 13's QEMU 10.0.13 with our series,
# the guest it boots (build/obj-qguest's kernel, busybox, proxytest), the
# orchestrator and the test.  QEMU is dynamically linked: its libraries and
# loader travel with it, and qemu/qemu runs it through that loader.
# Also what the demo's vfio-user mode needs: QEMU's vfio-user server and
# a guest kernel with PCI.
build_qemu() {
	local qd=$guest/qemu qroot=$top/build/qguest-initramfs
	local qbin=$top/build/qemu/obj/qemu-system-x86_64
	local qtest=$top/build/qemu/obj/tests/qtest/ioregionfd-test

	echo ">> multi-process QEMU: QEMU, its guest kernel and initramfs"
	"$top/mk/qemu.sh" | { grep -E '^>> (fetching|QEMU ready)' || true; }
	"$top/mk/kernel.sh" qguest | { grep -E '^>> kernel ready' || true; }
	rm -rf "$qroot"; mkdir -p "$qd"/{bin,lib,share} "$qroot"/{bin,dev,proc,sys}
	strip -o "$qd/bin/qemu-system-x86_64" "$qbin"
	strip -o "$qd/bin/ioregionfd-test" "$qtest"
	for l in $(ldd "$qbin" "$qtest" | awk '/=>/ {print $3} /ld-linux/ {print $1}' | sort -u); do
		cp -L "$l" "$qd/lib/"
	done
	# Firmware from Debian's qemu-system-data and seabios: what -M pc with
	# -kernel loads.
	for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
		 /usr/share/qemu/kvmvapic.bin; do
		cp -L "$f" "$qd/share/"
	done
	cat >"$qd/qemu" <<'WRAP'
#!/bin/sh
d=$(dirname "$0")
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" \
	"$d/bin/qemu-system-x86_64" -L "$d/share" "$@"
WRAP
	chmod +x "$qd/qemu"
	# The same, by the name libqtest wants (it takes the target from it).
	cp "$qd/qemu" "$qd/qemu-system-x86_64"
	gcc -static -O2 -Wall -Wextra -Werror -o "$qd/mpqemu_run" "$top/userspace/qemu/mpqemu_run.c"
	gcc -static -O2 -Wall -Wextra -Werror -o "$qroot/bin/proxytest" \
		"$top/userspace/qemu/guest/proxytest.c"
	guest_initramfs "$qroot" "$top/userspace/qemu/guest/init" "$qd/initramfs.cpio.gz"
	cp "$top/build/obj-qguest/arch/x86/boot/bzImage" "$qd/bzImage"
	cp "$top/userspace/qemu/qemu_proxy_test.sh" "$top/userspace/qemu/qemu_qtest.sh" "$guest/"
}

# DEMO_VFU=1 as well: the demo's vfio-user mode (make run MODE=vfio-user).
if [ -n "${DEMO_ONLY:-}" ]; then
	echo ">> building libioregion (static)"
	make -s -C "$top/userspace" O="$lib" "$lib/libioregion.a"
	build_demo
	[ -z "${DEMO_VFU:-}" ] || build_qemu
	exit 0
fi

echo ">> building $(echo $tests | wc -w) KVM selftests (static)"
make -s -C "$src" -j"$(nproc)" OUTPUT="$out" INSTALL_HDR_PATH="$obj/usr" \
	KHDR_INCLUDES="-isystem $obj/usr/include" \
	EXTRA_CFLAGS="-static -Werror" USERLDFLAGS=-static \
	TEST_GEN_PROGS_x86="$tests" TEST_GEN_PROGS_EXTENDED_x86=
for t in $tests; do cp "$out/$t" "$guest/$(basename "$t")"; done
cp "$top/mk/guest/run-tests.sh" "$top/mk/guest/tests.txt" \
	"$top/mk/guest/bench-run.sh" "$top/mk/guest/soak.sh" "$top/mk/logcheck.sh" "$guest/"

# libioregion's in-VM test and the benchmark: the selftest library for
# the guest side, libioregion (static, like the selftests) for the rest.
echo ">> building libioregion, its in-VM test and the benchmark (static)"
make -s -C "$top/userspace" O="$lib" all
with_selftest_lib() { # output source...
	gcc -static -no-pie -O2 -g -std=gnu99 -Wall -Werror -D_GNU_SOURCE \
		-U_FORTIFY_SOURCE -fno-stack-protector -fno-PIE \
		-I"$top/build/src/tools/include" \
		-I"$top/build/src/tools/arch/x86/include" -I"$src/include" \
		-I"$src/include/x86" -I"$src/.." -isystem "$obj/usr/include" \
		-I"$top/userspace/src/include" -I"$lib/include" -I"$top/userspace/demo" \
		-o "$1" "${@:2}" \
		"$out"/lib/*.o "$out"/lib/x86/*.o "$lib/libioregion.a" \
		-luring -lseccomp -ljson-c -pthread -ldl
}
with_selftest_lib "$guest/libioregion_vm_test" "$top/userspace/test/vm_test.c"
with_selftest_lib "$guest/ioregion_bench" "$top/userspace/bench/ioregion_bench.c"
# vfio-user: libvfio-user's samples, unmodified, on the patched library,
# static; the VMM side on libioregion's client.
"$top/mk/libvfio-user.sh"
with_selftest_lib "$guest/vfu_vm_test" "$top/userspace/test/vfu_vm_test.c"
cp "$top/build/libvfio-user/obj-static/samples/gpio-pci-idio-16" \
	"$top/build/libvfio-user/obj-static/samples/server" "$guest/"
# ...and a device of ours with a memory BAR, which the samples lack.
gcc -static -O2 -Wall -Wextra -Wno-unused-parameter -Werror -D_GNU_SOURCE \
	-I"$top/build/libvfio-user/src/include" -o "$guest/vfu_regs_server" \
	"$top/userspace/test/vfu_regs_server.c" \
	"$top/build/libvfio-user/obj-static/lib/libvfio-user.a" -ljson-c
with_selftest_lib "$guest/uart_vm_test" "$top/userspace/test/uart_vm_test.c" \
	"$top/userspace/demo/uart_device.c" "$top/userspace/demo/uart16550.c"
# The BPF latency tool and its test.
make -s -C "$top/userspace" O="$lib" tools
cp "$lib/tools/ioregion_lat" "$top/userspace/test/ioregion_lat_test.sh" "$guest/"

build_demo
build_qemu
