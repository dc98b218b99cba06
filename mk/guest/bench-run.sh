#!/bin/sh
# Runs inside the test machine for `make bench`: the benchmark (nothing
# else running), then ioregion_lat over a short run of the ioregionfd
# modes, then multi-process QEMU's register-read latency with and without
# ioregionfd and its 4 KiB queue-depth-1 IOPS (also single-process), then a vfio-user device's (libvfio-user's gpio sample) register
# read and write through messages and through ioregionfd, between markers
# for mk/bench.sh.  Arguments go to
# ioregion_bench; a first argument --bench-only runs the benchmark alone
# (the second and later boots of make bench).
cd /tests || exit 1
only=
[ "${1:-}" = --bench-only ] && { only=1; shift; }
# The accelerator that runs the test machine (mk/vm.sh): tcg or kvm.
accel=$(cat /accel 2>/dev/null || echo unknown)
./ioregion_bench -a "$accel" "$@" || exit 1
# One sample per boot, so in every boot: make bench takes the median.
echo "@@VFU-BEGIN"
./vfu_vm_test --bench gpio-pci-idio-16
echo "@@VFU-END"
[ -n "$only" ] && exit 0
./ioregion_lat >/tmp/lat.out 2>&1 &
lat=$!
for _ in $(seq 300); do grep -q tracing /tmp/lat.out && break; sleep 0.1; done
./ioregion_bench -n 500 -r 5 \
	-m ioregionfd_read,ioregionfd_write,ioregionfd_posted_write,ioregionfd_read_polling
kill -INT $lat
wait $lat
echo "@@LAT-BEGIN"
cat /tmp/lat.out
echo "@@LAT-END"
echo "@@QEMU-BEGIN"
./qemu_proxy_test.sh --bench
echo "@@QEMU-END"
