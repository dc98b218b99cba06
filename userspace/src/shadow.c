// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The device shadow, on the device's side: register values KVM answers
 * loads from without sending a command, and the access map that says which
 * loads it may answer (Documentation/virt/kvm/ioregionfd.rst).  KVM reads
 * a map byte with acquire semantics, then the value; so a value that KVM
 * may load is stored before its map byte allows it (release), and a map
 * byte is cleared before the value it no longer covers changes.  Values
 * are naturally aligned and stored whole, so a load never sees half of one.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

struct ioregion_shadow {
	uint8_t *mem;		/* size bytes of values, then size of map */
	uint64_t size;
};

int ioregion_shadow_map(int group_fd, uint64_t shadow_size,
			struct ioregion_shadow **shadowp)
{
	struct ioregion_shadow *s;

	if (!shadowp || !shadow_size || shadow_size > SIZE_MAX / 2)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	/* MAP_SHARED: KVM refuses a private copy, which it would never see. */
	s->mem = mmap(NULL, 2 * shadow_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      group_fd, 0);
	if (s->mem == MAP_FAILED) {
		free(s);
		return -errno;
	}
	s->size = shadow_size;
	*shadowp = s;
	return 0;
}

void ioregion_shadow_unmap(struct ioregion_shadow *s)
{
	if (!s)
		return;
	munmap(s->mem, 2 * s->size);
	free(s);
}

static void store(uint8_t *p, unsigned int size, uint64_t v, int order)
{
	switch (size) {
	case 1: __atomic_store_n(p, (uint8_t)v, order); break;
	case 2: __atomic_store_n((uint16_t *)p, (uint16_t)v, order); break;
	case 4: __atomic_store_n((uint32_t *)p, (uint32_t)v, order); break;
	default: __atomic_store_n((uint64_t *)p, v, order); break;
	}
}

int ioregion_shadow_set(struct ioregion_shadow *s, uint64_t offset,
			unsigned int size, uint64_t value, unsigned int loads)
{
	uint8_t *val, *map;

	if (!s || (size != 1 && size != 2 && size != 4 && size != 8) ||
	    offset % size || offset >= s->size || size > s->size - offset ||
	    loads & ~0xfu)
		return -EINVAL;
	val = s->mem + offset;
	map = s->mem + s->size + offset;
	if (loads) {
		store(val, size, value, __ATOMIC_RELAXED);
		__atomic_store_n(map, (uint8_t)loads, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(map, 0, __ATOMIC_RELAXED);
		store(val, size, value, __ATOMIC_RELEASE);
	}
	return 0;
}
