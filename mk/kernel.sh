#!/bin/bash
# mk/kernel.sh FLAVOUR: base tree + our series -> build/obj-FLAVOUR/bzImage
# and the uAPI headers in build/obj-FLAVOUR/usr/include.  Incremental.
# Flavours: test and bench (the test machine's kernel), guest (the demo's),
# qguest (the guest of the multi-process QEMU test, userspace/qemu/), and
# stock: the `test` kernel of the unpatched base tree (build/src-stock), for
# `make regress REGRESS_KERNEL=stock`, which tells a stock selftest that
# fails because of the series from one that fails in the test machine anyway.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
flavour=${1:-test}
build=$top/build
src=$build/src
obj=$build/obj-$flavour
frags=("$top/mk/config/common.config" "$top/mk/config/$flavour.config")
# The guests are not test machines: their own fragment only.
case $flavour in
guest|qguest) frags=("$top/mk/config/$flavour.config") ;;
stock) frags=("$top/mk/config/common.config" "$top/mk/config/test.config")
	src=$build/src-stock ;;
esac
jobs=$(nproc)
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"

# The base tree: Debian's linux-source-7.3 (trixie-backports), an arch-all
# package that carries the source tarball, fetched by mk/debpkg.sh.
deb=$build/deb/linux-source
"$top/mk/debpkg.sh" deb trixie-backports linux-source-7.3 "$deb"
tarball=$(ls "$deb"/usr/src/linux-source-7.3.tar.xz)

if [ ! -f "$src/.extracted" ]; then
	echo ">> extracting the base tree from $tarball (about 15 s)"
	rm -rf "$src"; mkdir -p "$src"
	[ "$flavour" = stock ] || rm -rf "$build/pristine"
	tar -xf "$tarball" -C "$src" --strip-components=1
	ver=$(make -s -C "$src" kernelversion)
	echo "Linux $ver (Debian $(cat "$deb/.version"))" >"$src/.base-version"
	touch "$src/.extracted"
fi
if [ "$flavour" = stock ]; then
	echo ">> $(cat "$src/.base-version") as Debian ships it, without the series"
else
	echo ">> applying the ioregionfd series to $(cat "$src/.base-version")"
	"$top/mk/overlay.sh" apply "$src" "$build/pristine"
fi
[ -z "${PREPARE_ONLY:-}" ] || exit 0

mkdir -p "$obj"
stamp=$obj/.config-stamp
if [ ! -f "$obj/.config" ] || [ ! -f "$stamp" ] || [ -n "$(find "${frags[@]}" -newer "$stamp")" ]; then
	echo ">> configuring the '$flavour' kernel: tinyconfig + ${frags[*]##*/}"
	make -s -C "$src" O="$obj" CC="$cc" tinyconfig >/dev/null
	KCONFIG_CONFIG="$obj/.config" "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" \
		"$obj/.config" "${frags[@]}" >"$obj/merge.log"
	make -s -C "$src" O="$obj" CC="$cc" olddefconfig >/dev/null
	# A requested option that did not stick is a broken fragment: say so.
	missing=0
	while IFS= read -r line; do
		case $line in CONFIG_*=n) opt=${line%%=*}
			grep -q "^$opt=" "$obj/.config" && { echo "kernel: $opt still set" >&2; missing=1; } ;;
		CONFIG_*) grep -qx "$line" "$obj/.config" || { echo "kernel: $line did not stick" >&2; missing=1; } ;;
		esac
	done < <(cat "${frags[@]}" | sed 's/#.*//')
	[ $missing = 0 ] || echo "kernel: warning: see above (build/obj-$flavour/merge.log)" >&2
	touch "$stamp"
fi

echo ">> building the '$flavour' kernel (first build about 6-12 min on 2 cores, then incremental)"
start=$(date +%s)
if ! make -s -C "$src" O="$obj" CC="$cc" -j"$jobs" bzImage >"$obj/build.log" 2>&1; then
	grep -E 'error|Error' "$obj/build.log" | head -n 30 >&2
	echo "kernel: build failed, see build/obj-$flavour/build.log" >&2
	exit 1
fi
make -s -C "$src" O="$obj" -j"$jobs" headers_install INSTALL_HDR_PATH="$obj/usr" >/dev/null
cp "$src/.base-version" "$obj/.base-version"
echo ">> kernel ready: build/obj-$flavour/arch/x86/boot/bzImage ($(( $(date +%s) - start )) s)"
