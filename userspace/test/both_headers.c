// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * A program may include both <libioregion.h> and the kernel's installed
 * <linux/ioregion.h>, in either order (-DKERNEL_FIRST): the library's copy
 * of the uAPI header is the installed one, include guard and all.
 */
#ifdef KERNEL_FIRST
#include <linux/ioregion.h>
#include <libioregion.h>
#define ORDER "<linux/ioregion.h>, then <libioregion.h>"
#else
#include <libioregion.h>
#include <linux/ioregion.h>
#define ORDER "<libioregion.h>, then <linux/ioregion.h>"
#endif
#include <stdio.h>

int main(void)
{
	printf("ok 1 %s (a %zu-byte command)\n1..1\n", ORDER,
	       sizeof(struct ioregionfd_cmd));
	return 0;
}
