// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vCPU's poll budget adapts to the device (kvm.ioregion_poll_ns and
 * its _grow, _grow_start and _shrink): a device slower than
 * ioregion_poll_ns must cost no polling, a fast one must get answered
 * while the vCPU polls, and a device that turns slow must lose its budget.
 * The vCPU's ioregion_*_poll statistics say what it did.  And a vCPU that
 * sleeps for a response is not woken when the device reads the command
 * (which makes room in the socket), only when the answer comes.
 *
 * Needs root (the module parameters) and, for the fast device, a second
 * CPU for the device thread to answer on while the vCPU polls.
 */
#include "ioregionfd_util.h"
#include "kselftest.h"

#define GPA		0xc0000000ull
#define PARAMS		"/sys/module/kvm/parameters/"

/* Accesses per phase, and how many of the slow phase end with no budget. */
#define NR_SLOW		12
#define NR_FAST		200
#define NR_TURNED	14
#define NR_SLOW_TAIL	3
#define NR_WATCHED	5
/* How long the device watches a sleeping vCPU for a wake-up that must not come. */
#define WATCH_NS	200000000ull

static uint64_t nr_access;

struct device {
	struct ioregionfd_link link;
	pthread_t thread;
	/* 0: answer at once; else wait that long first (set between phases). */
	uint64_t delay_ns;
	uint64_t reads;
	/* Non-zero: read each command only once this thread sleeps, then watch it. */
	pid_t watch_tid;
	uint64_t woken;		/* watched: the vCPU woke before its answer */
	int cpu;		/* >= 0: the device thread runs there only */
};

static void pin_thread(pthread_t t, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_ASSERT(!pthread_setaffinity_np(t, sizeof(set), &set), "pinning to CPU %d", cpu);
}

/* /proc/self/task/@tid/@file into @buf, a string. */
static void read_task_file(pid_t tid, const char *file, char *buf, size_t size)
{
	char path[64];
	int fd, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, file);
	fd = open(path, O_RDONLY);
	TEST_ASSERT(fd >= 0, "%s: %s", path, strerror(errno));
	n = read(fd, buf, size - 1);
	close(fd);
	TEST_ASSERT(n > 0, "reading %s", path);
	buf[n] = 0;
}

/* @tid's state letter (R, S, ...). */
static char thread_state(pid_t tid)
{
	char buf[256], *p;

	read_task_file(tid, "stat", buf, sizeof(buf));
	p = strrchr(buf, ')');
	TEST_ASSERT(p && p[1] == ' ', "task %d's stat: %s", tid, buf);
	return p[2];
}

/* How many times @tid has gone to sleep. */
static uint64_t thread_sleeps(pid_t tid)
{
	static const char key[] = "\nvoluntary_ctxt_switches:";
	char buf[2048], *p;

	read_task_file(tid, "status", buf, sizeof(buf));
	p = strstr(buf, key);
	TEST_ASSERT(p, "task %d's status: no voluntary_ctxt_switches", tid);
	return strtoull(p + strlen(key), NULL, 10);
}

/*
 * Before the device reads a command: wait until its vCPU sleeps for the
 * answer; how many times it has gone to sleep so far, or -1 at the end.
 */
static int64_t vcpu_asleep(struct device *d)
{
	struct pollfd p = { .fd = d->link.dev_rfd, .events = POLLIN };
	struct ioregionfd_cmd cmd;

	TEST_ASSERT(poll(&p, 1, -1) == 1, "poll: %s", strerror(errno));
	if (recv(d->link.dev_rfd, &cmd, sizeof(cmd), MSG_PEEK | MSG_DONTWAIT) <= 0)
		return -1;
	while (thread_state(d->watch_tid) != 'S')
		sched_yield();
	return thread_sleeps(d->watch_tid);
}

/*
 * The device has read the command (room in the socket) that a vCPU,
 * asleep @sleeps times so far, waits to be answered: for WATCH_NS, the
 * vCPU must not go to sleep again, as it would if the read had woken it.
 */
static void watch_vcpu(struct device *d, int64_t sleeps)
{
	uint64_t t0 = ioregionfd_now_ns();

	while (ioregionfd_now_ns() - t0 < WATCH_NS) {
		if ((int64_t)thread_sleeps(d->watch_tid) != sleeps) {
			d->woken++;
			return;
		}
		sched_yield();
	}
}

struct poll_stats {
	uint64_t attempted, successful, success_ns, fail_ns;
};

/* Phases of nr_access reads, a GUEST_SYNC after each. */
static void guest_code(void)
{
	uint64_t i, phase;

	for (phase = 0;; phase++) {
		for (i = 0; i < nr_access; i++)
			GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)GPA), 0x1234);
		GUEST_SYNC(phase);
	}
}

static void *device_thread(void *arg)
{
	struct device *d = arg;
	struct ioregionfd_cmd cmd;
	int64_t sleeps = -1;
	struct timespec ts;
	uint64_t delay;

	if (d->cpu >= 0)
		pin_thread(pthread_self(), d->cpu);

	for (;;) {
		if (d->watch_tid)
			sleeps = vcpu_asleep(d);
		if (!ioregionfd_read_full(d->link.dev_rfd, &cmd, sizeof(cmd)))
			break;
		ioregionfd_check_cmd(&cmd);
		if (sleeps >= 0)
			watch_vcpu(d, sleeps);
		delay = READ_ONCE(d->delay_ns);
		if (delay) {
			/* A slow device, not a handshake: it answers late. */
			ts.tv_sec = delay / 1000000000ull;
			ts.tv_nsec = delay % 1000000000ull;
			while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
				;
		}
		d->reads++;
		ioregionfd_reply(d->link.dev_wfd, &cmd, 0x1234);
	}
	return NULL;
}

static struct poll_stats read_stats(struct kvm_vcpu *vcpu)
{
	return (struct poll_stats) {
		.attempted = vcpu_get_stat(vcpu, ioregion_attempted_poll),
		.successful = vcpu_get_stat(vcpu, ioregion_successful_poll),
		.success_ns = vcpu_get_stat(vcpu, ioregion_poll_success_ns),
		.fail_ns = vcpu_get_stat(vcpu, ioregion_poll_fail_ns),
	};
}

/* Run one phase of nr_access reads; the statistics' change over it. */
static struct poll_stats run_phase(struct kvm_vcpu *vcpu, struct device *d,
				   uint64_t delay_ns, uint64_t n)
{
	struct poll_stats a, b;
	struct ucall uc;

	WRITE_ONCE(d->delay_ns, delay_ns);
	nr_access = n;
	sync_global_to_guest(vcpu->vm, nr_access);
	a = read_stats(vcpu);
	TEST_ASSERT_EQ(ioregionfd_run(vcpu, NULL), 0);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("unexpected exit %s", exit_reason_str(vcpu->run->exit_reason));
	}
	b = read_stats(vcpu);
	return (struct poll_stats) {
		.attempted = b.attempted - a.attempted,
		.successful = b.successful - a.successful,
		.success_ns = b.success_ns - a.success_ns,
		.fail_ns = b.fail_ns - a.fail_ns,
	};
}

/*
 * @watch: the vCPU's thread, for the device to watch; 0 for none.  @cpu:
 * where the device thread runs, or -1.
 */
static struct kvm_vm *setup(struct device *d, struct kvm_vcpu **vcpu, pid_t watch,
			    int cpu)
{
	struct kvm_vm *vm;

	*d = (struct device) { .link = ioregionfd_link_open(TRANSPORT_STREAM),
			       .watch_tid = watch, .cpu = cpu };
	vm = vm_create_with_one_vcpu(vcpu, guest_code);
	virt_map(vm, GPA, GPA, 1);
	kvm_ioregion_set(vm, ioregion(GPA, 0x1000, d->link.kvm_rfd, d->link.kvm_wfd, 0));
	pthread_create(&d->thread, NULL, device_thread, d);
	return vm;
}

static void teardown(struct kvm_vm *vm, struct device *d)
{
	kvm_vm_free(vm);
	ioregionfd_link_close(&d->link);
	pthread_join(d->thread, NULL);
}

static bool set_param(const char *name, uint64_t val)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	snprintf(buf, sizeof(buf), "%lu", val);
	return ioregionfd_write_file(path, buf);
}

/*
 * A device that answers 2 * ioregion_poll_ns after each command: with the
 * budget adapting, the vCPU never polls for it (the budget starts at 0 and
 * each late answer keeps it there); with ioregion_poll_ns_grow=0, every
 * access polls the whole ioregion_poll_ns first.
 */
static void test_slow(bool adapt)
{
	const uint64_t max_ns = 1000000;
	struct kvm_vcpu *vcpu;
	struct poll_stats s;
	struct device d;
	struct kvm_vm *vm;

	set_param("ioregion_poll_ns_grow", adapt ? 2 : 0);
	set_param("ioregion_poll_ns", max_ns);
	vm = setup(&d, &vcpu, 0, -1);
	s = run_phase(vcpu, &d, 2 * max_ns, NR_SLOW);
	teardown(vm, &d);
	set_param("ioregion_poll_ns_grow", 2);

	if (adapt)
		ksft_test_result(!s.attempted && !s.fail_ns && d.reads == NR_SLOW,
				 "device slower than ioregion_poll_ns: %lu of %d accesses polled (%lu ns)\n",
				 s.attempted, NR_SLOW, s.fail_ns);
	else
		ksft_test_result(s.attempted == NR_SLOW && !s.successful,
				 "the same with ioregion_poll_ns_grow=0: %lu of %d accesses polled, %lu answered polling\n",
				 s.attempted, NR_SLOW, s.successful);
}

/*
 * A device that answers at once from another CPU (the vCPU on @vcpu_cpu,
 * the device on @dev_cpu: on the vCPU's CPU, the device could only answer
 * once the vCPU stops polling): the budget grows until the vCPU gets
 * answers while it polls (a quarter of them at least: an answer later than
 * ioregion_poll_ns halves the budget again, and an emulated test machine
 * takes milliseconds to wake an idle CPU, hence the 20 ms).  Then the
 * device turns slow (2 * ioregion_poll_ns): each late answer halves the
 * budget, which is at most ioregion_poll_ns, so within
 * log2(ioregion_poll_ns / grow_start) + 1 accesses it is 0 and the vCPU
 * stops polling.
 */
static void test_fast_then_slow(int vcpu_cpu, int dev_cpu)
{
	const uint64_t max_ns = 20000000;	/* 2^10 * 10 us < max < 2^11 * 10 us */
	struct poll_stats fast, slow, tail;
	struct kvm_vcpu *vcpu;
	struct device d;
	struct kvm_vm *vm;
	cpu_set_t all;

	TEST_ASSERT(!sched_getaffinity(0, sizeof(all), &all), "sched_getaffinity");
	pin_thread(pthread_self(), vcpu_cpu);
	set_param("ioregion_poll_ns", max_ns);
	vm = setup(&d, &vcpu, 0, dev_cpu);
	fast = run_phase(vcpu, &d, 0, NR_FAST);
	slow = run_phase(vcpu, &d, 2 * max_ns, NR_TURNED - NR_SLOW_TAIL);
	tail = run_phase(vcpu, &d, 2 * max_ns, NR_SLOW_TAIL);
	teardown(vm, &d);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(all), &all), "sched_setaffinity");

	ksft_test_result(fast.successful >= NR_FAST / 4,
			 "fast device: %lu of %d accesses answered while polling (%lu attempted)\n",
			 fast.successful, NR_FAST, fast.attempted);
	ksft_test_result(!tail.attempted && !slow.successful,
			 "the device turns slow: polled %lu times, then %lu of the last %d accesses\n",
			 slow.attempted, tail.attempted, NR_SLOW_TAIL);
}

/*
 * The device reads each command only once the vCPU sleeps for its answer,
 * then watches the vCPU: reading makes room in the socket, which concerns
 * vCPUs waiting to send, not one waiting for a response.  Woken, that one
 * would only go back to sleep: a wake-up and a context switch more per
 * access whenever the device is slower to start than the vCPU to sleep.
 */
static void test_no_wake_on_room(void)
{
	struct kvm_vcpu *vcpu;
	struct device d;
	struct kvm_vm *vm;

	set_param("ioregion_poll_ns", 0);
	vm = setup(&d, &vcpu, gettid(), -1);
	run_phase(vcpu, &d, 0, NR_WATCHED);
	teardown(vm, &d);
	ksft_test_result(!d.woken,
			 "the device reads a command while its vCPU sleeps: %lu of %d vCPUs woken before the answer\n",
			 d.woken, NR_WATCHED);
}

/* Two CPUs the device and the vCPU can run on at once; false if none. */
static bool two_cpus(int *a, int *b)
{
	cpu_set_t set;
	int cpu, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return false;
	for (cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (n++)
			*b = cpu;
		else
			*a = cpu;
	}
	return n == 2;
}

int main(void)
{
	int vcpu_cpu, dev_cpu;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_IOREGIONFD));
	ksft_print_header();
	ksft_set_plan(5);

	if (!set_param("ioregion_poll_ns_grow_start", 10000) ||
	    !set_param("ioregion_poll_ns_shrink", 2)) {
		ksft_test_result_skip("ioregion_poll_ns: " PARAMS " not writable\n");
		ksft_test_result_skip("ioregion_poll_ns_grow=0: same\n");
		ksft_test_result_skip("fast device: same\n");
		ksft_test_result_skip("device turns slow: same\n");
		ksft_test_result_skip("no wake-up on room: same\n");
		ksft_finished();
	}
	test_slow(true);
	test_slow(false);
	if (two_cpus(&vcpu_cpu, &dev_cpu)) {
		test_fast_then_slow(vcpu_cpu, dev_cpu);
	} else {
		ksft_test_result_skip("fast device: needs 2 CPUs, the test may use 1\n");
		ksft_test_result_skip("device turns slow: needs 2 CPUs, the test may use 1\n");
	}
	test_no_wake_on_room();
	ksft_finished();
}
