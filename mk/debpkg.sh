#!/bin/bash
# mk/debpkg.sh deb|src SUITE PACKAGE[=VERSION] DIR
#
# Fetches a package from a Debian suite this machine's own apt is not set
# up for (Linux 7.3 from trixie-backports, QEMU 10.0 from trixie) with
# apt's own client and a private apt state under build/apt/, never
# touching the machine's apt configuration:
#   deb  downloads the binary package and unpacks it (dpkg-deb -x) into DIR
#   src  downloads the source package into DIR and unpacks it there
#        (dpkg-source -x, which applies Debian's own patches) as DIR/src
# The archive is the Debian mirror this machine's apt already uses, checked
# with Debian's archive keyring.  Idempotent: DIR/.done says it is there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kind=$1 suite=$2 pkg=$3 dir=$(realpath -m "$4")
[ -f "$dir/.done" ] && exit 0

state=$top/build/apt/$suite
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || { echo "debpkg: $keyring missing (debian-archive-keyring)" >&2; exit 1; }

# The mirror of this machine's Debian entries (deb822 or one-line style).
mirror=$(sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
	-e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
	/etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
	/etc/apt/sources.list.d/*.list 2>/dev/null |
	grep -v -e security -e '^cdrom' | grep debian | head -n 1 || true)
[ -n "$mirror" ] || { echo "debpkg: no Debian mirror in this machine's apt sources" >&2; exit 1; }

mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
line="[signed-by=$keyring] $mirror $suite main"
want=$(printf 'deb %s\ndeb-src %s' "$line" "$line")
# Rewritten only when it changes: a newer sources.list means a new update.
[ "$(cat "$state/sources.list" 2>/dev/null)" = "$want" ] ||
	printf '%s\n' "$want" >"$state/sources.list"
apt=(-o Dir::Etc::sourcelist="$state/sources.list" -o Dir::Etc::sourceparts=-
     -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache"
     -o APT::Sandbox::User=root -q)
update() {
	echo ">> apt: the $suite index, in build/apt/ (the machine's apt is untouched)"
	apt-get "${apt[@]}" update >"$state/update.log" 2>&1 ||
		{ tail -n 5 "$state/update.log" >&2; exit 1; }
	touch "$state/lists"
}
if [ -z "$(ls "$state/lists" | grep -v partial)" ] ||
   [ -n "$(find "$state/sources.list" -newer "$state/lists" 2>/dev/null)" ]; then
	update
fi

# apt-get download or source into $dir/dl; once more with a fresh index
# when the one kept here names a version the mirror has since replaced.
fetch() {
	local i
	for i in 1 2; do
		rm -rf "$dir"; mkdir -p "$dir/dl"
		(cd "$dir/dl" && apt-get "${apt[@]}" "$@" "$pkg" >"$dir/fetch.log" 2>&1) &&
			return 0
		[ $i = 1 ] && update
	done
	tail -n 5 "$dir/fetch.log" >&2
	exit 1
}

case $kind in
deb)
	fetch download
	dpkg-deb -x "$dir"/dl/*.deb "$dir"
	dpkg-deb --showformat='${Package} ${Version}' -W "$dir"/dl/*.deb >"$dir/.version"
	;;
src)
	fetch source --download-only
	dpkg-source -q -x "$dir"/dl/*.dsc "$dir/src" >"$dir/unpack.log" 2>&1 ||
		{ tail -n 5 "$dir/unpack.log" >&2; exit 1; }
	sed -n 's/^Version: //p' "$dir"/dl/*.dsc | head -n 1 >"$dir/.version"
	;;
*)
	echo "usage: $0 deb|src SUITE PACKAGE DIR" >&2; exit 2 ;;
esac
touch "$dir/.done"
