// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * ioregion_check_cmd(): one test per malformed command, each expecting its
 * specific error, and the well-formed commands KVM does send accepted.
 */
#include <errno.h>

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

int main(void)
{
	struct ioregion_region mmio = { .user_data = 1, .size = 0x100 };
	struct ioregion_region bell = { .user_data = 2, .size = 0 };
	struct ioregion_dev *dev;
	struct ioregionfd_cmd c;

	tap_expect(ioregion_dev_create(&dev, &ops, NULL, IOREGION_ENGINE_RECV, 0), 0,
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

	tap_expect(ioregion_dev_create(&dev, NULL, NULL, IOREGION_ENGINE_RECV, 0), -EINVAL,
		   "create without callbacks");
	tap_expect(ioregion_dev_create(&dev, &ops, NULL, 7, 0), -EINVAL,
		   "create with an unknown engine");
	tap_expect(ioregion_dev_create(&dev, &ops, NULL, IOREGION_ENGINE_RECV, 2), -EINVAL,
		   "create with an unknown flag");
	return tap_done();
}
