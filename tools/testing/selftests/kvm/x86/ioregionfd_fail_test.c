// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioregionfd failure semantics: a signal storm during synchronous reads
 * (every access exactly once), a device process killed in the middle of
 * reads and of posted writes, a device that never answers (timeout), regions
 * deassigned and sockets closed while vCPUs wait, a memslot update while a
 * vCPU waits on a stalled device, and a VM destroyed while its vCPUs wait.
 * Each failure must end in KVM_EXIT_IOREGIONFD_FAILURE with the right
 * fields, after which the VMM emulates the access and the guest continues.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "ioregionfd_util.h"
#include "kselftest.h"
#include "processor.h"

#define GPA		0xc0000000ull
#define SLOT_GPA	0x100000000ull
#define UD		0x1234
#define CALIBRATE	500
/* Generous for a nested TCG guest; a memslot update takes a few ms. */
#define MEMSLOT_BOUND_NS (2000ull * 1000 * 1000)

static uint64_t nr_reads;
static uint64_t sync_at = ~0ull;	/* guest_reads() stops here once */

/* Reads of a counter: the device answers read n with n. */
static void guest_reads(void)
{
	uint64_t i;

	for (i = 0; i < nr_reads; i++) {
		if (i == sync_at)
			GUEST_SYNC(i);
		GUEST_ASSERT_EQ(READ_ONCE(*(uint32_t *)GPA), (uint32_t)i);
	}
	GUEST_DONE();
}

/* Posted writes of a counter, then one read. */
static void guest_writes(void)
{
	uint64_t i;

	for (i = 0; i < nr_reads; i++)
		WRITE_ONCE(*(uint64_t *)(GPA + 8), i);
	GUEST_ASSERT_EQ(READ_ONCE(*(uint32_t *)GPA), 0xfeed);
	GUEST_DONE();
}

/* One read, whose value the VMM supplies after the failure. */
static void guest_one_read(void)
{
	GUEST_ASSERT_EQ(READ_ONCE(*(uint32_t *)GPA), 0xdead);
	GUEST_DONE();
}

/* Answer reads with a counter; stop after @limit commands (0: never). */
static void serve_counter(int fd, uint64_t limit, uint64_t *served)
{
	struct ioregionfd_cmd cmd;
	uint64_t n = 0, reads = 0;

	while ((!limit || n < limit) && ioregionfd_read_full(fd, &cmd, sizeof(cmd))) {
		n++;
		if (cmd.flags & IOREGIONFD_CMD_RESPONSE)
			ioregionfd_reply(fd, &cmd, reads++);
	}
	if (served)
		*served = reads;
}

struct counter_dev {
	int fd;
	uint64_t served;
	pthread_t thread;
};

static void *counter_thread(void *arg)
{
	struct counter_dev *d = arg;

	serve_counter(d->fd, 0, &d->served);
	return NULL;
}

static struct kvm_vm *setup(struct kvm_vcpu **vcpu, void *guest, int *sv,
			    uint32_t timeout_ms, uint32_t flags)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest);
	struct kvm_ioregion r;

	virt_map(vm, GPA, GPA, 1);
	sync_global_to_guest(vm, nr_reads);
	sync_global_to_guest(vm, sync_at);
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	r = ioregion(GPA, 0x1000, sv[0], sv[0], flags);
	r.user_data = UD;
	r.timeout_ms = timeout_ms;
	kvm_set_ioregion(vm, &r);
	return vm;
}

static bool is_failure(struct kvm_vcpu *vcpu, uint32_t reason, bool is_write)
{
	struct kvm_run *run = vcpu->run;

	if (run->exit_reason != KVM_EXIT_IOREGIONFD_FAILURE) {
		ksft_print_msg("exit %s, not KVM_EXIT_IOREGIONFD_FAILURE\n",
			       exit_reason_str(run->exit_reason));
		return false;
	}
	if (run->ioregionfd_failure.reason != reason ||
	    run->ioregionfd_failure.is_write != is_write ||
	    run->ioregionfd_failure.user_data != UD ||
	    run->ioregionfd_failure.pio ||
	    run->ioregionfd_failure.len != (is_write ? 8 : 4) ||
	    run->ioregionfd_failure.addr != GPA + (is_write ? 8 : 0)) {
		ksft_print_msg("reason %u error %d addr 0x%llx len %u write %u ud 0x%llx\n",
			       run->ioregionfd_failure.reason, run->ioregionfd_failure.error,
			       run->ioregionfd_failure.addr, run->ioregionfd_failure.len,
			       run->ioregionfd_failure.is_write,
			       run->ioregionfd_failure.user_data);
		return false;
	}
	return true;
}

static void on_signal(int sig)
{
}

static void test_signal_storm(void)
{
	struct itimerspec its = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID,
				.sigev_signo = SIGALRM };
	struct counter_dev d = { 0 };
	timer_t timer;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	sigset_t set;
	uint64_t eintr = 0, t0, period;
	int sv[2];

	nr_reads = 100000;
	sync_at = CALIBRATE;
	vm = setup(&vcpu, guest_reads, sv, 0, 0);
	sync_at = ~0ull;
	d.fd = sv[1];
	/* Only the vCPU thread takes the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_create(&d.thread, NULL, counter_thread, &d);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	/*
	 * A signal every few hundred microseconds on hardware; under
	 * emulation one KVM_RUN can take longer than that, so never signal
	 * faster than three accesses take here, or no KVM_RUN could finish one.
	 */
	t0 = ioregionfd_now_ns();
	TEST_ASSERT(!ioregionfd_run(vcpu, &eintr) &&
		    get_ucall(vcpu, NULL) == UCALL_SYNC, "calibration run: %s",
		    exit_reason_str(vcpu->run->exit_reason));
	period = max(300000ul, 3 * (ioregionfd_now_ns() - t0) / CALIBRATE);
	sigaction(SIGALRM, &sa, NULL);
	sev._sigev_un._tid = syscall(SYS_gettid);
	TEST_ASSERT(!timer_create(CLOCK_MONOTONIC, &sev, &timer), "timer_create");
	its.it_value.tv_nsec = period;
	its.it_interval.tv_nsec = period;
	timer_settime(timer, 0, &its, NULL);

	TEST_ASSERT(!ioregionfd_run(vcpu, &eintr), "KVM_RUN: %s", strerror(errno));

	timer_delete(timer);
	ioregionfd_expect_done(vcpu);
	kvm_vm_free(vm);
	close(sv[0]);
	pthread_join(d.thread, NULL);
	close(sv[1]);
	ksft_test_result(d.served == nr_reads && eintr > 0,
			 "signal storm: %lu reads once each, in order; signal every %lu us, %lu -EINTR\n",
			 d.served, period / 1000, eintr);
}

/*
 * A device process that serves @limit commands and dies.  The VMM emulates
 * every access that fails from then on.
 */
static void test_killed(bool writes)
{
	uint64_t *died_ns, latency = 0, failures = 0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool ok = true, is_write;
	pid_t pid;
	int sv[2];

	died_ns = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(died_ns != MAP_FAILED, "mmap");
	nr_reads = 2000;
	vm = setup(&vcpu, writes ? guest_writes : guest_reads, sv, 0,
		   writes ? KVM_IOREGION_POSTED_WRITES : 0);
	pid = fork();
	if (!pid) {
		close(sv[0]);
		serve_counter(sv[1], nr_reads / 2, NULL);
		*died_ns = ioregionfd_now_ns();
		_exit(0);
	}
	close(sv[1]);

	for (;;) {
		TEST_ASSERT(!ioregionfd_run(vcpu, NULL), "KVM_RUN: %s", strerror(errno));
		if (vcpu->run->exit_reason != KVM_EXIT_IOREGIONFD_FAILURE)
			break;
		if (!failures) {
			latency = ioregionfd_now_ns() - *died_ns;
			waitpid(pid, NULL, 0);
		}
		/* Reads fail and come back to us; so may writes, or the final read. */
		is_write = vcpu->run->ioregionfd_failure.is_write;
		if (!is_failure(vcpu, KVM_IOREGIONFD_FAIL_PEER_CLOSED, is_write))
			ok = false;
		if (!is_write)
			vcpu->run->ioregionfd_failure.data = writes ? 0xfeed :
							     nr_reads / 2 + failures;
		failures++;
	}
	ioregionfd_expect_done(vcpu);
	kvm_vm_free(vm);
	close(sv[0]);
	ksft_test_result(ok && failures,
			 "device died in %s: %lu failure exits emulated, first %lu us after the death\n",
			 writes ? "posted writes" : "reads", failures, latency / 1000);
	munmap(died_ns, 4096);
}

static void *stalled_device(void *arg)
{
	struct ioregionfd_cmd cmd;
	int fd = *(int *)arg;

	/* Take commands and never answer, until KVM closes the channel. */
	while (ioregionfd_read_full(fd, &cmd, sizeof(cmd)))
		;
	return NULL;
}

static void test_timeout(void)
{
	const uint32_t timeout_ms = 300;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_t dev;
	uint64_t t0, dt;
	int sv[2];

	vm = setup(&vcpu, guest_one_read, sv, timeout_ms, 0);
	pthread_create(&dev, NULL, stalled_device, &sv[1]);
	t0 = ioregionfd_now_ns();
	ioregionfd_run(vcpu, NULL);
	dt = ioregionfd_now_ns() - t0;
	ksft_test_result(is_failure(vcpu, KVM_IOREGIONFD_FAIL_TIMEOUT, false) &&
			 vcpu->run->ioregionfd_failure.error == ETIMEDOUT &&
			 dt >= timeout_ms * 1000000ull,
			 "timeout_ms %u: failure exit after %lu ms\n", timeout_ms, dt / 1000000);
	vcpu->run->ioregionfd_failure.data = 0xdead;
	vcpu_run(vcpu);
	ioregionfd_expect_done(vcpu);
	kvm_vm_free(vm);
	close(sv[0]);
	pthread_join(dev, NULL);
	close(sv[1]);
}

struct waiter {
	struct kvm_vcpu *vcpu;
	uint64_t woke_ns;
	pthread_t thread;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	ioregionfd_run(w->vcpu, NULL);
	w->woke_ns = ioregionfd_now_ns();
	return NULL;
}

/* Two vCPUs, each in a read of the region on @sv[0], which nobody answers. */
static struct kvm_vm *start_waiters(struct kvm_vcpu **vcpus, struct waiter *w,
				    int *sv)
{
	struct kvm_ioregion r;
	struct kvm_vm *vm;
	int i;

	vm = vm_create_with_vcpus(2, guest_one_read, vcpus);
	virt_map(vm, GPA, GPA, 1);
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	r = ioregion(GPA, 0x1000, sv[0], sv[0], 0);
	r.user_data = UD;
	kvm_set_ioregion(vm, &r);
	for (i = 0; i < 2; i++) {
		w[i] = (struct waiter){ .vcpu = vcpus[i] };
		pthread_create(&w[i].thread, NULL, wait_thread, &w[i]);
	}
	ioregionfd_wait_queued(sv[1], 2);
	return vm;
}

/* Both waiters fail with @reason; the VMM emulates, both guests finish. */
static bool finish_waiters(struct kvm_vcpu **vcpus, struct waiter *w,
			   uint32_t reason)
{
	bool ok = true;
	int i;

	for (i = 0; i < 2; i++) {
		pthread_join(w[i].thread, NULL);
		ok &= is_failure(vcpus[i], reason, false);
		vcpus[i]->run->ioregionfd_failure.data = 0xdead;
		vcpu_run(vcpus[i]);
		ioregionfd_expect_done(vcpus[i]);
	}
	return ok;
}

/* Two vCPUs wait on a stalled device; the VMM updates a memslot, then deassigns. */
static void test_deassign_while_waiting(void)
{
	struct kvm_vcpu *vcpus[2];
	struct kvm_ioregion r;
	struct waiter w[2];
	struct kvm_vm *vm;
	pthread_t dev;
	uint64_t t0, slot_ns;
	bool ok = true;
	int sv[2];

	vm = start_waiters(vcpus, w, sv);
	pthread_create(&dev, NULL, stalled_device, &sv[1]);

	/* The control plane must not wait for the device. */
	t0 = ioregionfd_now_ns();
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, SLOT_GPA, 10, 16, 0);
	slot_ns = ioregionfd_now_ns() - t0;
	if (slot_ns > MEMSLOT_BOUND_NS) {
		ksft_print_msg("memslot update took %lu us, over %llu us\n",
			       slot_ns / 1000, MEMSLOT_BOUND_NS / 1000);
		ok = false;
	}
	ok &= !w[0].woke_ns && !w[1].woke_ns;

	t0 = ioregionfd_now_ns();
	r = ioregion(GPA, 0x1000, -1, -1, KVM_IOREGION_DEASSIGN);
	kvm_set_ioregion(vm, &r);
	ok &= finish_waiters(vcpus, w, KVM_IOREGIONFD_FAIL_GONE);
	ksft_test_result(ok,
			 "memslot added in %lu us while 2 vCPUs waited; deassign woke both in %lu us\n",
			 slot_ns / 1000, (ioregionfd_now_ns() - t0) / 1000);
	kvm_vm_free(vm);
	close(sv[0]);
	pthread_join(dev, NULL);
	close(sv[1]);
}

/*
 * Two vCPUs wait on a device that takes no commands.  The VMM closing its
 * own descriptors changes nothing (KVM holds the files); the device closing
 * its end wakes both with a failure exit.
 */
static void test_close_while_waiting(void)
{
	struct kvm_vcpu *vcpus[2];
	struct waiter w[2];
	struct kvm_vm *vm;
	uint64_t t0;
	bool ok = true;
	int sv[2];

	vm = start_waiters(vcpus, w, sv);
	close(sv[0]);
	/* KVM's reference keeps the socket connected: no hang-up to see. */
	ok &= poll(&(struct pollfd){ .fd = sv[1], .events = POLLRDHUP }, 1, 0) == 0;
	ok &= !w[0].woke_ns && !w[1].woke_ns;

	t0 = ioregionfd_now_ns();
	close(sv[1]);
	ok &= finish_waiters(vcpus, w, KVM_IOREGIONFD_FAIL_PEER_CLOSED);
	ksft_test_result(ok, "device closed its socket under 2 waiting vCPUs: exits in %lu us\n",
			 (ioregionfd_now_ns() - t0) / 1000);
	kvm_vm_free(vm);
}

static int left_run_fd;	/* a vCPU thread writes here when KVM_RUN returns */

static void *run_once_then_pause(void *arg)
{
	struct kvm_vcpu *vcpu = arg;

	/* Leave the access interrupted: do not call KVM_RUN again. */
	__vcpu_run(vcpu);
	TEST_ASSERT(write(left_run_fd, "i", 1) == 1, "left KVM_RUN");
	pause();
	return NULL;
}

/*
 * A process with two vCPUs waiting on a stalled device, one of them left
 * interrupted by a signal in the middle of its access, is killed: the VM
 * must go away promptly and let go of the socket.
 */
static void test_destroy_while_waiting(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct kvm_vcpu *vcpus[2];
	struct kvm_ioregion r;
	pthread_t threads[2];
	struct kvm_vm *vm;
	uint64_t t0, dt;
	int i, sv[2], ready[2], go[2], status;
	bool eof;
	pid_t pid;
	char c;

	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv) && !pipe(ready) &&
		    !pipe(go), "setup");
	pid = fork();
	if (!pid) {
		close(sv[1]);
		sigaction(SIGUSR1, &sa, NULL);
		vm = vm_create_with_vcpus(2, guest_one_read, vcpus);
		virt_map(vm, GPA, GPA, 1);
		r = ioregion(GPA, 0x1000, sv[0], sv[0], 0);
		kvm_set_ioregion(vm, &r);
		left_run_fd = ready[1];
		for (i = 0; i < 2; i++)
			pthread_create(&threads[i], NULL, run_once_then_pause, vcpus[i]);
		/* Both vCPUs' commands are queued: interrupt the first. */
		TEST_ASSERT(read(go[0], &c, 1) == 1, "go");
		pthread_kill(threads[0], SIGUSR1);
		pause();
		_exit(1);
	}
	close(sv[0]);
	ioregionfd_wait_queued(sv[1], 2);
	TEST_ASSERT(write(go[1], "g", 1) == 1, "go");
	/* The interrupted vCPU is out of KVM_RUN, its access still pending. */
	TEST_ASSERT(read(ready[0], &c, 1) == 1, "child setup");
	t0 = ioregionfd_now_ns();
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	dt = ioregionfd_now_ns() - t0;
	/* Both commands arrived; then nothing holds KVM's end any more. */
	eof = true;
	for (i = 0; i < 2; i++) {
		struct ioregionfd_cmd cmd;

		eof &= ioregionfd_read_full(sv[1], &cmd, sizeof(cmd));
	}
	eof &= poll(&(struct pollfd){ .fd = sv[1], .events = POLLIN }, 1, 10000) == 1 &&
	       !ioregionfd_read_full(sv[1], &c, 1);
	ksft_test_result(WIFSIGNALED(status) && eof,
			 "2 vCPUs waiting (one interrupted), SIGKILL: VM gone in %lu us, socket let go\n",
			 dt / 1000);
	close(sv[1]);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_IOREGIONFD));
	ksft_print_header();
	ksft_set_plan(7);
	test_signal_storm();
	test_killed(false);
	test_killed(true);
	test_timeout();
	test_deassign_while_waiting();
	test_close_while_waiting();
	test_destroy_while_waiting();
	ksft_finished();
}
