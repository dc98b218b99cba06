// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * A minimal ioregionfd device: four 32-bit registers - an ID, a scratch
 * register, a counter that counts reads, and a doorbell that logs writes.
 *
 *   minimal_device FD     serve the socket inherited as FD (from the VMM)
 *   minimal_device        self-test: play KVM over a socketpair
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libioregion.h"

enum { REG_ID = 0x0, REG_SCRATCH = 0x4, REG_COUNTER = 0x8, REG_DOORBELL = 0xc };

struct mini {
	uint32_t scratch, counter;
};

static uint64_t mini_read(void *opaque, uint64_t ud, uint64_t off, unsigned int size)
{
	struct mini *m = opaque;

	switch (off) {
	case REG_ID:
		return 0x10e610;
	case REG_SCRATCH:
		return m->scratch;
	case REG_COUNTER:
		return ++m->counter;
	}
	return 0;
}

static void mini_write(void *opaque, uint64_t ud, uint64_t off, unsigned int size,
		       uint64_t data)
{
	struct mini *m = opaque;

	if (off == REG_SCRATCH)
		m->scratch = data;
	else if (off == REG_DOORBELL)
		printf("doorbell: 0x%llx\n", (unsigned long long)data);
}

static const struct ioregion_ops mini_ops = { .read = mini_read, .write = mini_write };

int main(int argc, char **argv)
{
	struct ioregion_region region = { .user_data = 0, .size = 16 };
	struct ioregionfd_cmd cmd = {
		.op = IOREGIONFD_CMD_READ, .size = 4, .flags = IOREGIONFD_CMD_RESPONSE,
		.tag = 1, .offset = REG_ID,
	};
	struct ioregionfd_resp resp;
	struct ioregion_dev *dev;
	struct mini m = { 0 };
	int sv[2], ret;

	if (argc > 1) {
		sv[1] = atoi(argv[1]);
	} else if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		perror("socketpair");
		return 1;
	}
	ret = ioregion_dev_create(&dev, &mini_ops, &m, NULL);
	if (!ret)
		ret = ioregion_dev_add_region(dev, &region);
	if (!ret)
		ret = ioregion_dev_add_fds(dev, sv[1], sv[1]);
	if (ret) {
		fprintf(stderr, "setup: %s\n", strerror(-ret));
		return 1;
	}
	if (argc == 1 && write(sv[0], &cmd, sizeof(cmd)) != sizeof(cmd))
		return 1;
	/* Serve until the VMM (or KVM) closes the socket. */
	while ((ret = ioregion_serve(dev, -1)) >= 0) {
		if (argc == 1 && read(sv[0], &resp, sizeof(resp)) == sizeof(resp)) {
			printf("ID register: 0x%llx\n", (unsigned long long)resp.data);
			close(sv[0]);
		}
	}
	ioregion_dev_destroy(dev);
	return ret == -EPIPE ? 0 : 1;
}
