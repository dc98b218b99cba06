#!/bin/bash
# mk/check.sh: everything a change must pass.  Host-side unit tests, then
# one boot of the `test` kernel running our selftests and the stock
# regression set, then the kernel-log check.  All TAP goes to
# build/results/check.tap; the last line is "N passed, N failed[, N skipped]".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
results=$top/build/results
tap=$results/check.tap
mkdir -p "$results"
start=$(date +%s)

"$top/mk/kernel.sh" test || exit 1
"$top/mk/selftests.sh" test || exit 1

: >"$tap"
pass=0 fail=0 skip=0
# Count one TAP stream's top-level results into the totals, keep it in $tap.
count() { # name file
	echo "# ---- $1" >>"$tap"
	cat "$2" >>"$tap"
	local p f s
	p=$(grep -cE '^ok [0-9]+' "$2" | head -1)
	s=$(grep -cE '^ok [0-9]+.*# SKIP' "$2" | head -1)
	f=$(grep -cE '^not ok [0-9]+' "$2" | head -1)
	[ "$f" = 0 ] || grep -E '^not ok' "$2" | sed "s/^/  $1: /"
	# Tests the plan announced but that never reported (a crashed or
	# hung test machine, a killed test) fail too.
	local plan
	plan=$(grep -m1 -oE '^1\.\.[0-9]+' "$2" | cut -d. -f3)
	if [ -n "$plan" ] && [ $((p + f)) -lt "$plan" ]; then
		echo "not ok $((p + f + 1)) $((plan - p - f)) of $plan tests never reported" |
			tee -a "$tap" | sed "s/^/  $1: /"
		f=$((f + 1))
	fi
	pass=$((pass + p - s)); skip=$((skip + s)); fail=$((fail + f))
}

# run_tap NAME SECONDS CMD...: run a TAP-printing test; a crash or a timeout
# that left no "not ok" behind fails it too.
run_tap() {
	local name=$1 secs=$2
	shift 2
	timeout "$secs" "$@" >"$tmp/$name.tap" 2>&1 ||
		grep -q '^not ok' "$tmp/$name.tap" ||
		echo "not ok 1 $name exits cleanly" >>"$tmp/$name.tap"
	count "$name" "$tmp/$name.tap"
}

echo ">> host-side unit tests"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
gcc -Wall -Werror -I"$top/build/obj-test/usr/include" -o "$tmp/uapi_layout" \
	"$top/userspace/test/uapi_layout.c" && "$tmp/uapi_layout" >"$tmp/uapi.tap"
[ -s "$tmp/uapi.tap" ] || echo "not ok 1 uapi_layout builds and runs" >"$tmp/uapi.tap"
count uapi_layout "$tmp/uapi.tap"
"$top/userspace/test/logcheck_test.sh" >"$tmp/logcheck.tap"
count logcheck_test "$tmp/logcheck.tap"
# libioregion: built with -Werror, then its host tests under ASan and
# UBSan (the sandbox test under UBSan alone: ASan's runtime makes system
# calls at exit that the sandbox it tests kills, by design), its example and
# its man pages.
lib=$top/build/userspace
san="-O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all"
if make -s -C "$top/userspace" O="$lib" all >"$tmp/lib.log" 2>&1 &&
   make -s -C "$top/userspace" O="$lib-asan" \
	CFLAGS="$san -fsanitize=address,undefined" all >>"$tmp/lib.log" 2>&1 &&
   make -s -C "$top/userspace" O="$lib-ubsan" \
	CFLAGS="$san -fsanitize=undefined" all >>"$tmp/lib.log" 2>&1; then
	for t in cmd_check defer engines evloop flow layout shadow uart16550; do
		run_tap "libioregion_$t" 120 "$lib-asan/test/$t"
	done
	run_tap libioregion_sandbox 120 "$lib-ubsan/test/sandbox"
	# With the kernel's installed uAPI headers, in either order.
	for order in LIB_FIRST KERNEL_FIRST; do
		gcc -Wall -Werror -D$order -I"$top/build/obj-test/usr/include" \
			-I"$top/userspace/src/include" -I"$lib/include" -o "$tmp/both" \
			"$top/userspace/test/both_headers.c" >"$tmp/both.log" 2>&1 &&
			"$tmp/both" >"$tmp/both.tap" ||
			{ sed 's/^/# /' "$tmp/both.log"; echo "not ok 1 both headers, $order"; } >"$tmp/both.tap"
		count "libioregion_both_headers_$order" "$tmp/both.tap"
	done
	{ if "$lib/examples/minimal_device" | grep -q 'ID register: 0x10e610'; then
		echo "ok 1 examples/minimal_device answers its ID register"
	  else echo "not ok 1 examples/minimal_device answers its ID register"; fi
	  i=1
	  for m in "$top"/userspace/man/*.[378]; do
		i=$((i + 1)); n=$(basename "$m")
		if [ -z "$(MANWIDTH=80 man -l "$m" 2>&1 >/dev/null)" ] &&
		   MANWIDTH=80 man -l "$m" 2>/dev/null | grep -q SYNOPSIS; then
			echo "ok $i man -l $n renders"
		else echo "not ok $i man -l $n renders"; fi
	  done
	  # Installed as users get it: pkg-config finds it, an example links.
	  i=$((i + 1)); inst=$tmp/inst
	  if make -s -C "$top/userspace" O="$lib" install DESTDIR="$inst" prefix=/usr \
		>/dev/null 2>&1 &&
	     flags=$(PKG_CONFIG_SYSROOT_DIR="$inst" PKG_CONFIG_PATH="$inst/usr/lib/pkgconfig" \
		pkg-config --cflags --libs libioregion) &&
	     gcc -o "$tmp/mini" "$top/userspace/examples/minimal_device.c" $flags &&
	     LD_LIBRARY_PATH="$inst/usr/lib" "$tmp/mini" | grep -q 'ID register'; then
		echo "ok $i make install; pkg-config --cflags --libs libioregion; shared library links and runs"
	  else echo "not ok $i make install; pkg-config --cflags --libs libioregion; shared library links and runs"; fi
	  # A program built for 0.1's signatures, on the installed library.
	  i=$((i + 1))
	  if gcc -Wall -Werror -o "$tmp/compat" "$top/userspace/test/compat_0_1.c" \
		-L"$inst/usr/lib" -lioregion &&
	     LD_LIBRARY_PATH="$inst/usr/lib" "$tmp/compat" >"$tmp/compat.tap"; then
		sed 's/^/# /' "$tmp/compat.tap"
		echo "ok $i a program linked against LIBIOREGION_0.1 runs on this library"
	  else echo "not ok $i a program linked against LIBIOREGION_0.1 runs on this library"; fi
	  echo "1..$i"; } >"$tmp/libmisc.tap"
	count libioregion_misc "$tmp/libmisc.tap"
else
	sed 's/^/# /' "$tmp/lib.log"
	echo "not ok 1 libioregion builds (see above)" >"$tmp/lib.tap"
	count libioregion "$tmp/lib.tap"
fi

# vfio-user: libvfio-user with userspace/libvfio-user/patches and its own
# suite (test_ioregionfd.py: the server side of ioregionfd sub-regions),
# then libioregion's client against its gpio-pci-idio-16 sample and against
# a scripted hostile server, under ASan and UBSan.
echo ">> libvfio-user (QEMU 10.0.13's copy) + our series, and its tests"
if "$top/mk/libvfio-user.sh" test >"$tmp/lvu.tap" 2>"$tmp/lvu.log"; then
	count libvfio_user "$tmp/lvu.tap"
	run_tap libioregion_vfu 120 "$lib-asan/test/vfu" \
		"$top/build/libvfio-user/obj/samples/gpio-pci-idio-16"
else
	{ sed 's/^/# /' "$tmp/lvu.log" | tail -n 20
	  echo "not ok 1 libvfio-user builds with the series"; } >"$tmp/lvu.tap"
	count libvfio_user "$tmp/lvu.tap"
fi

# The QEMU series' remote-side ioregionfd server, no KVM needed: the
# built QEMU as an x-remote process, this test as its proxy and its KVM.
run_tap qemu_remote 120 python3 "$top/userspace/qemu/remote_test.py" \
	"$top/build/qemu/obj/qemu-system-x86_64"

echo ">> test machine: selftests under lockdep, KASAN and kmemleak (about 10 min under TCG)"
"$top/mk/vm.sh" test check "sh /tests/run-tests.sh"
vmrc=$?
cp "$results/check.out" "$tmp/vm.tap"
# A boot that never reached /init and ran nothing of ours (mk/vm.sh) is
# said, with what its log showed; the kernel log checked is the one that
# ran the tests.
for f in "$results"/dmesg-check.boot*.txt; do
	[ -f "$f" ] || continue
	{ echo "# the test machine was booted again: ${f#"$top"/} never reached /init"
	  "$top/mk/logcheck.sh" "$f" | sed -n '2,4s/^ */#   /p'; } >>"$tmp/vm.tap"
done
if [ $vmrc != 0 ] && ! grep -q '^1\.\.' "$tmp/vm.tap"; then
	echo "not ok 1 test machine booted and ran the selftests" >>"$tmp/vm.tap"
fi
count selftests "$tmp/vm.tap"

if "$top/mk/logcheck.sh" "$results/dmesg-check.txt" >"$tmp/log.txt"; then
	echo "ok 1 kernel log clean (build/results/dmesg-check.txt)" >"$tmp/log.tap"
else
	cat "$tmp/log.txt"
	{ echo "not ok 1 kernel log clean (build/results/dmesg-check.txt)"
	  sed 's/^/# /' "$tmp/log.txt"; } >"$tmp/log.tap"
fi
count kernel_log "$tmp/log.tap"

echo ">> check took $(( $(date +%s) - start )) s; TAP in build/results/check.tap"
summary="$pass passed, $fail failed"
[ $skip = 0 ] || summary+=", $skip skipped"
echo "$summary" | tee -a "$tap"
[ $fail = 0 ]
