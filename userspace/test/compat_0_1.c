// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * A program as it was built against libioregion 0.1/0.2, before
 * ioregion_dev_create() took options and ioregion_dev_stats() a size:
 * linked to the shared library's LIBIOREGION_0.1 versions, it must still
 * run.  Its own declarations, as the old header had them.  TAP.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

struct ioregion_dev;
struct old_ops {
	uint64_t (*read)(void *, uint64_t, uint64_t, unsigned int);
	void (*write)(void *, uint64_t, uint64_t, unsigned int, uint64_t);
	void (*bad_cmd)(void *, const void *, int);
};
struct old_stats {
	uint64_t commands, responses, bad_commands, syscalls;
};

int ioregion_dev_create(struct ioregion_dev **devp, const struct old_ops *ops,
			void *opaque, int engine, unsigned int flags);
void ioregion_dev_stats(const struct ioregion_dev *dev, struct old_stats *stats);
void ioregion_dev_destroy(struct ioregion_dev *dev);
__asm__(".symver ioregion_dev_create,ioregion_dev_create@LIBIOREGION_0.1");
__asm__(".symver ioregion_dev_stats,ioregion_dev_stats@LIBIOREGION_0.1");

static uint64_t rd(void *o, uint64_t ud, uint64_t off, unsigned int size)
{
	return 0;
}

static void wr(void *o, uint64_t ud, uint64_t off, unsigned int size, uint64_t data)
{
}

int main(void)
{
	struct old_ops ops = { rd, wr, NULL };
	struct old_stats st = { 9, 9, 9, 9 };
	struct ioregion_dev *dev;
	int ok1, ok2, ok3;

	printf("TAP version 13\n1..3\n");
	ok1 = ioregion_dev_create(&dev, &ops, NULL, 1 /* io_uring */, 0) == 0;
	printf("%sok 1 0.1 ioregion_dev_create(engine, flags) creates a device\n",
	       ok1 ? "" : "not ");
	ok2 = ioregion_dev_create(&dev, &ops, NULL, 1, 2) == -EINVAL;
	printf("%sok 2 0.1 ioregion_dev_create() refuses an unknown flag\n", ok2 ? "" : "not ");
	if (ok1)
		ioregion_dev_stats(dev, &st);
	ok3 = ok1 && !st.commands && !st.responses && !st.bad_commands && !st.syscalls;
	printf("%sok 3 0.1 ioregion_dev_stats() fills four counters\n", ok3 ? "" : "not ");
	return !(ok1 && ok2 && ok3);
}
