// SPDX-License-Identifier: GPL-2.0-only
/*
 * Registration racing the data path: a vCPU loads from and posts to an
 * address while the VMM assigns, deassigns and re-assigns a region there,
 * as a guest that probes a BAR while the VMM moves it.  Every access must
 * either reach the device or exit to the VMM as KVM_EXIT_MMIO; none may
 * find a half-registered region.
 *
 * One vCPU: with two, the test machine (nested SVM under QEMU TCG) triple
 * faults the guest now and then under this storm of MMIO exits, also with
 * no ioregion in the VM at all, which is a problem of the test machine to
 * be found separately, not of what this test checks.
 */
#include <signal.h>

#include "ioregionfd_util.h"
#include "kselftest.h"
#include "processor.h"

#define GPA		0xc0000000ull
#define NR_VCPUS	1
#define ROUNDS		500

static void guest_hammer(void)
{
	for (;;) {
		WRITE_ONCE(*(uint32_t *)(GPA + 8), 1);
		GUEST_ASSERT_EQ(READ_ONCE(*(uint32_t *)GPA), 0x5a);
	}
}

static bool stop;
static uint64_t exits[NR_VCPUS], device_cmds;

static void on_signal(int sig)
{
}

/* Runs a vCPU, answering the accesses no region took, until stopped. */
static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct kvm_run *run = vcpu->run;
	int ret;

	while (!READ_ONCE(stop)) {
		ret = __vcpu_run(vcpu);
		if (ret == -1 && errno == EINTR)
			continue;
		TEST_ASSERT(!ret, "KVM_RUN: %s", strerror(errno));
		if (run->exit_reason == KVM_EXIT_IOREGIONFD_FAILURE) {
			/* A region deassigned under a waiting vCPU: GONE. */
			TEST_ASSERT(run->ioregionfd_failure.reason ==
				    KVM_IOREGIONFD_FAIL_GONE,
				    "failure reason %u error %d",
				    run->ioregionfd_failure.reason,
				    run->ioregionfd_failure.error);
			run->ioregionfd_failure.data = 0x5a;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO) {
			ioregionfd_expect_done(vcpu);	/* reports the assertion */
			break;
		}
		if (run->exit_reason != KVM_EXIT_MMIO) {
			struct kvm_regs regs;

			vcpu_regs_get(vcpu, &regs);
			TEST_FAIL("vCPU %u: exit %s at rip 0x%llx rsp 0x%llx, after %lu exits",
				  vcpu->id, exit_reason_str(run->exit_reason),
				  regs.rip, regs.rsp, exits[vcpu->id]);
		}
		if (!run->mmio.is_write)
			memcpy(run->mmio.data, "\x5a\0\0\0", 4);
		exits[vcpu->id]++;
	}
	return NULL;
}

/* The device: answers every read with 0x5a. */
static void *device_thread(void *arg)
{
	int fd = *(int *)arg;
	struct ioregionfd_cmd cmd;

	while (ioregionfd_read_full(fd, &cmd, sizeof(cmd))) {
		device_cmds++;
		if (cmd.flags & IOREGIONFD_CMD_RESPONSE)
			ioregionfd_reply(fd, &cmd, 0x5a);
	}
	return NULL;
}

int main(int argc, char *argv[])
{
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_t vcpu_threads[NR_VCPUS], dev;
	struct kvm_vcpu *vcpus[NR_VCPUS];
	struct kvm_ioregion r, d;
	struct kvm_vm *vm;
	int i, n, sv[2];

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_IOREGIONFD));
	ksft_print_header();
	ksft_set_plan(1);

	vm = vm_create_with_vcpus(NR_VCPUS, guest_hammer, vcpus);
	virt_map(vm, GPA, GPA, 1);
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	sigaction(SIGUSR1, &sa, NULL);
	pthread_create(&dev, NULL, device_thread, &sv[1]);
	for (i = 0; i < NR_VCPUS; i++)
		pthread_create(&vcpu_threads[i], NULL, vcpu_thread, vcpus[i]);

	/*
	 * Another region keeps the socket's channel alive, as the device's
	 * other BARs would: removing a channel's last region would fail the
	 * accesses waiting on it, and the device's late answers to them would
	 * then reach the next channel on the socket as unknown tags.
	 */
	kvm_ioregion_set(vm, ioregion(GPA + 0x10000, 8, sv[0], sv[0], 0));
	r = ioregion(GPA, 0x1000, sv[0], sv[0], KVM_IOREGION_POSTED_WRITES);
	d = r;
	d.flags |= KVM_IOREGION_DEASSIGN;
	for (n = 0; n < ROUNDS; n++) {
		kvm_set_ioregion(vm, &r);
		/* Re-assigning the same files is a move that changes nothing. */
		kvm_set_ioregion(vm, &r);
		kvm_set_ioregion(vm, &d);
	}

	WRITE_ONCE(stop, true);
	for (i = 0; i < NR_VCPUS; i++) {
		pthread_kill(vcpu_threads[i], SIGUSR1);
		pthread_join(vcpu_threads[i], NULL);
	}
	kvm_vm_free(vm);
	close(sv[0]);
	pthread_join(dev, NULL);
	close(sv[1]);
	for (i = 0, n = 0; i < NR_VCPUS; i++)
		n += exits[i];
	ksft_test_result(device_cmds && n,
			 "%d assign/move/deassign rounds under %d vCPU: %lu device commands, %lu exits to the VMM\n",
			 ROUNDS, NR_VCPUS, device_cmds, (uint64_t)n);
	ksft_finished();
}
