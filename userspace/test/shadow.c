// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The device shadow's helpers, on a memfd standing in for an ordering
 * group's fd (the same MAP_SHARED mapping; KVM's side is covered by the
 * kernel's ioregionfd_shadow_test and, through the library, by the demo's
 * test): values land host-endian at their offset, the map byte says which
 * loads KVM may answer, and a register taken out of the shadow has its map
 * byte cleared.  Every malformed call is refused with -EINVAL and writes
 * nothing.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libioregion.h"
#include "tap.h"

#define SIZE	4096

int main(void)
{
	struct ioregion_shadow *s;
	uint8_t *mem, before[2 * SIZE];
	uint64_t v64;
	uint32_t v32;
	int fd = memfd_create("shadow", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, 2 * SIZE) ||
	    (mem = mmap(NULL, 2 * SIZE, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		tap_ok(0, "memfd: %s", strerror(errno));
		return tap_done();
	}
	tap_expect(ioregion_shadow_map(fd, 0, &s), -EINVAL, "a shadow of 0 bytes");
	tap_expect(ioregion_shadow_map(-1, SIZE, &s), -EBADF, "a bad fd");
	tap_expect(ioregion_shadow_map(fd, SIZE, &s), 0, "map");

	tap_expect(ioregion_shadow_set(s, 5, 1, 0x60, 1), 0, "a 1-byte register, 1-byte loads");
	tap_ok(mem[5] == 0x60 && mem[SIZE + 5] == 1, "value 0x%x, map 0x%x", mem[5], mem[SIZE + 5]);
	tap_expect(ioregion_shadow_set(s, 0x10, 4, 0x12345678, 4 | 2 | 1), 0,
		   "a 4-byte register, loads of 1, 2 and 4");
	memcpy(&v32, mem + 0x10, 4);
	tap_ok(v32 == 0x12345678 && mem[SIZE + 0x10] == 7, "host-endian value, map 7");
	tap_expect(ioregion_shadow_set(s, 0x18, 8, 0x1122334455667788ull, 8), 0, "8 bytes");
	memcpy(&v64, mem + 0x18, 8);
	tap_ok(v64 == 0x1122334455667788ull && mem[SIZE + 0x18] == 8, "8-byte value, map 8");
	tap_expect(ioregion_shadow_set(s, 5, 1, 0x62, 0), 0, "taken out of the shadow");
	tap_ok(mem[5] == 0x62 && mem[SIZE + 5] == 0,
	       "value 0x%x kept for the record, map 0: every load goes to the device",
	       mem[5]);

	memcpy(before, mem, sizeof(before));
	tap_expect(ioregion_shadow_set(s, 0x11, 4, 1, 4), -EINVAL, "misaligned");
	tap_expect(ioregion_shadow_set(s, 0x10, 3, 1, 1), -EINVAL, "size 3");
	tap_expect(ioregion_shadow_set(s, SIZE, 1, 1, 1), -EINVAL, "past the shadow");
	tap_expect(ioregion_shadow_set(s, SIZE - 4, 8, 1, 8), -EINVAL, "across its end");
	tap_expect(ioregion_shadow_set(s, 0, 1, 1, 0x10), -EINVAL, "a load size of 16");
	tap_expect(ioregion_shadow_set(NULL, 0, 1, 1, 1), -EINVAL, "no shadow");
	tap_ok(!memcmp(before, mem, sizeof(before)), "the refused calls wrote nothing");
	ioregion_shadow_unmap(s);
	ioregion_shadow_unmap(NULL);
	close(fd);
	return tap_done();
}
