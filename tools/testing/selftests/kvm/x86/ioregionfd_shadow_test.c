// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioregionfd ordering groups and device shadows (KVM_CREATE_IOREGION_GROUP):
 * loads answered from the shadow without a command, for every size, on MMIO
 * and PIO; loads the access map does not allow still reaching the device;
 * PCI ordering of loads after posted writes the device applies late, on one
 * fd and across two fds of a group; no fence when nothing is outstanding; a
 * device that never acknowledges; signals while a vCPU waits for a fence;
 * teardown and device reset with the shadow still mapped; and every
 * rejection of the two ioctls.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "ioregionfd_util.h"
#include "kselftest.h"
#include "processor.h"

#define GPA		0xc0000000ull	/* region A, shadow offset 0 */
#define GPA_B		0xc0001000ull	/* region B (second fd), shadow offset 0x1000 */
#define GPA_C		0xc0002000ull	/* region C, in another group */
#define PORT		0x600		/* PIO region on A's fd, shadow offset 0x2000 */
#define SHADOW		0x4000ull
#define UD		0x5d
#define MAX_GROUPS	256		/* KVM's limit per VM */

/* Offsets in region A (and B), and what the map says of them. */
#define SIDE4		0x400		/* only 4-byte loads are free of side effects */
#define SIDE		0x408		/* every load has side effects */
#define DOORBELL	0x800		/* posted; applied to the status registers late */
#define STATUS		0x900		/* A: the applied doorbell, 8-byte loads */
#define STATUS_FD	0x200		/* B: the same, never from the shadow */

#define DEVICE_VALUE(off)	(0xa5a5a5a5a5a5a5a5ull ^ (off))

static uint64_t nr_iter;

static uint8_t pattern(uint64_t shadow_off)
{
	return shadow_off * 13 + 7;
}

/* What a load of @size at @shadow_off returns from the pattern. */
static uint64_t pattern_load(uint64_t shadow_off, int size)
{
	uint64_t v = 0;
	int i;

	for (i = size - 1; i >= 0; i--)
		v = v << 8 | pattern(shadow_off + i);
	return v;
}

static uint64_t mmio_load(uint64_t gpa, int size)
{
	switch (size) {
	case 1:
		return READ_ONCE(*(uint8_t *)gpa);
	case 2:
		return READ_ONCE(*(uint16_t *)gpa);
	case 4:
		return READ_ONCE(*(uint32_t *)gpa);
	}
	return READ_ONCE(*(uint64_t *)gpa);
}

static uint64_t pio_load(uint16_t port, int size)
{
	uint32_t v = 0;

	if (size == 1)
		asm volatile("inb %%dx, %%al" : "+a"(v) : "d"(port));
	else if (size == 2)
		asm volatile("inw %%dx, %%ax" : "+a"(v) : "d"(port));
	else
		asm volatile("inl %%dx, %%eax" : "=a"(v) : "d"(port));
	return v;
}

/* Stage 1: shadow loads only.  Stage 2: loads the map does not allow. */
static void guest_sizes(void)
{
	uint64_t off;
	int size;

	for (size = 1; size <= 8; size *= 2) {
		for (off = 0; off + size <= 64; off += size) {
			GUEST_ASSERT_EQ(mmio_load(GPA + off, size),
					pattern_load(off, size));
			GUEST_ASSERT_EQ(mmio_load(GPA_B + off, size),
					pattern_load(0x1000 + off, size));
			if (size < 8 && off + size <= 8)
				GUEST_ASSERT_EQ(pio_load(PORT + off, size),
						pattern_load(0x2000 + off, size));
		}
	}
	GUEST_ASSERT_EQ(mmio_load(GPA + SIDE4, 4), pattern_load(SIDE4, 4));
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(mmio_load(GPA + SIDE4, 1), (uint8_t)DEVICE_VALUE(SIDE4));
	GUEST_ASSERT_EQ(mmio_load(GPA + SIDE4, 2), (uint16_t)DEVICE_VALUE(SIDE4));
	GUEST_ASSERT_EQ(mmio_load(GPA + SIDE, 8), DEVICE_VALUE(SIDE));
	GUEST_DONE();
}

enum order_read { READ_SHADOW_A, READ_SHADOW_B, READ_FD_B };

/* A posted doorbell, then its effect read back: always the new value. */
static void guest_order(enum order_read how)
{
	uint64_t i, v;

	for (i = 1; i <= nr_iter; i++) {
		WRITE_ONCE(*(uint64_t *)(GPA + DOORBELL), i);
		if (how == READ_SHADOW_A)
			v = READ_ONCE(*(uint64_t *)(GPA + STATUS));
		else if (how == READ_SHADOW_B)
			v = READ_ONCE(*(uint64_t *)(GPA_B + STATUS));
		else
			v = READ_ONCE(*(uint64_t *)(GPA_B + STATUS_FD));
		GUEST_ASSERT_EQ(v, i);
	}
	GUEST_DONE();
}

/*
 * Nothing outstanding when a load comes: posted writes go to another group,
 * or a load through the same fd (answered after them) acknowledges them.
 */
static void guest_no_wait(void)
{
	uint64_t i;

	for (i = 1; i <= nr_iter; i++) {
		WRITE_ONCE(*(uint64_t *)GPA_C, i);
		GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)GPA), pattern_load(0, 8));
		GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)(GPA_B + STATUS_FD)), i - 1);
		WRITE_ONCE(*(uint64_t *)(GPA + DOORBELL), i);
		GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)(GPA + SIDE)), DEVICE_VALUE(SIDE));
		GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)(GPA + STATUS)), i);
	}
	GUEST_DONE();
}

/* One value the VMM supplies after a failure, then the shadow again. */
static void guest_fail(void)
{
	WRITE_ONCE(*(uint64_t *)(GPA + DOORBELL), 1);
	GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)(GPA + STATUS)), 0x5eed);
	GUEST_DONE();
}

/* The same register before and after the device behind it changes. */
static void guest_reset(void)
{
	GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)GPA), 0x1111);
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)GPA), DEVICE_VALUE(0));
	GUEST_SYNC(2);
	GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)GPA), DEVICE_VALUE(0));
	GUEST_DONE();
}

/* The device: one thread per fd, sharing the shadow and the status. */
struct device {
	uint8_t *shadow;		/* values, then the map */
	uint64_t status;		/* the last doorbell applied */
	unsigned int apply_delay_us;	/* at most, chosen at random */
	unsigned int fence_delay_us;
	bool mute_fences;		/* never acknowledge */
};

struct port {
	struct device *d;
	struct ioregionfd_link link;
	pthread_t thread;
	unsigned int seed;
	uint64_t reads, writes, fences;
};

static void spin_us(unsigned int us)
{
	uint64_t end = ioregionfd_now_ns() + us * 1000ull;

	while (ioregionfd_now_ns() < end)
		;
}

static void publish(struct device *d, uint64_t shadow_off, uint64_t v)
{
	__atomic_store_n((uint64_t *)(d->shadow + shadow_off), v, __ATOMIC_RELEASE);
}

static void allow(struct device *d, uint64_t shadow_off, size_t len, uint8_t sizes)
{
	size_t i;

	for (i = 0; i < len; i++)
		__atomic_store_n(&d->shadow[SHADOW + shadow_off + i], sizes,
				 __ATOMIC_RELEASE);
}

static void *port_thread(void *arg)
{
	struct port *p = arg;
	struct device *d = p->d;
	struct ioregionfd_cmd cmd;
	uint64_t data;

	while (ioregionfd_read_full(p->link.dev_rfd, &cmd, sizeof(cmd))) {
		TEST_ASSERT(cmd.op <= IOREGIONFD_CMD_FENCE && !cmd.reserved,
			    "malformed command: op %u", cmd.op);
		data = 0;
		if (cmd.op == IOREGIONFD_CMD_FENCE) {
			TEST_ASSERT(!cmd.size && cmd.flags == IOREGIONFD_CMD_RESPONSE,
				    "fence: size %u flags 0x%x", cmd.size, cmd.flags);
			p->fences++;
			if (d->mute_fences)
				continue;
			spin_us(d->fence_delay_us);
		} else if (cmd.op == IOREGIONFD_CMD_WRITE) {
			p->writes++;
			if (cmd.offset == DOORBELL) {
				if (d->apply_delay_us)
					spin_us(rand_r(&p->seed) % d->apply_delay_us);
				publish(d, STATUS, cmd.data);
				publish(d, 0x1000 + STATUS, cmd.data);
				__atomic_store_n(&d->status, cmd.data, __ATOMIC_RELEASE);
			}
		} else {
			p->reads++;
			data = cmd.offset == STATUS_FD ?
			       __atomic_load_n(&d->status, __ATOMIC_ACQUIRE) :
			       DEVICE_VALUE(cmd.offset);
		}
		if (cmd.flags & IOREGIONFD_CMD_RESPONSE)
			ioregionfd_reply(p->link.dev_wfd, &cmd, data);
	}
	return NULL;
}

static void port_start(struct port *p, struct device *d, unsigned int seed)
{
	p->d = d;
	p->seed = seed;
	p->link = ioregionfd_link_open(TRANSPORT_STREAM);
	pthread_create(&p->thread, NULL, port_thread, p);
}

static void port_stop(struct port *p)
{
	close(p->link.kvm_rfd);
	pthread_join(p->thread, NULL);
	close(p->link.dev_rfd);
}

static int create_group(struct kvm_vm *vm, uint64_t shadow_size)
{
	struct kvm_ioregion_group g = { .shadow_size = shadow_size };
	int fd = __vm_ioctl(vm, KVM_CREATE_IOREGION_GROUP, &g);

	TEST_ASSERT(fd >= 0, "KVM_CREATE_IOREGION_GROUP(0x%lx): %s",
		    shadow_size, strerror(errno));
	return fd;
}

static uint8_t *map_shadow(int gfd, uint64_t shadow_size)
{
	void *p = mmap(NULL, 2 * shadow_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, gfd, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap of the shadow: %s", strerror(errno));
	return p;
}

static int try_set(struct kvm_vm *vm, struct kvm_ioregion r)
{
	return __kvm_set_ioregion(vm, &r);
}

static struct kvm_ioregion grouped(uint64_t gpa, uint64_t size,
				   struct ioregionfd_link *l, uint32_t flags,
				   int gfd, uint64_t shadow_offset)
{
	struct kvm_ioregion r = ioregion(gpa, size, l->kvm_rfd, l->kvm_wfd,
					 flags | KVM_IOREGION_GROUP);

	r.group_fd = gfd;
	r.shadow_offset = shadow_offset;
	r.user_data = UD;
	return r;
}

/* A VM with regions A, B and PIO in one group, C in another. */
struct setup {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct device d;
	struct port a, b, c;
	int gfd, gfd_c;
};

static void setup(struct setup *s, void *guest, uint32_t timeout_ms)
{
	struct kvm_ioregion r;
	uint64_t i;

	memset(s, 0, sizeof(*s));
	s->vm = vm_create_with_one_vcpu(&s->vcpu, guest);
	virt_map(s->vm, GPA, GPA, 3);
	sync_global_to_guest(s->vm, nr_iter);
	s->gfd = create_group(s->vm, SHADOW);
	s->gfd_c = create_group(s->vm, 0);
	s->d.shadow = map_shadow(s->gfd, SHADOW);
	for (i = 0; i < SHADOW; i++)
		s->d.shadow[i] = pattern(i);
	publish(&s->d, STATUS, 0);
	publish(&s->d, 0x1000 + STATUS, 0);
	allow(&s->d, 0, SIDE4, 0xf);
	allow(&s->d, SIDE4, 4, 0x4);
	allow(&s->d, 0x1000, 64, 0xf);
	allow(&s->d, 0x2000, 8, 0xf);
	allow(&s->d, STATUS, 8, 0x8);
	allow(&s->d, 0x1000 + STATUS, 8, 0x8);

	port_start(&s->a, &s->d, 1);
	port_start(&s->b, &s->d, 2);
	port_start(&s->c, &s->d, 3);
	r = grouped(GPA, 0x1000, &s->a.link, KVM_IOREGION_POSTED_WRITES, s->gfd, 0);
	r.timeout_ms = timeout_ms;
	kvm_set_ioregion(s->vm, &r);
	kvm_ioregion_set(s->vm, grouped(GPA_B, 0x1000, &s->b.link,
					KVM_IOREGION_POSTED_WRITES, s->gfd, 0x1000));
	/* A's socket: one channel, one timeout. */
	r = grouped(PORT, 8, &s->a.link, KVM_IOREGION_PIO, s->gfd, 0x2000);
	r.timeout_ms = timeout_ms;
	kvm_set_ioregion(s->vm, &r);
	kvm_ioregion_set(s->vm, grouped(GPA_C, 0x1000, &s->c.link,
					KVM_IOREGION_POSTED_WRITES, s->gfd_c, 0));
}

static void teardown(struct setup *s)
{
	kvm_vm_free(s->vm);
	port_stop(&s->a);
	port_stop(&s->b);
	port_stop(&s->c);
	munmap(s->d.shadow, 2 * SHADOW);
	close(s->gfd);
	close(s->gfd_c);
}

static uint64_t commands(struct setup *s)
{
	return s->a.reads + s->a.writes + s->a.fences + s->b.reads +
	       s->b.writes + s->b.fences + s->c.reads + s->c.writes + s->c.fences;
}

static void run_to(struct kvm_vcpu *vcpu, uint64_t ucall)
{
	struct ucall uc;

	TEST_ASSERT(!ioregionfd_run(vcpu, NULL), "KVM_RUN: %s", strerror(errno));
	if (ucall == UCALL_DONE) {
		ioregionfd_expect_done(vcpu);
		return;
	}
	TEST_ASSERT(get_ucall(vcpu, &uc) == ucall, "exit %s, ucall %lu",
		    exit_reason_str(vcpu->run->exit_reason), uc.cmd);
}

static void test_sizes(void)
{
	struct setup s;
	uint64_t before;

	setup(&s, guest_sizes, 0);
	run_to(s.vcpu, UCALL_SYNC);
	before = commands(&s);
	ksft_test_result(!before,
			 "shadow loads of 1, 2, 4 and 8 bytes on two MMIO fds and PIO: %lu commands\n",
			 before);
	run_to(s.vcpu, UCALL_DONE);
	teardown(&s);
	ksft_test_result(s.a.reads == 3 && commands(&s) == 3,
			 "loads the access map does not allow reach the device: %lu reads\n",
			 s.a.reads);
}

static void test_order(enum order_read how, const char *what)
{
	struct setup s;

	nr_iter = 2000;
	setup(&s, guest_order, 0);
	s.d.apply_delay_us = 50;
	vcpu_args_set(s.vcpu, 1, how);
	run_to(s.vcpu, UCALL_DONE);
	teardown(&s);
	ksft_test_result(s.a.writes == nr_iter && s.a.fences > 0 && !s.b.fences,
			 "ordering: posted doorbell applied late, then %s: %lu times the new value, %lu fences\n",
			 what, nr_iter, s.a.fences);
}

static void test_no_wait(void)
{
	struct setup s;

	nr_iter = 1000;
	setup(&s, guest_no_wait, 0);
	s.d.apply_delay_us = 50;
	run_to(s.vcpu, UCALL_DONE);
	teardown(&s);
	ksft_test_result(!s.a.fences && !s.b.fences && !s.c.fences &&
			 s.c.writes == nr_iter && s.a.writes == nr_iter,
			 "nothing outstanding: %lu loads after posted writes elsewhere or acknowledged, %lu fences\n",
			 4 * nr_iter, s.a.fences + s.b.fences + s.c.fences);
}

static void test_never_acks(void)
{
	struct kvm_run *run;
	struct setup s;
	uint64_t t0, ms;
	bool ok;

	setup(&s, guest_fail, 300);
	s.d.mute_fences = true;
	run = s.vcpu->run;
	t0 = ioregionfd_now_ns();
	TEST_ASSERT(!ioregionfd_run(s.vcpu, NULL), "KVM_RUN: %s", strerror(errno));
	ms = (ioregionfd_now_ns() - t0) / 1000000;
	ok = run->exit_reason == KVM_EXIT_IOREGIONFD_FAILURE &&
	     run->ioregionfd_failure.reason == KVM_IOREGIONFD_FAIL_TIMEOUT &&
	     run->ioregionfd_failure.addr == GPA + STATUS &&
	     run->ioregionfd_failure.len == 8 &&
	     !run->ioregionfd_failure.is_write &&
	     run->ioregionfd_failure.user_data == UD && ms >= 300;
	if (ok) {
		run->ioregionfd_failure.data = 0x5eed;
		run_to(s.vcpu, UCALL_DONE);
	}
	teardown(&s);
	ksft_test_result(ok && s.a.fences == 1,
			 "a device that never acknowledges: failure exit (timeout) after %lu ms, the VMM's value taken\n",
			 ms);
}

static void on_signal(int sig)
{
}

static void test_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID,
				.sigev_signo = SIGALRM };
	struct itimerspec its = { 0 };
	uint64_t eintr = 0;
	struct setup s;
	timer_t timer;
	sigset_t set;

	nr_iter = 200;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	setup(&s, guest_order, 0);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	s.d.fence_delay_us = 3000;
	vcpu_args_set(s.vcpu, 1, READ_SHADOW_A);

	sigaction(SIGALRM, &sa, NULL);
	sev._sigev_un._tid = syscall(SYS_gettid);
	TEST_ASSERT(!timer_create(CLOCK_MONOTONIC, &sev, &timer), "timer_create");
	its.it_value.tv_nsec = 1000000;
	its.it_interval.tv_nsec = 1000000;
	timer_settime(timer, 0, &its, NULL);
	TEST_ASSERT(!ioregionfd_run(s.vcpu, &eintr), "KVM_RUN: %s", strerror(errno));
	timer_delete(timer);
	ioregionfd_expect_done(s.vcpu);
	teardown(&s);
	ksft_test_result(eintr > 0 && s.a.fences == nr_iter && s.a.writes == nr_iter,
			 "signals while waiting for fences: %lu -EINTR, %lu fences for %lu loads, each sent once\n",
			 eintr, s.a.fences, nr_iter);
}

/*
 * The shadow of a device that is gone (its region deassigned, or moved to
 * a restarted device's fds and group) never answers again, whatever the
 * old device still writes to its mapping.
 */
static void test_reset(void)
{
	struct kvm_vcpu *vcpu;
	struct device old = { 0 }, new = { 0 };
	struct port p_old = { 0 }, p_new = { 0 };
	struct kvm_vm *vm;
	struct kvm_ioregion r;
	int g1, g2, g3, ret;
	bool estale;

	vm = vm_create_with_one_vcpu(&vcpu, guest_reset);
	virt_map(vm, GPA, GPA, 1);
	g1 = create_group(vm, SHADOW);
	g2 = create_group(vm, SHADOW);
	old.shadow = map_shadow(g1, SHADOW);
	new.shadow = map_shadow(g2, SHADOW);
	port_start(&p_old, &old, 1);
	port_start(&p_new, &new, 2);
	publish(&old, 0, 0x1111);
	allow(&old, 0, 8, 0x8);

	kvm_ioregion_set(vm, grouped(GPA, 0x1000, &p_old.link, 0, g1, 0));
	run_to(vcpu, UCALL_SYNC);

	/* Reset: the restarted device gets new fds and a fresh group. */
	kvm_ioregion_set(vm, grouped(GPA, 0x1000, &p_new.link, 0, g2, 0));
	publish(&old, 0, 0x2222);
	run_to(vcpu, UCALL_SYNC);

	/* Teardown: the region goes, comes back in a fresh group. */
	r = grouped(GPA, 0x1000, &p_new.link, 0, g2, 0);
	r.flags |= KVM_IOREGION_DEASSIGN;
	kvm_set_ioregion(vm, &r);
	publish(&new, 0, 0x3333);
	allow(&new, 0, 8, 0x8);
	ret = try_set(vm, grouped(GPA, 0x1000, &p_new.link, 0, g2, 0));
	estale = ret == -1 && errno == ESTALE;
	g3 = create_group(vm, SHADOW);
	kvm_ioregion_set(vm, grouped(GPA, 0x1000, &p_new.link, 0, g3, 0));
	run_to(vcpu, UCALL_DONE);

	kvm_vm_free(vm);
	port_stop(&p_old);
	port_stop(&p_new);
	munmap(old.shadow, 2 * SHADOW);
	munmap(new.shadow, 2 * SHADOW);
	close(g1);
	close(g2);
	close(g3);
	ksft_test_result(estale && p_old.reads == 0 && p_new.reads == 2,
			 "reset and teardown with the shadow mapped: no stale value reaches the guest, a spent group is refused (old device %lu reads, new %lu, rebind %s)\n",
			 p_old.reads, p_new.reads, estale ? "ESTALE" : strerror(errno));
}

static long vmalloc_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	TEST_ASSERT(f, "/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmallocUsed: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Shadows are freed once their group's fd, mappings and regions are gone. */
static void test_leak(void)
{
	const uint64_t size = 1 << 20;
	struct ioregionfd_link l[8];
	uint8_t *maps[8];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	long base, peak, after = 0;
	int i, g[8];

	base = vmalloc_kb();
	vm = vm_create_with_one_vcpu(&vcpu, guest_reset);
	for (i = 0; i < 8; i++) {
		g[i] = create_group(vm, size);
		maps[i] = map_shadow(g[i], size);
		memset(maps[i], 0xff, 2 * size);
		l[i] = ioregionfd_link_open(TRANSPORT_STREAM);
		kvm_ioregion_set(vm, grouped(GPA + i * 0x1000, 0x1000, &l[i],
					     0, g[i], 0));
	}
	peak = vmalloc_kb();
	for (i = 0; i < 8; i++)
		close(g[i]);
	kvm_vm_free(vm);
	for (i = 0; i < 8; i++) {
		munmap(maps[i], 2 * size);
		ioregionfd_link_close(&l[i]);
	}
	/* Freed from a work item: give it a moment. */
	for (i = 0; i < 100; i++) {
		after = vmalloc_kb();
		if (after - base < 2048)
			break;
		usleep(20000);
	}
	/*
	 * 16 MiB of shadows; other vmalloc users come and go meanwhile
	 * (deferred frees of earlier tests), so allow them a MiB.
	 */
	ksft_test_result(peak - base >= 15 * 1024 && after - base < 2048,
			 "8 shadows of 1 MiB: vmalloc %+ld kB while in use, %+ld kB after teardown\n",
			 peak - base, after - base);
}

static void expect_errno(int ret, int err, const char *what)
{
	ksft_test_result(ret == -1 && errno == err, "rejected: %s (%s)\n",
			 what, ret == -1 ? strerror(errno) : "accepted");
}

/*
 * A VM has at most MAX_GROUPS groups at once; closing one (nothing else
 * holds it) makes room for another, and another VM has its own count.
 */
static void test_group_cap(struct kvm_vm *vm)
{
	struct kvm_ioregion_group cg = { 0 };
	int i, fds[MAX_GROUPS], extra, other_fd;
	struct kvm_vm *other;

	for (i = 0; i < MAX_GROUPS; i++)
		fds[i] = create_group(vm, 0);
	expect_errno(__vm_ioctl(vm, KVM_CREATE_IOREGION_GROUP, &cg), ENOSPC,
		     "group 257 of a VM");
	other = vm_create_barebones();
	other_fd = create_group(other, 0);
	close(fds[0]);
	extra = __vm_ioctl(vm, KVM_CREATE_IOREGION_GROUP, &cg);
	ksft_test_result(extra >= 0 && other_fd >= 0,
			 "another VM has its own groups; closing one makes room\n");
	if (extra >= 0)
		close(extra);
	for (i = 1; i < MAX_GROUPS; i++)
		close(fds[i]);
	close(other_fd);
	kvm_vm_free(other);
}

static void test_rejections(void)
{
	struct kvm_ioregion_group cg = { 0 };
	struct ioregionfd_link l, l2;
	struct kvm_ioregion r;
	struct kvm_vm *vm;
	int g, g0, sock[2];
	void *p;

	vm = vm_create_barebones();
	cg.flags = 1;
	expect_errno(__vm_ioctl(vm, KVM_CREATE_IOREGION_GROUP, &cg), EINVAL,
		     "group flags");
	cg = (struct kvm_ioregion_group) { .pad[19] = 1 };
	expect_errno(__vm_ioctl(vm, KVM_CREATE_IOREGION_GROUP, &cg), EINVAL,
		     "group pad");
	cg = (struct kvm_ioregion_group) { .shadow_size = 100 };
	expect_errno(__vm_ioctl(vm, KVM_CREATE_IOREGION_GROUP, &cg), EINVAL,
		     "shadow size not a multiple of the page size");
	cg = (struct kvm_ioregion_group) { .shadow_size = 1ull << 30 };
	expect_errno(__vm_ioctl(vm, KVM_CREATE_IOREGION_GROUP, &cg), E2BIG,
		     "shadow of 1 GiB");

	test_group_cap(vm);

	g = create_group(vm, 0x2000);
	g0 = create_group(vm, 0);
	p = mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, g0, 0);
	expect_errno(p == MAP_FAILED ? -1 : 0, ENODEV, "mmap of a group without a shadow");
	p = mmap(NULL, 0x5000, PROT_READ, MAP_SHARED, g, 0);
	expect_errno(p == MAP_FAILED ? -1 : 0, EINVAL, "mmap past the shadow and its map");

	l = ioregionfd_link_open(TRANSPORT_STREAM);
	l2 = ioregionfd_link_open(TRANSPORT_STREAM);
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sock), "socketpair");

	r = ioregion(GPA, 0x1000, l.kvm_rfd, l.kvm_wfd, 0);
	r.group_fd = g;
	expect_errno(__kvm_set_ioregion(vm, &r), EINVAL, "group_fd without KVM_IOREGION_GROUP");
	r = ioregion(GPA, 0x1000, l.kvm_rfd, l.kvm_wfd, 0);
	r.shadow_offset = 8;
	expect_errno(__kvm_set_ioregion(vm, &r), EINVAL,
		     "shadow_offset without KVM_IOREGION_GROUP");
	r = grouped(GPA, 0x1000, &l, 0, g, 0);
	r.pad1 = 1;
	expect_errno(__kvm_set_ioregion(vm, &r), EINVAL, "non-zero pad1");
	expect_errno(try_set(vm, grouped(GPA, 0x1000, &l, 0, -1, 0)), EBADF,
		     "group_fd -1");
	expect_errno(try_set(vm, grouped(GPA, 0x1000, &l, 0, sock[0], 0)),
		     EINVAL, "group_fd is a socket");
	expect_errno(try_set(vm, grouped(GPA, 0x1000, &l, 0, g, 0x1008)), EINVAL,
		     "region runs past the shadow");
	expect_errno(try_set(vm, grouped(GPA, 0x1000, &l, 0, g, 1ull << 62)),
		     EINVAL, "shadow_offset far past the shadow");
	expect_errno(try_set(vm, grouped(GPA, 0x1000, &l, 0, g0, 8)), EINVAL,
		     "shadow_offset in a group without a shadow");

	kvm_ioregion_set(vm, grouped(GPA, 0x1000, &l, 0, g, 0));
	expect_errno(try_set(vm, grouped(GPA_B, 0x1000, &l, 0, g0, 0)), EBUSY,
		     "the same fds in another group");
	expect_errno(try_set(vm, ioregion(GPA_B, 0x1000, l.kvm_rfd, l.kvm_wfd, 0)),
		     EBUSY, "the same fds outside the group");
	expect_errno(try_set(vm, grouped(GPA, 0x1000, &l2, 0, g, 8)), EEXIST,
		     "moving a region to other fds with another shadow_offset");
	r = grouped(GPA, 0x1000, &l2, 0, g, 0);
	r.shadow_offset = 0;
	r.flags &= ~KVM_IOREGION_GROUP;
	r.group_fd = 0;
	expect_errno(__kvm_set_ioregion(vm, &r), EEXIST,
		     "moving a grouped region out of its group");
	r = grouped(GPA, 0x1000, &l, KVM_IOREGION_DEASSIGN, g, 0);
	kvm_set_ioregion(vm, &r);
	expect_errno(try_set(vm, grouped(GPA, 0x1000, &l, 0, g, 0)), ESTALE,
		     "a group whose regions are all gone");

	kvm_vm_free(vm);
	ioregionfd_link_close(&l);
	ioregionfd_link_close(&l2);
	close(sock[0]);
	close(sock[1]);
	close(g);
	close(g0);
}

int main(int argc, char *argv[])
{
	int caps;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_IOREGIONFD));
	caps = kvm_check_cap(KVM_CAP_IOREGIONFD);
	TEST_REQUIRE(caps & KVM_IOREGION_GROUP);

	ksft_print_header();
	ksft_set_plan(31);

	test_sizes();
	test_order(READ_SHADOW_A, "a shadow load");
	test_order(READ_SHADOW_B, "a shadow load through the group's other fd");
	test_order(READ_FD_B, "a load through the group's other fd");
	test_no_wait();
	test_never_acks();
	test_signals();
	test_reset();
	test_leak();
	test_rejections();
	ksft_finished();
}
