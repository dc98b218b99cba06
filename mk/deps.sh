#!/bin/bash
# mk/deps.sh: install what a fresh Debian 12 machine lacks, from Debian's
# packages, plus any named as arguments.  Idempotent: does nothing when
# everything is there.
# --lib: only what libioregion needs (make lib, make install), not the
# kernel's, QEMU's or the test machine's build dependencies.
set -euo pipefail
if [ "${1:-}" = --lib ]; then
	shift
	pkgs=(build-essential liburing-dev libseccomp-dev libjson-c-dev pkg-config)
else
	pkgs=(qemu-system-x86 qemu-system-data seabios build-essential
	      flex bison bc libelf-dev libssl-dev dwarves kmod cpio gzip xz-utils
	      busybox-static liburing-dev libbpf-dev libseccomp-dev pkg-config
	      ccache python3 perl git man-db clang bpftool
	      rsync debian-archive-keyring dpkg-dev uuid-dev
	      meson ninja-build libjson-c-dev libcmocka-dev python3-pytest valgrind)
fi
pkgs+=("$@")	# what one target needs on top (make bench: gnuplot-nox)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} = 0 ] && exit 0
echo ">> installing ${missing[*]} (apt, a few minutes on a fresh machine)"
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
