#!/bin/bash
# mk/selftests.sh FLAVOUR: build the KVM selftests that `make check` runs,
# statically, against build/obj-FLAVOUR's uAPI headers, into
# build/guest-FLAVOUR/ (the test machine's /tests).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
flavour=${1:-test}
obj=$top/build/obj-$flavour
out=$top/build/selftests-$flavour
guest=$top/build/guest-$flavour
src=$top/build/src/tools/testing/selftests/kvm
# Ours, then the stock regression set.  Only these: Debian's 6.1 tree has
# selftests that do not build (dirty_log_test).
tests=$(cat "$top/mk/guest/tests.txt" | sed 's/#.*//' | awk 'NF {print $1}')
echo ">> building $(echo $tests | wc -w) KVM selftests (static)"
mkdir -p "$out" "$guest"
make -s -C "$src" -j"$(nproc)" OUTPUT="$out" INSTALL_HDR_PATH="$obj/usr" \
	KHDR_INCLUDES="-isystem $obj/usr/include" \
	EXTRA_CFLAGS="-static -Werror" USERLDFLAGS=-static \
	TEST_GEN_PROGS_x86_64="$tests" TEST_GEN_PROGS_EXTENDED_x86_64=
for t in $tests; do cp "$out/$t" "$guest/$(basename "$t")"; done
cp "$top/mk/guest/run-tests.sh" "$top/mk/guest/tests.txt" "$guest/"
