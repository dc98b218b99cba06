#!/bin/bash
# mk/qemu.sh: Debian 13's QEMU 10.0.13 source with our series
# (userspace/qemu/patches, applied with `git am` in the order of `series`),
# and libvfio-user's series in its subprojects/libvfio-user, built for what
# the tests use only - x86_64-softmmu with KVM, multi-process, the vfio-user
# server, the pc machine, lsi53c895a, pci-serial - into
# build/qemu/obj/qemu-system-x86_64, and the series' qtest
# (build/qemu/obj/tests/qtest/ioregionfd-test).
# About 3 minutes on 2 cores from scratch; incremental afterwards.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/qemu
src=$build/src
obj=$build/obj
series=$top/userspace/qemu/patches
lvu=$top/userspace/libvfio-user/patches

"$top/mk/deps.sh" dpkg-dev ninja-build libglib2.0-dev libpixman-1-dev \
	zlib1g-dev libfdt-dev libjson-c-dev python3-venv bzip2

# The source through the project's private apt state (mk/debpkg.sh; the
# machine's own apt configuration is never touched), unpacked with
# dpkg-source so that Debian's own patches apply.  mk/libvfio-user.sh
# uses the same tree.
"$top/mk/debpkg.sh" src trixie qemu "$top/build/qemu10"
case $(cat "$top/build/qemu10/.version") in
1:10.0.*) ;;
*) echo "qemu: Debian 13 offers QEMU $(cat "$top/build/qemu10/.version"), not 10.0" >&2
   exit 1 ;;
esac
# QEMU 10.0 wants meson >= 1.5 and Debian's source drops the wheel QEMU
# bundles: Debian 13's meson (1.7, architecture-independent Python) serves,
# unpacked under build/ and found through PYTHONPATH.
"$top/mk/debpkg.sh" deb trixie meson "$top/build/meson13"
export PYTHONPATH=$top/build/meson13/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}
export PATH=$top/build/meson13/usr/bin:$PATH

# Copy the unpacked source afresh whenever a series changed, then apply.
stamp=$(cat "$series/series" $(sed 's/#.*//' "$series/series" | awk 'NF {print "'"$series"'/" $1}') \
	"$lvu"/*.patch | sha256sum | cut -c1-16)
if [ "$(cat "$src/.series" 2>/dev/null)" != "$stamp" ]; then
	echo ">> QEMU $(cat "$top/build/qemu10/.version") + userspace/qemu/patches"
	rm -rf "$src" "$obj"; mkdir -p "$build"
	cp -a "$top/build/qemu10/src" "$src"
	git_id=(-c user.name=build -c user.email=build@localhost -c commit.gpgsign=false)
	(cd "$src" && git init -q && git add -A &&
	 git "${git_id[@]}" commit -q -m "QEMU as Debian ships it" &&
	 git "${git_id[@]}" am -q $(sed 's/#.*//' "$series/series" | awk 'NF {print "'"$series"'/" $1}')) ||
		{ echo "qemu: the series does not apply with git am" >&2; rm -rf "$src"; exit 1; }
	for p in "$lvu"/*.patch; do
		patch -s -p1 -d "$src/subprojects/libvfio-user" <"$p" ||
			{ echo "qemu: $(basename "$p") does not apply to subprojects/libvfio-user" >&2
			  rm -rf "$src"; exit 1; }
	done
	echo "$stamp" >"$src/.series"
fi

# ccache when there is one: /usr/lib/ccache holds its names for the
# compilers, which configure records as plain "cc".
path=$PATH; [ -d /usr/lib/ccache ] && path=/usr/lib/ccache:$PATH
if [ ! -f "$obj/build.ninja" ]; then
	echo ">> configuring QEMU: x86_64-softmmu, KVM only, multi-process, vfio-user server"
	mkdir -p "$obj"
	(cd "$obj" && PATH=$path "$src/configure" --python=/usr/bin/python3 \
		--target-list=x86_64-softmmu \
		--without-default-features --without-default-devices \
		--with-devices-x86_64=ioregionfd --enable-kvm --disable-tcg \
		--enable-multiprocess --enable-vfio-user-server --enable-fdt=system \
		--disable-docs --disable-tools --disable-user \
		--disable-install-blobs --disable-download \
		>"$build/configure.log" 2>&1) ||
		{ tail -n 20 "$build/configure.log" >&2; rm -rf "$obj"; exit 1; }
fi
echo ">> building QEMU (about 3 min on 2 cores from scratch)"
start=$(date +%s)
if ! PATH=$path ninja -C "$obj" qemu-system-x86_64 tests/qtest/ioregionfd-test \
	>"$build/build.log" 2>&1; then
	grep -E 'error|FAILED' "$build/build.log" | head -n 30 >&2
	echo "qemu: build failed, see build/qemu/build.log" >&2
	exit 1
fi
echo ">> QEMU ready: build/qemu/obj/qemu-system-x86_64 ($(( $(date +%s) - start )) s)"
