// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * ioregion_check_cmd(): one test per malformed command, each expecting its
 * specific error, and the well-formed commands KVM does send accepted.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "libioregion.h"
#include "tap.h"

static uint64_t rd(void *o, uint64_t ud, uint64_t off, unsigned int size)
{
	return 0;
}

static void wr(void *o, uint64_t ud, uint64_t off, unsigned int size,
	       uint64_t data)
{
}

static const struct ioregion_ops ops = { .read = rd, .write = wr };

static struct ioregionfd_cmd read4(uint64_t ud, uint64_t offset)
{
	return (struct ioregionfd_cmd){
		.op = IOREGIONFD_CMD_READ, .size = 4,
		.flags = IOREGIONFD_CMD_RESPONSE, .tag = 7,
		.user_data = ud, .offset = offset,
	};
}

/*
 * The opts convention: a caller built against an older, smaller struct
 * gets the defaults of what it lacks; one built against a newer header
 * may only leave the fields this library does not know at zero.
 */
static void growable(void)
{
	struct newer_opts {
		struct ioregion_dev_opts known;
		uint64_t future;
	} newer = { .known = { .sz = sizeof(newer), .flags = IOREGION_F_BUSY_POLL } };
	struct newer_stats {
		struct ioregion_stats known;
		uint64_t future;
	} big = { .known = { .sz = sizeof(big) }, .future = 99 };
	struct ioregion_stats small;
	IOREGION_DEV_OPTS(older, .engine = 7);
	IOREGION_STATS(st);
	struct ioregion_dev *dev;

	tap_expect(ioregion_dev_create(&dev, &ops, NULL, &newer.known), 0,
		   "opts from a newer header, its new field zero");
	ioregion_dev_destroy(dev);
	newer.future = 1;
	tap_expect(ioregion_dev_create(&dev, &ops, NULL, &newer.known), -EINVAL,
		   "opts from a newer header with a field this library does not know");
	older.sz = offsetof(struct ioregion_dev_opts, engine);
	tap_expect(ioregion_dev_create(&dev, &ops, NULL, &older), 0,
		   "opts from an older header: the engine past its size is not read");
	ioregion_dev_destroy(dev);
	older.sz = 0;
	tap_expect(ioregion_dev_create(&dev, &ops, NULL, &older), -EINVAL,
		   "opts without a size");

	tap_expect(ioregion_dev_create(&dev, &ops, NULL, NULL), 0, "a device to count");
	st.commands = 5;
	tap_expect(ioregion_dev_stats(dev, &st), 0, "stats");
	tap_ok(st.sz == sizeof(st) && !st.commands && !st.syscalls, "stats of a new device");
	tap_expect(ioregion_dev_stats(dev, &big.known), 0, "stats into a newer, bigger struct");
	tap_ok(big.known.sz == sizeof(big) && big.future == 0,
	       "what this library does not know is zeroed");
	memset(&small, 0xa5, sizeof(small));
	small.sz = offsetof(struct ioregion_stats, responses);
	tap_expect(ioregion_dev_stats(dev, &small), 0, "stats into an older, smaller struct");
	tap_ok(small.commands == 0 && small.responses == 0xa5a5a5a5a5a5a5a5ull,
	       "nothing written past the caller's size");
	small.sz = 0;
	tap_expect(ioregion_dev_stats(dev, &small), -EINVAL, "stats without a size");
	tap_expect(ioregion_dev_stats(NULL, &st), -EINVAL, "stats without a device");
	ioregion_dev_destroy(dev);
}

int main(void)
{
	struct ioregion_region mmio = { .user_data = 1, .size = 0x100 };
	struct ioregion_region bell = { .user_data = 2, .size = 0 };
	IOREGION_DEV_OPTS(bad_engine, .engine = 7);
	IOREGION_DEV_OPTS(bad_flags, .flags = 2);
	struct ioregion_dev *dev;
	struct ioregionfd_cmd c;

	tap_expect(ioregion_dev_create(&dev, &ops, NULL, NULL), 0,
		   "create a device");
	tap_expect(ioregion_dev_add_region(dev, &mmio), 0, "add an MMIO region");
	tap_expect(ioregion_dev_add_region(dev, &bell), 0, "add a doorbell");
	tap_expect(ioregion_dev_add_region(dev, &mmio), -EEXIST, "add a region twice");

	c = read4(1, 0);
	tap_expect(ioregion_check_cmd(dev, &c), 0, "4-byte read at 0");
	c = read4(1, 0xfc);
	tap_expect(ioregion_check_cmd(dev, &c), 0, "4-byte read at the last register");
	c = read4(1, 0);
	c.op = IOREGIONFD_CMD_WRITE;
	c.data = 0xffffffff;
	tap_expect(ioregion_check_cmd(dev, &c), 0, "synchronous 4-byte write of all ones");
	c.flags = 0;
	tap_expect(ioregion_check_cmd(dev, &c), 0, "posted 4-byte write");
	c = (struct ioregionfd_cmd){ .op = IOREGIONFD_CMD_WRITE, .user_data = 2 };
	tap_expect(ioregion_check_cmd(dev, &c), 0, "doorbell write of size 0");
	c = read4(2, 0);
	c.op = IOREGIONFD_CMD_WRITE;
	c.flags = 0;
	c.data = 0xb0b0;
	tap_expect(ioregion_check_cmd(dev, &c), 0, "decoded 4-byte doorbell write with data");

	c = (struct ioregionfd_cmd){ .op = IOREGIONFD_CMD_FENCE,
				     .flags = IOREGIONFD_CMD_RESPONSE, .tag = 9 };
	tap_expect(ioregion_check_cmd(dev, &c), 0, "fence");
	c.flags = 0;
	tap_expect(ioregion_check_cmd(dev, &c), -EPROTO, "fence that wants no response");
	c.flags = IOREGIONFD_CMD_RESPONSE;
	c.size = 4;
	tap_expect(ioregion_check_cmd(dev, &c), -EPROTO, "fence with a size");
	c.size = 0;
	c.user_data = 1;
	tap_expect(ioregion_check_cmd(dev, &c), -EPROTO, "fence with user_data");
	c.user_data = 0;
	c.offset = 8;
	tap_expect(ioregion_check_cmd(dev, &c), -EPROTO, "fence with an offset");
	c.offset = 0;
	c.data = 1;
	tap_expect(ioregion_check_cmd(dev, &c), -EPROTO, "fence with data");
	c = read4(1, 0);
	c.op = 3;
	tap_expect(ioregion_check_cmd(dev, &c), -EOPNOTSUPP, "unknown op 3");
	c = read4(1, 0);
	c.flags |= 0x80;
	tap_expect(ioregion_check_cmd(dev, &c), -EPROTO, "unknown flag 0x80");
	c = read4(1, 0);
	c.reserved = 1;
	tap_expect(ioregion_check_cmd(dev, &c), -EBADMSG, "non-zero reserved byte");
	c = read4(1, 0);
	c.size = 3;
	tap_expect(ioregion_check_cmd(dev, &c), -EINVAL, "size 3");
	c.size = 16;
	tap_expect(ioregion_check_cmd(dev, &c), -EINVAL, "size 16");
	c = read4(1, 0);
	c.flags = 0;
	tap_expect(ioregion_check_cmd(dev, &c), -EPROTO, "read that wants no response");
	c = read4(1, 0);
	c.size = 0;
	tap_expect(ioregion_check_cmd(dev, &c), -EPROTO, "read of size 0");
	c = (struct ioregionfd_cmd){ .op = IOREGIONFD_CMD_WRITE, .user_data = 2,
				     .flags = IOREGIONFD_CMD_RESPONSE };
	tap_expect(ioregion_check_cmd(dev, &c), -EPROTO, "doorbell that wants a response");
	c = read4(1, 0);
	c.data = 5;
	tap_expect(ioregion_check_cmd(dev, &c), -EOVERFLOW, "read with data");
	c = read4(1, 0);
	c.op = IOREGIONFD_CMD_WRITE;
	c.size = 2;
	c.data = 0x10000;
	tap_expect(ioregion_check_cmd(dev, &c), -EOVERFLOW, "2-byte write of 0x10000");
	c = read4(3, 0);
	tap_expect(ioregion_check_cmd(dev, &c), -ENOENT, "unknown user_data");
	c = read4(1, 0xfd);
	tap_expect(ioregion_check_cmd(dev, &c), -ERANGE, "read past the region's end");
	c = read4(1, 0x100);
	tap_expect(ioregion_check_cmd(dev, &c), -ERANGE, "read at the region's size");
	c = read4(1, ~0ull - 1);
	tap_expect(ioregion_check_cmd(dev, &c), -ERANGE, "offset that wraps around");
	c = (struct ioregionfd_cmd){ .op = IOREGIONFD_CMD_WRITE, .user_data = 2,
				     .offset = 4 };
	tap_expect(ioregion_check_cmd(dev, &c), -ERANGE, "doorbell at offset 4");
	c = read4(2, 0);
	tap_expect(ioregion_check_cmd(dev, &c), -ERANGE, "read of a doorbell");
	c = (struct ioregionfd_cmd){ .op = IOREGIONFD_CMD_WRITE, .user_data = 1 };
	tap_expect(ioregion_check_cmd(dev, &c), -ERANGE, "size 0 on a region with a size");
	c = read4(3, 0);
	tap_expect(ioregion_check_cmd(NULL, &c), 0, "no device: the wire format only");
	ioregion_dev_destroy(dev);

	tap_expect(ioregion_dev_create(&dev, NULL, NULL, NULL), -EINVAL,
		   "create without callbacks");
	tap_expect(ioregion_dev_create(&dev, &ops, NULL, &bad_engine), -EINVAL,
		   "create with an unknown engine");
	tap_expect(ioregion_dev_create(&dev, &ops, NULL, &bad_flags), -EINVAL,
		   "create with an unknown flag");
	growable();
	return tap_done();
}
