/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * ioregionfd wire protocol: what KVM writes to and reads from the file
 * descriptors bound to a guest MMIO/PIO range with KVM_SET_IOREGION.
 * See Documentation/virt/kvm/ioregionfd.rst.
 *
 * Both messages are 32 bytes, in host byte order.  KVM writes one
 * struct ioregionfd_cmd per guest access to the region's socket; for a
 * command with IOREGIONFD_CMD_RESPONSE set, the device writes one
 * struct ioregionfd_resp with the same tag to the socket.  Responses may
 * come in any order, but a device answers a command only once every posted
 * write before it on the same socket is applied.  Reserved fields must be
 * zero.
 *
 * data is the access's size bytes read as a host-endian integer and
 * zero-extended (writes); KVM stores the low size bytes of a response's
 * data as a host-endian integer of that size (reads).
 *
 * A region in an ordering group (KVM_IOREGION_GROUP) may also get
 * IOREGIONFD_CMD_FENCE: nothing to do but answer it, under the same rule,
 * which acknowledges every posted write before it.  The group's shadow, the
 * memory mapped from its file descriptor, is shadow_size bytes of register
 * values followed by shadow_size bytes of access map: map byte N is the OR
 * of the load sizes (1, 2, 4, 8) that KVM may answer from shadow byte N on,
 * without sending a command.
 */
#ifndef _UAPI_LINUX_IOREGION_H
#define _UAPI_LINUX_IOREGION_H

#include <linux/types.h>

/* ioregionfd_cmd.op */
#define IOREGIONFD_CMD_READ	0
#define IOREGIONFD_CMD_WRITE	1
#define IOREGIONFD_CMD_FENCE	2	/* size 0; acknowledge posted writes */

/* ioregionfd_cmd.flags */
#define IOREGIONFD_CMD_RESPONSE	(1 << 0)	/* KVM waits for a response */

struct ioregionfd_cmd {
	__u8  op;		/* IOREGIONFD_CMD_* */
	__u8  size;		/* access size in bytes: 1, 2, 4, 8; 0: doorbell */
	__u8  flags;		/* IOREGIONFD_CMD_* */
	__u8  reserved;		/* zero */
	__u32 tag;		/* per socket sequence number, echoed back */
	__u64 user_data;	/* kvm_ioregion.user_data of the region */
	__u64 offset;		/* from the start of the region */
	__u64 data;		/* writes: the value, zero-extended */
};

struct ioregionfd_resp {
	__u64 data;		/* reads: the value; KVM uses the low size bytes */
	__u32 tag;		/* ioregionfd_cmd.tag of the command answered */
	__u32 flags;		/* zero */
	__u64 reserved[2];	/* zero */
};

#endif /* _UAPI_LINUX_IOREGION_H */
