#!/bin/bash
# mk/run.sh [MODE]: the main job.  Builds the `bench` test-machine kernel
# (no debug options: the table compares mechanisms), the demo's guest
# kernel, demo_vmm and the guest's initramfs; boots the test machine and
# there boots the Linux guest under each way of serving its COM1 (or MODE:
# inline, forwarded, forwarded-posted, ioregionfd), then prints the table.  MODE=restart:
# over ioregionfd, the device process is killed mid-run and replaced.
# MODE=vfio-user: QEMU's pci-serial, served by QEMU's vfio-user server, on
# the demo's PCI bus (builds QEMU and the PCI guest kernel too).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}
case $mode in
""|inline|forwarded|forwarded-posted|ioregionfd|restart|vfio-user) ;;
*) echo "run: MODE is inline, forwarded, forwarded-posted, ioregionfd, restart or vfio-user, not '$mode'" >&2; exit 2 ;;
esac
start=$(date +%s)
"$top/mk/kernel.sh" bench
# Only the demo's parts: not the selftests, the benchmark or QEMU.
vfu=; [ "$mode" = vfio-user ] && vfu=1
DEMO_ONLY=1 DEMO_VFU=$vfu "$top/mk/selftests.sh" bench
"$top/mk/vm.sh" bench run "sh demo-run.sh $mode"
echo ">> make run: $(( $(date +%s) - start )) s end to end; output in build/results/run.out"
