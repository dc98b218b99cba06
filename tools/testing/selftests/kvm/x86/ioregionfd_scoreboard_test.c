// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ordering scoreboard at its limits: posted writes to more sockets of
 * one group than a vCPU's scoreboard has slots (a load must still see all
 * of them applied), a fence to a device that died (the load fails once,
 * with the fence's reason, then the guest goes on), and the same ordering
 * with kvm.ioregion_poll_ns set, so that vCPUs poll before they sleep.
 * The same again with the 32-bit tags starting just before 2^31 and 2^32
 * (kvm.ioregion_first_tag), where a posted write must not look applied
 * because its tag wrapped.
 */
#include "ioregionfd_util.h"
#include "kselftest.h"
#include "processor.h"

#define GPA		0xc0000000ull
#define NR_SOCKETS	6		/* more than the scoreboard's 4 slots */
#define ROUNDS		50
#define POLL_NS		"/sys/module/kvm/parameters/ioregion_poll_ns"
#define FIRST_TAG	"/sys/module/kvm/parameters/ioregion_first_tag"

/* Posted writes to every socket's region, then a load from the first. */
static void guest_posts_then_load(void)
{
	uint64_t r, i;

	for (r = 1; r <= ROUNDS; r++) {
		for (i = 0; i < NR_SOCKETS; i++)
			WRITE_ONCE(*(uint64_t *)(GPA + i * 0x1000), r);
		GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)(GPA + 8)), r * NR_SOCKETS);
	}
	GUEST_DONE();
}

/* Every device applies its socket's posted writes to one shared sum. */
static uint64_t applied[NR_SOCKETS];

struct sock_dev {
	int fd, id;
	pthread_t thread;
};

static void *sock_thread(void *arg)
{
	struct sock_dev *d = arg;
	struct ioregionfd_cmd cmd;
	uint64_t sum, i;

	while (ioregionfd_read_full(d->fd, &cmd, sizeof(cmd))) {
		if (cmd.op == IOREGIONFD_CMD_WRITE) {
			/* Applied late: a read that passed it would see it missing. */
			usleep(100);
			__atomic_store_n(&applied[d->id], cmd.data, __ATOMIC_RELEASE);
		} else if (cmd.op == IOREGIONFD_CMD_READ) {
			for (sum = 0, i = 0; i < NR_SOCKETS; i++)
				sum += __atomic_load_n(&applied[i], __ATOMIC_ACQUIRE);
			ioregionfd_reply(d->fd, &cmd, sum);
			continue;
		}
		if (cmd.flags & IOREGIONFD_CMD_RESPONSE)
			ioregionfd_reply(d->fd, &cmd, 0);
	}
	return NULL;
}

static bool run_full_scoreboard(void)
{
	struct kvm_ioregion_group g = { 0 };
	struct sock_dev d[NR_SOCKETS];
	struct kvm_vcpu *vcpu;
	struct kvm_ioregion r;
	struct kvm_vm *vm;
	int i, gfd, sv[2];
	bool ok;

	memset(applied, 0, sizeof(applied));
	vm = vm_create_with_one_vcpu(&vcpu, guest_posts_then_load);
	virt_map(vm, GPA, GPA, NR_SOCKETS);
	gfd = __vm_ioctl(vm, KVM_CREATE_IOREGION_GROUP, &g);
	TEST_ASSERT(gfd >= 0, "KVM_CREATE_IOREGION_GROUP: %s", strerror(errno));
	for (i = 0; i < NR_SOCKETS; i++) {
		TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
		r = ioregion(GPA + i * 0x1000, 0x1000, sv[0], sv[0],
			     KVM_IOREGION_POSTED_WRITES | KVM_IOREGION_GROUP);
		r.group_fd = gfd;
		kvm_set_ioregion(vm, &r);
		close(sv[0]);
		d[i] = (struct sock_dev) { .fd = sv[1], .id = i };
		pthread_create(&d[i].thread, NULL, sock_thread, &d[i]);
	}
	ok = !ioregionfd_run(vcpu, NULL);
	if (get_ucall(vcpu, NULL) == UCALL_ABORT) {
		ksft_print_msg("a load passed a posted write\n");
		ok = false;
	}
	kvm_vm_free(vm);
	close(gfd);
	for (i = 0; i < NR_SOCKETS; i++) {
		pthread_join(d[i].thread, NULL);
		close(d[i].fd);
	}
	return ok;
}

static void guest_post_then_load(void)
{
	WRITE_ONCE(*(uint32_t *)(GPA + 0x1000), 1);
	GUEST_ASSERT_EQ(READ_ONCE(*(uint32_t *)GPA), 0xfee);
	GUEST_ASSERT_EQ(READ_ONCE(*(uint32_t *)GPA), 0x5a);
	GUEST_DONE();
}

/* A device that takes one command and dies. */
static void *die_thread(void *arg)
{
	struct sock_dev *d = arg;
	struct ioregionfd_cmd cmd;

	if (ioregionfd_read_full(d->fd, &cmd, sizeof(cmd)))
		d->id = cmd.op;
	close(d->fd);
	return NULL;
}

/*
 * A posted write to socket B, whose device then dies; a load from socket A
 * needs a fence down B first.  The load fails once with B's reason, the VMM
 * supplies its value, and the next load needs no fence.
 */
static void test_fence_to_dead(void)
{
	struct kvm_ioregion_group g = { 0 };
	struct sock_dev da = { .id = 0 }, db = { .id = -1 };
	struct kvm_vcpu *vcpu;
	struct kvm_ioregion r;
	struct kvm_run *run;
	struct kvm_vm *vm;
	int gfd, a[2], b[2];
	bool ok;

	memset(applied, 0, sizeof(applied));
	applied[1] = 0x5a;
	vm = vm_create_with_one_vcpu(&vcpu, guest_post_then_load);
	run = vcpu->run;
	virt_map(vm, GPA, GPA, 2);
	gfd = __vm_ioctl(vm, KVM_CREATE_IOREGION_GROUP, &g);
	TEST_ASSERT(gfd >= 0 && !socketpair(AF_UNIX, SOCK_STREAM, 0, a) &&
		    !socketpair(AF_UNIX, SOCK_STREAM, 0, b), "setup");
	r = ioregion(GPA, 0x1000, a[0], a[0], KVM_IOREGION_POSTED_WRITES | KVM_IOREGION_GROUP);
	r.group_fd = gfd;
	kvm_set_ioregion(vm, &r);
	r = ioregion(GPA + 0x1000, 0x1000, b[0], b[0],
		     KVM_IOREGION_POSTED_WRITES | KVM_IOREGION_GROUP);
	r.group_fd = gfd;
	kvm_set_ioregion(vm, &r);
	close(a[0]);
	close(b[0]);
	da.fd = a[1];
	db.fd = b[1];
	pthread_create(&da.thread, NULL, sock_thread, &da);
	pthread_create(&db.thread, NULL, die_thread, &db);

	ok = !ioregionfd_run(vcpu, NULL);
	pthread_join(db.thread, NULL);
	ok &= db.id == IOREGIONFD_CMD_WRITE &&
	      run->exit_reason == KVM_EXIT_IOREGIONFD_FAILURE &&
	      run->ioregionfd_failure.reason == KVM_IOREGIONFD_FAIL_PEER_CLOSED &&
	      run->ioregionfd_failure.addr == GPA &&
	      run->ioregionfd_failure.len == 4 && !run->ioregionfd_failure.is_write;
	if (!ok)
		ksft_print_msg("exit %s, reason %u, addr 0x%llx\n",
			       exit_reason_str(run->exit_reason),
			       run->ioregionfd_failure.reason,
			       run->ioregionfd_failure.addr);
	run->ioregionfd_failure.data = 0xfee;
	ok &= !ioregionfd_run(vcpu, NULL) && get_ucall(vcpu, NULL) == UCALL_DONE;
	ksft_test_result(ok, "fence to a dead device: the load fails once, then goes on\n");
	kvm_vm_free(vm);
	close(gfd);
	pthread_join(da.thread, NULL);
	close(a[1]);
}

/* Every channel's tags start at @first and cross @where within the run. */
static void test_tag_wrap(const char *first, const char *where)
{
	if (!ioregionfd_write_file(FIRST_TAG, first)) {
		ksft_test_result_skip("kvm.ioregion_first_tag: %s not writable\n",
				      FIRST_TAG);
		return;
	}
	ksft_test_result(run_full_scoreboard(),
			 "the same with tags from %s, across %s: ordered\n",
			 first, where);
}

int main(int argc, char *argv[])
{
	bool polled;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_IOREGIONFD));
	ksft_print_header();
	ksft_set_plan(5);

	ksft_test_result(run_full_scoreboard(),
			 "%d rounds of posted writes to %d sockets of a group, then a load: ordered\n",
			 ROUNDS, NR_SOCKETS);
	polled = ioregionfd_write_file(POLL_NS, "200000");
	if (polled)
		ksft_test_result(run_full_scoreboard(),
				 "the same with kvm.ioregion_poll_ns=200000\n");
	else
		ksft_test_result_skip("kvm.ioregion_poll_ns: %s not writable\n", POLL_NS);
	ioregionfd_write_file(POLL_NS, "0");
	test_fence_to_dead();
	test_tag_wrap("2147483648", "2^31 with none answered");
	test_tag_wrap("4294967250", "2^32");
	ioregionfd_write_file(FIRST_TAG, "0");
	ksft_finished();
}
