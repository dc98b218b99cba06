#!/bin/bash
# mk/qemu.sh: Debian's QEMU 7.2 source, our series on top
# (userspace/qemu/patches, quilt-style: `series` lists them in order), built
# for what the tests use only - x86_64-softmmu with KVM, multi-process,
# the pc machine, lsi53c895a - into build/qemu/obj/qemu-system-x86_64.
# About 2 minutes on 2 cores from scratch; incremental afterwards.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/qemu
src=$build/src
obj=$build/obj
series=$top/userspace/qemu/patches

"$top/mk/deps.sh" dpkg-dev meson ninja-build libglib2.0-dev libpixman-1-dev \
	zlib1g-dev libfdt-dev

# Debian 12's QEMU 7.2 source, through the project's private apt state
# (mk/debpkg.sh): the machine's own apt configuration is never touched.
"$top/mk/debpkg.sh" src bookworm qemu "$build/deb"
if [ ! -f "$build/.fetched" ]; then
	case $(cat "$build/deb/.version") in
	1:7.2*) ;;
	*) echo "qemu: Debian 12 offers QEMU $(cat "$build/deb/.version"), not 7.2" >&2; exit 1 ;;
	esac
	echo "QEMU $(cat "$build/deb/.version") (Debian source, Debian's patches applied)" >"$build/.version"
	touch "$build/.fetched"
fi

# Copy the unpacked source (Debian's own patches applied) afresh whenever our
# series changed, then apply it.
stamp=$(cat "$series/series" $(sed 's/#.*//' "$series/series" | awk 'NF {print "'"$series"'/" $1}') |
	sha256sum | cut -c1-16)
if [ "$(cat "$src/.series" 2>/dev/null)" != "$stamp" ]; then
	echo ">> $(cat "$build/.version") + userspace/qemu/patches"
	rm -rf "$src"
	cp -a "$build/deb/src" "$src"
	for p in $(sed 's/#.*//' "$series/series"); do
		patch -s -p1 -d "$src" <"$series/$p" ||
			{ echo "qemu: $p does not apply" >&2; rm -rf "$src"; exit 1; }
	done
	echo "$stamp" >"$src/.series"
	rm -rf "$obj"
fi

# ccache when there is one: /usr/lib/ccache holds its names for the
# compilers, which configure records as plain "cc".
path=$PATH; [ -d /usr/lib/ccache ] && path=/usr/lib/ccache:$PATH
if [ ! -f "$obj/build.ninja" ]; then
	echo ">> configuring QEMU: x86_64-softmmu, KVM only, multi-process, lsi53c895a"
	mkdir -p "$obj"
	(cd "$obj" && PATH=$path "$src/configure" --target-list=x86_64-softmmu \
		--without-default-features --without-default-devices \
		--with-devices-x86_64=ioregionfd --enable-kvm --disable-tcg \
		--enable-multiprocess --enable-fdt=system --disable-docs \
		--disable-tools --disable-user --disable-install-blobs \
		>"$build/configure.log" 2>&1) ||
		{ tail -n 20 "$build/configure.log" >&2; rm -rf "$obj"; exit 1; }
fi
echo ">> building QEMU (about 2 min on 2 cores from scratch)"
start=$(date +%s)
if ! PATH=$path ninja -C "$obj" qemu-system-x86_64 >"$build/build.log" 2>&1; then
	grep -E 'error|FAILED' "$build/build.log" | head -n 30 >&2
	echo "qemu: build failed, see build/qemu/build.log" >&2
	exit 1
fi
echo ">> QEMU ready: build/qemu/obj/qemu-system-x86_64 ($(( $(date +%s) - start )) s)"
