// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ioregionfd uAPI is a wire format and an ioctl ABI: the offsets and
 * sizes here are what Documentation/virt/kvm/ioregionfd.rst promises.
 * Built against the installed uAPI headers; prints TAP.
 */
#include <stddef.h>
#include <stdio.h>
#include <linux/ioregion.h>
#include <linux/kvm.h>

static int n, failed;

#define CHECK(cond) do { \
	n++; \
	if (cond) { printf("ok %d %s\n", n, #cond); } \
	else { printf("not ok %d %s\n", n, #cond); failed++; } \
} while (0)

int main(void)
{
	printf("TAP version 13\n1..37\n");
	CHECK(sizeof(struct ioregionfd_cmd) == 32);
	CHECK(offsetof(struct ioregionfd_cmd, op) == 0);
	CHECK(offsetof(struct ioregionfd_cmd, size) == 1);
	CHECK(offsetof(struct ioregionfd_cmd, flags) == 2);
	CHECK(offsetof(struct ioregionfd_cmd, reserved) == 3);
	CHECK(offsetof(struct ioregionfd_cmd, tag) == 4);
	CHECK(offsetof(struct ioregionfd_cmd, user_data) == 8);
	CHECK(offsetof(struct ioregionfd_cmd, offset) == 16);
	CHECK(offsetof(struct ioregionfd_cmd, data) == 24);
	CHECK(sizeof(struct ioregionfd_resp) == 32);
	CHECK(offsetof(struct ioregionfd_resp, data) == 0);
	CHECK(offsetof(struct ioregionfd_resp, tag) == 8);
	CHECK(offsetof(struct ioregionfd_resp, flags) == 12);
	CHECK(offsetof(struct ioregionfd_resp, reserved) == 16);
	CHECK(sizeof(struct kvm_ioregion) == 72);
	CHECK(offsetof(struct kvm_ioregion, guest_paddr) == 0);
	CHECK(offsetof(struct kvm_ioregion, memory_size) == 8);
	CHECK(offsetof(struct kvm_ioregion, user_data) == 16);
	CHECK(offsetof(struct kvm_ioregion, read_fd) == 24);
	CHECK(offsetof(struct kvm_ioregion, write_fd) == 28);
	CHECK(offsetof(struct kvm_ioregion, flags) == 32);
	CHECK(offsetof(struct kvm_ioregion, timeout_ms) == 36);
	CHECK(offsetof(struct kvm_ioregion, group_fd) == 40);
	CHECK(offsetof(struct kvm_ioregion, pad1) == 44);
	CHECK(offsetof(struct kvm_ioregion, shadow_offset) == 48);
	CHECK(offsetof(struct kvm_ioregion, pad) == 56);
	CHECK(KVM_IOREGION_GROUP == 8);
	CHECK(IOREGIONFD_CMD_FENCE == 2);
	CHECK(sizeof(struct kvm_ioregion_group) == 32);
	CHECK(offsetof(struct kvm_ioregion_group, flags) == 8);
	CHECK(KVM_CREATE_IOREGION_GROUP == 0x4020aed7);
	CHECK(KVM_SET_IOREGION == 0x4048aed6);
	CHECK(KVM_EXIT_IOREGIONFD_FAILURE == 44);
	CHECK(KVM_CAP_IOREGIONFD == 252);
	CHECK(offsetof(struct kvm_run, ioregionfd_failure.addr) == 32);
	CHECK(offsetof(struct kvm_run, ioregionfd_failure.len) == 56);
	CHECK(offsetof(struct kvm_run, ioregionfd_failure.reason) == 64);
	CHECK(sizeof(((struct kvm_run *)0)->ioregionfd_failure) == 40);
	return failed ? 1 : 0;
}
