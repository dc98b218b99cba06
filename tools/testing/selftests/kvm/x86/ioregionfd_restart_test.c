// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioregionfd device restart: assigning an existing region again with new
 * file descriptors moves it there atomically.  A command the old device
 * holds is still answered by it, or fails over with a failure exit if the
 * old device dies instead; under load, with the device restarted every few
 * milliseconds, no access is lost, refused or doubled, and every old device
 * sees end of file once KVM is done with it.  A new device that waits for
 * the old one's end of file sees every posted write queued there.
 */
#include "ioregionfd_util.h"
#include "kselftest.h"
#include "processor.h"

#define GPA		0xc0000000ull
#define POSTED_GPA	0xc0001000ull
#define PORT		0x2000
#define UD		0x4321
#define UD_POSTED	0x4322
#define UD_PIO		0x4323
#define NR_VCPUS	2
#define NR_ITER		1000
#define PERIOD_US	5000

static void guest_two_reads(void)
{
	GUEST_ASSERT_EQ(READ_ONCE(*(uint32_t *)GPA), 0x01d);
	GUEST_ASSERT_EQ(READ_ONCE(*(uint32_t *)GPA), 0x2e3);
	GUEST_DONE();
}

/* vCPU @id: a synchronous MMIO write, a PIO read and a posted write per round. */
static void guest_load(uint64_t id)
{
	uint32_t i, v;

	for (i = 0; i < NR_ITER; i++) {
		WRITE_ONCE(*(uint64_t *)(GPA + id * 8), id << 32 | i);
		asm volatile("inl %1, %0" : "=a"(v) : "d"((uint16_t)(PORT + id * 4)));
		GUEST_ASSERT_EQ(v, i);
		WRITE_ONCE(*(uint64_t *)(POSTED_GPA + id * 8), id << 32 | i);
	}
	GUEST_DONE();
}

static void *run_thread(void *arg)
{
	ioregionfd_run(arg, NULL);
	return NULL;
}

/* True once @fd reads end of file within @ms milliseconds. */
static bool sees_eof(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&p, 1, ms) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

struct value_dev {
	int fd;
	uint64_t value;
	pthread_t thread;
};

/* Answer every read with one value, until end of file. */
static void *value_thread(void *arg)
{
	struct value_dev *d = arg;
	struct ioregionfd_cmd cmd;

	while (ioregionfd_read_full(d->fd, &cmd, sizeof(cmd)))
		ioregionfd_reply(d->fd, &cmd, d->value);
	return NULL;
}

/*
 * The vCPU waits on the old device when the region moves; the old device
 * then answers (@old_dies false) or dies.  The next read goes to the new one.
 */
static void test_in_flight(bool old_dies)
{
	struct value_dev new_dev = { .value = 0x2e3 };
	struct ioregionfd_cmd cmd;
	struct kvm_ioregion r;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_t runner;
	int a[2], b[2];
	bool ok = true;

	vm = vm_create_with_one_vcpu(&vcpu, guest_two_reads);
	ioregionfd_catch_exceptions(vm, &vcpu, 1);
	virt_map(vm, GPA, GPA, 1);
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, a) &&
		    !socketpair(AF_UNIX, SOCK_STREAM, 0, b), "socketpair");
	r = ioregion(GPA, 0x1000, a[0], a[0], 0);
	r.user_data = UD;
	kvm_set_ioregion(vm, &r);
	pthread_create(&runner, NULL, run_thread, vcpu);

	/* The old device holds the first read while the region moves. */
	TEST_ASSERT(ioregionfd_read_full(a[1], &cmd, sizeof(cmd)), "first command");
	r.read_fd = b[0];
	r.write_fd = b[0];
	kvm_set_ioregion(vm, &r);
	close(a[0]);
	close(b[0]);
	new_dev.fd = b[1];
	pthread_create(&new_dev.thread, NULL, value_thread, &new_dev);
	ok &= !sees_eof(a[1], 100);

	if (!old_dies) {
		ioregionfd_reply(a[1], &cmd, 0x01d);
		/* Nothing else comes to the old device: KVM lets go of it. */
		ok &= sees_eof(a[1], 10000);
		pthread_join(runner, NULL);
	} else {
		close(a[1]);
		pthread_join(runner, NULL);
		ok &= vcpu->run->exit_reason == KVM_EXIT_IOREGIONFD_FAILURE &&
		      vcpu->run->ioregionfd_failure.reason == KVM_IOREGIONFD_FAIL_PEER_CLOSED &&
		      vcpu->run->ioregionfd_failure.addr == GPA &&
		      vcpu->run->ioregionfd_failure.len == 4 &&
		      !vcpu->run->ioregionfd_failure.is_write &&
		      vcpu->run->ioregionfd_failure.user_data == UD;
		/* The VMM replays the failed read; the guest goes on. */
		vcpu->run->ioregionfd_failure.data = 0x01d;
		vcpu_run(vcpu);
	}
	ioregionfd_expect_done(vcpu);
	kvm_vm_free(vm);
	pthread_join(new_dev.thread, NULL);
	if (!old_dies)
		close(a[1]);
	close(b[1]);
	ksft_test_result(ok, "region moved while the old device held a read: %s\n",
			 old_dies ? "old device died, failure exit, VMM replayed it" :
				    "old device answered it, then saw end of file");
}

/* Device state that outlives its processes, as if kept in shared memory. */
static struct {
	pthread_mutex_t lock;
	uint64_t writes[NR_VCPUS], reads[NR_VCPUS];
	uint8_t posted[NR_VCPUS][NR_ITER];
	uint64_t commands;
	char error[160];
} state = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t load_access(const struct ioregionfd_cmd *cmd)
{
	uint64_t id = cmd->offset / 8, i = cmd->data & 0xffffffff;
	uint64_t ret = 0;

	ioregionfd_check_cmd(cmd);
	pthread_mutex_lock(&state.lock);
	state.commands++;
	if (cmd->user_data == UD_PIO && cmd->op == IOREGIONFD_CMD_READ &&
	    cmd->offset / 4 < NR_VCPUS) {
		ret = state.reads[cmd->offset / 4]++;
	} else if (cmd->user_data == UD && cmd->op == IOREGIONFD_CMD_WRITE &&
		   id < NR_VCPUS && cmd->data >> 32 == id) {
		if (i != state.writes[id] && !state.error[0])
			snprintf(state.error, sizeof(state.error),
				 "vCPU %lu: write %lu where %lu was due", id, i,
				 state.writes[id]);
		state.writes[id]++;
	} else if (cmd->user_data == UD_POSTED && cmd->op == IOREGIONFD_CMD_WRITE &&
		   id < NR_VCPUS && cmd->data >> 32 == id && i < NR_ITER) {
		state.posted[id][i]++;
	} else if (!state.error[0]) {
		snprintf(state.error, sizeof(state.error),
			 "unexpected command: op %u ud 0x%llx offset 0x%llx data 0x%llx",
			 cmd->op, cmd->user_data, cmd->offset, cmd->data);
	}
	pthread_mutex_unlock(&state.lock);
	return ret;
}

struct generation {
	int kvm_fd, dev_fd;
	pthread_t thread;
};

/* One device process: serves until KVM lets go of its socket. */
static void *generation_thread(void *arg)
{
	struct generation *g = arg;
	struct ioregionfd_cmd cmd;
	uint64_t data;

	while (ioregionfd_read_full(g->dev_fd, &cmd, sizeof(cmd))) {
		data = load_access(&cmd);
		if (cmd.flags & IOREGIONFD_CMD_RESPONSE)
			ioregionfd_reply(g->dev_fd, &cmd, data);
	}
	close(g->dev_fd);
	return NULL;
}

static void start_generation(struct generation *g)
{
	int sv[2];

	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	g->kvm_fd = sv[0];
	g->dev_fd = sv[1];
	pthread_create(&g->thread, NULL, generation_thread, g);
}

/* Assign, or move, the three regions to @g's socket. */
static void bind_generation(struct kvm_vm *vm, struct generation *g)
{
	struct kvm_ioregion r;

	r = ioregion(GPA, 0x1000, g->kvm_fd, g->kvm_fd, 0);
	r.user_data = UD;
	kvm_set_ioregion(vm, &r);
	r = ioregion(POSTED_GPA, 0x1000, g->kvm_fd, g->kvm_fd, KVM_IOREGION_POSTED_WRITES);
	r.user_data = UD_POSTED;
	kvm_set_ioregion(vm, &r);
	r = ioregion(PORT, 4 * NR_VCPUS, g->kvm_fd, g->kvm_fd, KVM_IOREGION_PIO);
	r.user_data = UD_PIO;
	kvm_set_ioregion(vm, &r);
}

struct vcpu_runner {
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	bool done;
};

static void *load_vcpu_thread(void *arg)
{
	struct vcpu_runner *v = arg;

	run_thread(v->vcpu);
	WRITE_ONCE(v->done, true);
	return NULL;
}

/*
 * Two vCPUs run synchronous writes, PIO reads and posted writes while the
 * VMM restarts the device every few milliseconds.
 */
static void test_restart_under_load(void)
{
	struct kvm_vcpu *vcpus[NR_VCPUS];
	struct vcpu_runner v[NR_VCPUS];
	struct generation g[2];
	uint64_t restarts = 0, lost = 0, doubled = 0, t0, join_ns, max_join = 0;
	struct kvm_vm *vm;
	int i, j, cur = 0;
	bool ok = true;

	vm = vm_create_with_vcpus(NR_VCPUS, guest_load, vcpus);
	ioregionfd_catch_exceptions(vm, vcpus, NR_VCPUS);
	virt_map(vm, GPA, GPA, 2);
	start_generation(&g[cur]);
	bind_generation(vm, &g[cur]);
	for (i = 0; i < NR_VCPUS; i++) {
		vcpu_args_set(vcpus[i], 1, i);
		v[i] = (struct vcpu_runner){ .vcpu = vcpus[i] };
		pthread_create(&v[i].thread, NULL, load_vcpu_thread, &v[i]);
	}

	while (!READ_ONCE(v[0].done) || !READ_ONCE(v[1].done)) {
		usleep(PERIOD_US);
		start_generation(&g[!cur]);
		bind_generation(vm, &g[!cur]);
		/* The old device drains what it got, then reads end of file. */
		close(g[cur].kvm_fd);
		t0 = ioregionfd_now_ns();
		pthread_join(g[cur].thread, NULL);
		join_ns = ioregionfd_now_ns() - t0;
		max_join = max(max_join, join_ns);
		cur = !cur;
		restarts++;
	}
	for (i = 0; i < NR_VCPUS; i++) {
		pthread_join(v[i].thread, NULL);
		ioregionfd_expect_done(vcpus[i]);
	}
	kvm_vm_free(vm);
	close(g[cur].kvm_fd);
	pthread_join(g[cur].thread, NULL);

	for (i = 0; i < NR_VCPUS; i++) {
		ok &= state.writes[i] == NR_ITER && state.reads[i] == NR_ITER;
		for (j = 0; j < NR_ITER; j++) {
			lost += !state.posted[i][j];
			doubled += state.posted[i][j] > 1;
		}
	}
	if (state.error[0])
		ksft_print_msg("%s\n", state.error);
	ksft_print_msg("%lu commands, %lu restarts; old device let go within %lu us\n",
		       state.commands, restarts, max_join / 1000);
	ksft_test_result(ok && !lost && !doubled && !state.error[0] && restarts > 10,
			 "%d vCPUs under %lu device restarts: no access lost (%lu) or doubled (%lu)\n",
			 NR_VCPUS, restarts, lost, doubled);
}

#define NR_POSTED	64

/* Posted writes to the old device, a hand-over, a read from the new one. */
static void guest_posts_then_read(void)
{
	uint64_t i;

	for (i = 1; i <= NR_POSTED; i++)
		WRITE_ONCE(*(uint64_t *)POSTED_GPA, i);
	GUEST_SYNC(0);
	GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)POSTED_GPA),
			NR_POSTED * (NR_POSTED + 1) / 2);
	GUEST_DONE();
}

static uint64_t handover_sum;
static pthread_t old_dev;

/* The old device applies each posted write late, until end of file. */
static void *old_handover_thread(void *arg)
{
	struct ioregionfd_cmd cmd;
	int fd = *(int *)arg;

	while (ioregionfd_read_full(fd, &cmd, sizeof(cmd))) {
		usleep(200);
		__atomic_fetch_add(&handover_sum, cmd.data, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* The new device answers nothing before the old one has read end of file. */
static void *new_handover_thread(void *arg)
{
	struct ioregionfd_cmd cmd;
	int fd = *(int *)arg;

	pthread_join(old_dev, NULL);
	while (ioregionfd_read_full(fd, &cmd, sizeof(cmd)))
		ioregionfd_reply(fd, &cmd, __atomic_load_n(&handover_sum, __ATOMIC_ACQUIRE));
	return NULL;
}

/*
 * The hand-over that api.rst and ioregionfd.rst describe for keeping a
 * load behind the posted writes queued for the old device: the VMM moves
 * the region and closes its copy of the old socket; the new device waits
 * for the old one to read end of file, which KVM sends only after the last
 * command it wrote there.
 */
static void test_handover_order(void)
{
	struct kvm_ioregion r;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_t new_dev;
	struct ucall uc;
	int a[2], b[2];
	bool ok;

	handover_sum = 0;
	vm = vm_create_with_one_vcpu(&vcpu, guest_posts_then_read);
	virt_map(vm, POSTED_GPA, POSTED_GPA, 1);
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, a) &&
		    !socketpair(AF_UNIX, SOCK_STREAM, 0, b), "socketpair");
	r = ioregion(POSTED_GPA, 0x1000, a[0], a[0], KVM_IOREGION_POSTED_WRITES);
	r.user_data = UD_POSTED;
	kvm_set_ioregion(vm, &r);
	pthread_create(&old_dev, NULL, old_handover_thread, &a[1]);
	ioregionfd_run(vcpu, NULL);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);

	r.read_fd = b[0];
	r.write_fd = b[0];
	kvm_set_ioregion(vm, &r);
	close(a[0]);
	pthread_create(&new_dev, NULL, new_handover_thread, &b[1]);
	ioregionfd_run(vcpu, NULL);
	ok = get_ucall(vcpu, &uc) == UCALL_DONE;
	if (!ok)
		ksft_print_msg("the load saw %lu, not %u\n",
			       (unsigned long)__atomic_load_n(&handover_sum, __ATOMIC_ACQUIRE),
			       NR_POSTED * (NR_POSTED + 1) / 2);
	kvm_vm_free(vm);
	close(b[0]);
	pthread_join(new_dev, NULL);
	close(a[1]);
	close(b[1]);
	ksft_test_result(ok, "hand-over after the old device's EOF: the load sees all %d writes\n",
			 NR_POSTED);
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_IOREGIONFD));
	ksft_print_header();
	ksft_set_plan(4);
	test_in_flight(false);
	test_in_flight(true);
	test_handover_order();
	test_restart_under_load();
	ksft_finished();
}
