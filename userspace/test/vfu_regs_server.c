// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * A vfio-user device with what libvfio-user's samples lack: a memory BAR
 * that is not mmappable, so that its writes are posted through ioregionfd.
 * BAR0 (4 KiB, memory) is 512 64-bit registers that read back what was
 * written; the last one counts the writes to the others.  Written to the
 * library's API as a device author would: nothing in it knows ioregionfd.
 *
 *   vfu_regs_server SOCKET_PATH
 */
#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "libvfio-user.h"

#define BAR0_SIZE	0x1000
#define COUNT_OFF	(BAR0_SIZE - 8)

static uint8_t regs[BAR0_SIZE];
static uint64_t writes;

static ssize_t bar0_access(vfu_ctx_t *ctx, char *buf, size_t count,
			   loff_t offset, bool is_write)
{
	if (offset < 0 || count > 8 || offset + count > BAR0_SIZE) {
		errno = EINVAL;
		return -1;
	}
	if (offset >= COUNT_OFF) {
		if (is_write) {
			errno = EINVAL;
			return -1;
		}
		memcpy(buf, (char *)&writes + (offset - COUNT_OFF), count);
		return count;
	}
	if (is_write) {
		memcpy(regs + offset, buf, count);
		writes++;
	} else {
		memcpy(buf, regs + offset, count);
	}
	return count;
}

int main(int argc, char **argv)
{
	vfu_ctx_t *ctx;

	if (argc != 2)
		errx(2, "usage: %s SOCKET_PATH", argv[0]);
	ctx = vfu_create_ctx(VFU_TRANS_SOCK, argv[1], 0, NULL, VFU_DEV_TYPE_PCI);
	if (!ctx)
		err(1, "vfu_create_ctx");
	if (vfu_pci_init(ctx, VFU_PCI_TYPE_CONVENTIONAL, PCI_HEADER_TYPE_NORMAL, 0))
		err(1, "vfu_pci_init");
	vfu_pci_set_id(ctx, 0x1af4, 0x10f0, 0, 0);
	if (vfu_setup_region(ctx, VFU_PCI_DEV_BAR0_REGION_IDX, BAR0_SIZE, bar0_access,
			     VFU_REGION_FLAG_RW | VFU_REGION_FLAG_MEM, NULL, 0, -1, 0))
		err(1, "vfu_setup_region");
	if (vfu_realize_ctx(ctx) || vfu_attach_ctx(ctx))
		err(1, "vfu_realize_ctx/vfu_attach_ctx");
	while (vfu_run_ctx(ctx) >= 0 || errno == EINTR)
		;
	if (errno != ENOTCONN)
		err(1, "vfu_run_ctx");
	vfu_destroy_ctx(ctx);
	return 0;
}
