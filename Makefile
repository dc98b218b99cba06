# ioregionfd: the single entry point.  `make help` lists the targets.
#
# Everything is built under build/ (git-ignored): the Linux 7.3 base tree with our
# series applied (build/src), one object tree per kernel flavour
# (build/obj-test, build/obj-bench), the test machine's files and results.

FLAVOUR ?= test
CMD ?=
MODE ?=

.PHONY: help deps kernel selftests vm check soak regress bench run patches patch-test lib install clean

help:
	@echo "make deps      install what is missing from Debian's packages"
	@echo "make kernel    base tree + series -> build/obj-\$$FLAVOUR (test|bench|guest|qguest)"
	@echo "make vm        boot the test machine; CMD='...' runs CMD there"
	@echo "make check     unit tests + selftests in the test machine + log check"
	@echo "make soak      the feature's tests for SOAK_SECONDS (1800) in one boot"
	@echo "make regress   every stock x86 KVM selftest on the patched kernel"
	@echo "make bench     every MMIO path side by side -> build/results/bench.*"
	@echo "make run       the demo: Linux guest, COM1 four ways [MODE=...]"
	@echo "make patches   the series as git format-patch in build/patches/"
	@echo "make patch-test N=n [TESTS=...]  patches 1-n's selftests on their kernel"
	@echo "make lib       libioregion (userspace/) in build/userspace/"
	@echo "make install   libioregion into DESTDIR/prefix (default /usr/local)"
	@echo "make clean     remove build/"

deps:
	@mk/deps.sh

kernel: deps
	@mk/kernel.sh $(FLAVOUR)

selftests: kernel
	@mk/selftests.sh $(FLAVOUR)

vm: selftests
	@mk/vm.sh $(FLAVOUR) vm "$(CMD)"

check: deps
	@mk/check.sh

soak: deps
	@mk/soak.sh

regress: deps
	@mk/regress.sh

bench: deps
	@mk/bench.sh

# The main job: the demo (README.md).  MODE=inline|forwarded|forwarded-posted|ioregionfd
# for one way of serving the guest's COM1; all four by default.
# MODE=restart: over ioregionfd, its device process killed and replaced.
run: deps
	@mk/run.sh $(MODE)

patches: deps
	@mk/patches.sh

# The first N patches of the series (as make patches applied it) pass their
# own ioregionfd selftests, on their own kernel, in the test machine.
N ?=
TESTS ?=
patch-test: deps
	@mk/patch-test.sh $(N) $(TESTS)

# The library alone needs only its own build dependencies.
lib:
	@mk/deps.sh --lib
	@$(MAKE) -s -C userspace O=$(CURDIR)/build/userspace all

install: lib
	@$(MAKE) -s -C userspace O=$(CURDIR)/build/userspace install

clean:
	rm -rf build
