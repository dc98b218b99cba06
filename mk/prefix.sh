# mk/prefix.sh: sourced by mk/patches.sh and mk/patch-test.sh, which build
# a prefix of the series (a kernel tree at one of its commits).

# The ioregionfd selftests that TREE's selftest Makefile lists.
prefix_tests() { # TREE
	sed -n 's/^TEST_GEN_PROGS_x86 += \(x86\/ioregionfd_[a-z_]*\)$/\1/p' \
		"$1/tools/testing/selftests/kvm/Makefile.kvm" | tr '\n' ' '
}

# Build TESTS of TREE into OUT against the uAPI headers of TREE's kernel,
# installed into OBJ/usr; CFLAGS and LDFLAGS for the selftests.
prefix_build_tests() { # TREE OBJ OUT TESTS CFLAGS [LDFLAGS]
	local tree=$1 obj=$2 out=$3 tests=$4 cflags=$5 ldflags=${6:-}
	make -C "$tree" O="$obj" headers_install INSTALL_HDR_PATH="$obj/usr" &&
	make -C "$tree/tools/testing/selftests/kvm" -j"$(nproc)" OUTPUT="$out" \
		INSTALL_HDR_PATH="$obj/usr" KHDR_INCLUDES="-isystem $obj/usr/include" \
		EXTRA_CFLAGS="$cflags" ${ldflags:+"USERLDFLAGS=$ldflags"} \
		TEST_GEN_PROGS_x86="$tests" TEST_GEN_PROGS_EXTENDED_x86=
}
