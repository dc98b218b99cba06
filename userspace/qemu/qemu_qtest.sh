#!/bin/sh
# QEMU's own test of the ioregionfd facility, tests/qtest/ioregionfd-test.c
# (userspace/qemu/patches), run where it can be: in the test machine, whose
# KVM has KVM_CAP_IOREGIONFD.  It programs the proxied lsi53c895a's BARs,
# moves them and turns their decoding off and on, and checks after each
# step that KVM_SET_IOREGION was done where the BARs are (QEMU's trace) and
# that the guest's accesses there reach the remote's socket without an exit
# to QEMU, while those at the old places exit.  GLib's TAP; exit 4 if every
# test skipped.
q=/tests/qemu
QTEST_QEMU_BINARY=$q/qemu-system-x86_64 \
	"$q/lib/ld-linux-x86-64.so.2" --library-path "$q/lib" \
	"$q/bin/ioregionfd-test" --tap >/tmp/qtest.out 2>&1
rc=$?
cat /tmp/qtest.out
[ $rc -eq 0 ] || exit $rc
grep -q '^ok ' /tmp/qtest.out || { echo "no test ran"; exit 1; }
grep '^ok ' /tmp/qtest.out | grep -qv '# SKIP' || exit 4
exit 0
