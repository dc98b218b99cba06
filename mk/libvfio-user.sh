#!/bin/bash
# mk/libvfio-user.sh [test]: the libvfio-user that Debian's QEMU 10.0.13
# source pins (subprojects/libvfio-user), with userspace/libvfio-user/patches
# applied by `git am`, built with meson into build/libvfio-user/obj: the
# library, its samples (gpio-pci-idio-16, server) and its tests.
# `test`: then run the library's own test suite (cmocka unit tests, the
# Python tests, the client/server sample test) as TAP on stdout.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/libvfio-user
src=$build/src
obj=$build/obj
series=$top/userspace/libvfio-user/patches

"$top/mk/deps.sh" >&2
# QEMU 10.0.13 from Debian 13, through the project's private apt state
# (mk/debpkg.sh); mk/qemu.sh's 10.0 build uses the same unpacked tree.
"$top/mk/debpkg.sh" src trixie qemu "$top/build/qemu10" >&2
case $(cat "$top/build/qemu10/.version") in
1:10.0.*) ;;
*) echo "libvfio-user: Debian 13 offers QEMU $(cat "$top/build/qemu10/.version"), not 10.0" >&2
   exit 1 ;;
esac

stamp=$(cat "$series"/*.patch | sha256sum | cut -c1-16)
if [ "$(cat "$src/.series" 2>/dev/null)" != "$stamp" ]; then
	echo ">> libvfio-user (QEMU $(cat "$top/build/qemu10/.version")) + userspace/libvfio-user/patches" >&2
	rm -rf "$src" "$obj" "$obj-static"; mkdir -p "$build"
	cp -a "$top/build/qemu10/src/subprojects/libvfio-user" "$src"
	git_id=(-c user.name=build -c user.email=build@localhost -c commit.gpgsign=false)
	(cd "$src" && git init -q && git add -A &&
	 git "${git_id[@]}" commit -q -m "libvfio-user as QEMU 10.0.13 pins it" &&
	 git "${git_id[@]}" am -q "$series"/*.patch) >&2 ||
		{ echo "libvfio-user: the series does not apply with git am" >&2; rm -rf "$src"; exit 1; }
	echo "$stamp" >"$src/.series"
fi

if [ ! -f "$obj/build.ninja" ]; then
	meson setup "$obj" "$src" >"$build/setup.log" 2>&1 ||
		{ tail -n 20 "$build/setup.log" >&2; rm -rf "$obj"; exit 1; }
fi
ninja -C "$obj" >"$build/build.log" 2>&1 ||
	{ grep -E 'error|FAILED' "$build/build.log" | head -n 30 >&2; exit 1; }

# The samples and the library once more, static, for the test machine
# (vfu_vm_test, vfu_regs_server).
if [ ! -f "$obj-static/build.ninja" ]; then
	meson setup "$obj-static" "$src" -Dbuildtype=release \
		-Ddefault_library=static -Dprefer_static=true -Dc_link_args=-static \
		>"$build/setup-static.log" 2>&1 ||
		{ tail -n 20 "$build/setup-static.log" >&2; rm -rf "$obj-static"; exit 1; }
fi
ninja -C "$obj-static" samples/gpio-pci-idio-16 samples/server lib/libvfio-user.a \
	>"$build/build-static.log" 2>&1 ||
	{ grep -E 'error|FAILED' "$build/build-static.log" | head -n 30 >&2; exit 1; }

[ "${1:-}" = test ] || exit 0
# The library's suite, one TAP line per meson test: unit (cmocka),
# pyunit (pytest, with test_ioregionfd.py), functional (client/server).
# test-lspci compares with lspci's output on the distributions upstream
# tests; Debian 12's pciutils 3.9 formats PCIe capabilities differently
# from all three, patched library or not: it is listed as a skip.
log=$obj/meson-logs/testlog.json
names=$(meson test -C "$obj" --list 2>/dev/null | sed 's/^.* \/ //' | grep -vx test-lspci)
meson test -C "$obj" --no-rebuild $names >"$build/test.log" 2>&1 || true
python3 - "$log" <<'PY'
import json, sys
tests = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("1..%d" % (len(tests) + 1))
for i, t in enumerate(tests, 1):
    name = "libvfio-user %s" % t["name"]
    if t["result"] == "OK":
        print("ok %d %s" % (i, name))
    else:
        print("not ok %d %s (%s)" % (i, name, t["result"]))
        for l in (t.get("stdo") or "").splitlines()[-15:]:
            print("# " + l)
print("ok %d libvfio-user test-lspci # SKIP expects another lspci's output "
      "format than Debian 12's pciutils 3.9" % (len(tests) + 1))
PY
