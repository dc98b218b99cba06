// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioregion_bench: the cost of one guest access through every MMIO path,
 * side by side in one boot, so that ratios mean something even where
 * absolute times (emulation) do not.
 *
 * Every mode runs alone: the device process that serves it is started for
 * its batch and killed after it, so a busy-polling device spins only
 * through its own mode.  The modes take turns, batch by batch, in an order
 * rotated at each repetition, so drift hits all of them alike: REPS rounds
 * of one COUNT-access batch per mode, after WARMUP discarded rounds.
 *
 * Latency is per access: the guest reads its TSC (lfence; rdtsc; lfence)
 * around each access and keeps the difference, the host turns the first
 * LAT_MAX of each batch into ns with KVM_GET_TSC_KHZ and reports
 * p50/p90/p99/p99.9 over every timed batch.  The batch as the host sees it
 * around KVM_RUN (exits to this process, the forwarding hop) is kept too,
 * as ns per access: the only figure for the sustained posted-write mode,
 * whose cost is the device applying writes once the socket buffer is full.
 *
 * Devices are libioregion device processes (the recv engine, or io_uring
 * busy-polling).  The forwarded modes hand KVM_EXIT_MMIO to the same kind
 * of device over a UNIX socket: a lean two-syscall hop (the VMM thread
 * writes the command and reads the answer), a lower bound of what
 * multi-process QEMU does (mk/bench.sh measures QEMU itself separately).
 * The polled baseline busy-polls on both sides, as the polled ioregionfd
 * mode does; in that mode the vCPU also polls for up to POLL_NS before it
 * sleeps (kvm.ioregion_poll_ns, set for that mode's batches only).
 *
 * With a device that sleeps, the vCPU polling for it is set against the
 * VMM polling for it (forwarded_read_vmm_polling).
 *
 * The vCPU's poll budget adapts to the device (kvm.ioregion_poll_ns_grow);
 * the _fixed modes are the same with it fixed at POLL_NS
 * (ioregion_poll_ns_grow=0, the kernel before adapting): the fast device
 * (busy-polling), the blocking one, and a device slower than the budget
 * (it answers 2 * POLL_NS late, COUNT / 10 accesses a batch), where a fixed
 * budget burns POLL_NS of the vCPU's CPU on every access.
 *
 *   ioregion_bench [-n COUNT] [-r REPS] [-a ACCEL] [-P POLL_NS] [-m MODE,...]
 *
 * -m measures only the modes named (no scaling series, no JSON): a known
 * load to look at with ioregion_lat or perf.  -m scaling runs only the
 * scaling series (1 and 2 vCPUs, one fd or one each); -m scaling_exit the
 * same reads answered at KVM_EXIT_MMIO, without ioregionfd: whether the
 * test machine's emulator runs two nested vCPUs at once (README; without
 * -a tcg, which puts the vCPU threads on one CPU).
 *
 * Built with the KVM selftest library (see mk/selftests.sh); `make bench`
 * runs it in the test machine booted with the `bench` kernel.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include "libioregion.h"

#include "apic.h"
#include "kvm_util.h"
#include "processor.h"

#include "../test/kvm_param.h"

#define SYNC_GPA	0xc0000000ull	/* ioregionfd, recv engine */
#define POSTED_GPA	0xc0001000ull	/* the same socket, posted writes */
#define POLL_GPA	0xc0002000ull	/* ioregionfd, io_uring busy-poll */
#define EVENTFD_GPA	0xc0003000ull	/* ioeventfd */
#define EXIT_GPA	0xc0004000ull	/* nothing: KVM_EXIT_MMIO */
#define SHADOW_GPA	0xc0005000ull	/* ioregionfd, every load from the shadow */
#define COALESCED_GPA	0xc0006000ull	/* KVM_REGISTER_COALESCED_MMIO */
#define VPOLL_GPA	0xc0007000ull	/* ioregionfd, recv engine, vCPU polls */
#define SLOW_GPA	0xc0008000ull	/* ioregionfd, a device 2 * POLL_NS late */
#define NR_PAGES	9		/* from SYNC_GPA */
#define SCALE_GPA	0xc0010000ull	/* one page per vCPU */
#define APIC_VERSION	(APIC_DEFAULT_GPA + 0x30)
#define IOAPIC_GPA	0xfec00000ull	/* IOREGSEL: KVM's in-kernel IOAPIC */
#define WARMUP		2
#define MAX_REPS	100
#define LAT_MAX		4096	/* accesses timed one by one, per batch */
#define SUSTAINED	10000	/* posted writes: far past the socket buffer */
#define BURSTS		7
#define SCALING_TIMEOUT_S	300	/* the whole scaling series */

static int count = 1000, reps = 10;
static const char *accel = "unknown";
static long poll_ns = 1000000;
static const char *only;	/* -m: the modes to measure, comma-separated */
static char scaling_err[128];	/* why the scaling series has no figures */

/* ---- guest: runs what the host put in these, one batch per SYNC ---- */

enum op { OP_NOP, OP_READ, OP_WRITE, OP_BURST };
/* Reloaded after each SYNC; g_flush: read after the batch, if set. */
static uint64_t g_addr, g_flush, g_n, g_burst;
static int g_op;
static uint64_t g_lat[LAT_MAX];	/* TSC ticks per access */

static void guest_code(uint64_t vcpu_offset)
{
	uint64_t i, j, addr, t;

	for (;;) {
		GUEST_SYNC(0);
		addr = g_addr + vcpu_offset;	/* a page of its own per vCPU */
		if (g_op == OP_BURST) {
			/* Posted writes, then a read that waits for them all. */
			for (i = 0; i < g_n; i += g_burst) {
				for (j = 0; j < g_burst; j++)
					*(volatile uint32_t *)addr = j;
				(void)*(volatile uint32_t *)g_flush;
			}
			continue;
		}
		/* OP_NOP: nothing between the two TSC reads, their own cost. */
		for (i = 0; i < g_n; i++) {
			t = rdtsc();
			if (g_op == OP_READ)
				(void)*(volatile uint32_t *)addr;
			else if (g_op == OP_WRITE)
				*(volatile uint32_t *)addr = i;
			t = rdtsc() - t;
			if (i < LAT_MAX)
				g_lat[i] = t;
		}
		if (g_flush)
			(void)*(volatile uint32_t *)g_flush;
	}
}

/* ---- devices: libioregion processes, one per batch ---- */

static uint64_t dev_delay_ns;	/* DEV_SLOW: how late it answers */

static uint64_t dev_read(void *o, uint64_t ud, uint64_t off, unsigned int size)
{
	struct timespec ts = { dev_delay_ns / 1000000000, dev_delay_ns % 1000000000 };

	while (dev_delay_ns && clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
	return 0x1234;
}

static volatile uint64_t dev_applied;

static void dev_write(void *o, uint64_t ud, uint64_t off, unsigned int size, uint64_t v)
{
	dev_applied += v;	/* the write's effect */
}

static const struct ioregion_ops dev_ops = { .read = dev_read, .write = dev_write };

/* recv engine; io_uring; io_uring busy-polling; recv, 2 * poll_ns late */
enum dev_kind { DEV_NONE, DEV_RECV, DEV_URING, DEV_POLL, DEV_SLOW };

/*
 * Fork a device serving @fd[0..@nr) (the device's ends of socket pairs).
 * It inherits the VM's fds, so it would keep the VM (and so its own
 * sockets) alive: device_stop() kills it.
 */
static pid_t device_start(const int *fd, int nr, enum dev_kind kind)
{
	IOREGION_DEV_OPTS(opts,
			  .engine = kind == DEV_RECV || kind == DEV_SLOW ?
				    IOREGION_ENGINE_RECV : IOREGION_ENGINE_URING,
			  .flags = kind == DEV_POLL ? IOREGION_F_BUSY_POLL : 0);
	struct ioregion_dev *dev;
	int i, ready[2];
	char c = 0;
	pid_t pid;

	TEST_ASSERT(!pipe(ready), "pipe");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		/* Also when the process that started it dies first. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dev_delay_ns = kind == DEV_SLOW ? 2 * poll_ns : 0;
		TEST_ASSERT(!ioregion_dev_create(&dev, &dev_ops, NULL, &opts),
			    "device");
		for (i = 0; i < nr; i++)
			TEST_ASSERT(!ioregion_dev_add_fds(dev, fd[i], fd[i]), "fds");
		TEST_ASSERT(write(ready[1], &c, 1) == 1, "device ready");
		while (ioregion_serve(dev, -1) >= 0)
			;
		_exit(0);
	}
	/* Set up before the batch starts: its first access pays no start-up. */
	TEST_ASSERT(read(ready[0], &c, 1) == 1, "device %d did not start", pid);
	close(ready[0]);
	close(ready[1]);
	return pid;
}

static void device_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void bind_region(struct kvm_vm *vm, uint64_t gpa, int fd, uint32_t flags)
{
	struct kvm_ioregion r = {
		.guest_paddr = gpa, .memory_size = 0x1000, .user_data = gpa,
		.read_fd = fd, .write_fd = fd, .flags = flags,
	};

	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_IOREGION, &r), "KVM_SET_IOREGION 0x%lx: %s",
		    gpa, strerror(errno));
}

/*
 * A page whose every load the device shadow answers: no device serves
 * @sock[1], so a load that reached it would end the run at the timeout.
 */
static int bind_shadow(struct kvm_vm *vm, int *sock, uint8_t **shadow)
{
	struct kvm_ioregion_group g = { .shadow_size = 0x1000 };
	struct kvm_ioregion r = {
		.guest_paddr = SHADOW_GPA, .memory_size = 0x1000,
		.user_data = SHADOW_GPA, .flags = KVM_IOREGION_GROUP,
		.timeout_ms = 1000,
	};
	int gfd = ioctl(vm->fd, KVM_CREATE_IOREGION_GROUP, &g);

	TEST_ASSERT(gfd >= 0, "KVM_CREATE_IOREGION_GROUP: %s", strerror(errno));
	*shadow = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_SHARED, gfd, 0);
	TEST_ASSERT(*shadow != MAP_FAILED, "mmap of the shadow: %s", strerror(errno));
	memset(*shadow, 0x5a, 0x1000);
	memset(*shadow + 0x1000, 0xf, 0x1000);	/* every size, every byte */
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sock), "socketpair");
	r.read_fd = sock[0];
	r.write_fd = sock[0];
	r.group_fd = gfd;
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_IOREGION, &r), "KVM_SET_IOREGION (shadow): %s",
		    strerror(errno));
	return gfd;
}

/* ---- the VMM thread: how it handles KVM_EXIT_MMIO in each mode ---- */

enum vmm_kind {
	VMM_ANSWER,		/* answers reads itself */
	VMM_FORWARD,		/* forwards to the device, sleeps for the answer */
	VMM_FORWARD_POLL,	/* the same, busy-polling for the answer */
	VMM_FORWARD_POSTED,	/* forwards writes without waiting */
};

static enum vmm_kind vmm = VMM_ANSWER;
static int fwd_fd = -1;		/* forwarded modes: the device's socket */
static uint32_t fwd_tag;
static struct kvm_coalesced_mmio_ring *ring;
static unsigned int ring_max;
static uint64_t ring_drained;	/* writes to the coalesced zone the VMM applied */

static void recv_resp(struct ioregionfd_resp *resp, bool poll)
{
	ssize_t n;

	do
		n = recv(fwd_fd, resp, sizeof(*resp), poll ? MSG_DONTWAIT : 0);
	while (n < 0 && (errno == EAGAIN || errno == EINTR));
	TEST_ASSERT(n == sizeof(*resp), "forwarded response: %zd", n);
}

/* KVM_EXIT_MMIO as multi-process QEMU handles it: ask the device. */
static void forward(struct kvm_run *run)
{
	struct ioregionfd_cmd cmd = {
		.op = run->mmio.is_write, .size = run->mmio.len,
		.flags = IOREGIONFD_CMD_RESPONSE, .tag = ++fwd_tag,
		.user_data = EXIT_GPA, .offset = run->mmio.phys_addr - EXIT_GPA,
	};
	struct ioregionfd_resp resp;

	if (run->mmio.is_write) {
		memcpy(&cmd.data, run->mmio.data, run->mmio.len);
		if (vmm == VMM_FORWARD_POSTED)
			cmd.flags = 0;
	}
	TEST_ASSERT(write(fwd_fd, &cmd, sizeof(cmd)) == sizeof(cmd), "forward");
	if (!cmd.flags)
		return;
	recv_resp(&resp, vmm == VMM_FORWARD_POLL);
	TEST_ASSERT(resp.tag == cmd.tag, "forwarded response: tag %u for %u",
		    resp.tag, cmd.tag);
	if (!run->mmio.is_write)
		memcpy(run->mmio.data, &resp.data, run->mmio.len);
}

/*
 * What a VMM does with the coalesced-MMIO ring at each exit: apply the
 * writes queued there, oldest first.
 */
static void drain_ring(void)
{
	uint32_t first = ring->first;

	while (first != READ_ONCE(ring->last)) {
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		dev_applied += ring->coalesced_mmio[first].data[0];
		ring_drained++;
		first = (first + 1) % ring_max;
	}
	__atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Run the guest to its next SYNC, answering MMIO exits on the way. */
static void run_batch(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		if (ring)
			drain_ring();
		if (run->exit_reason == KVM_EXIT_MMIO) {
			if (ring && run->mmio.is_write) {
				/* The ring was full: this one exits. */
				dev_applied += run->mmio.data[0];
				ring_drained++;
			} else if (fwd_fd >= 0) {
				forward(run);
			} else if (!run->mmio.is_write) {
				memset(run->mmio.data, 0x34, run->mmio.len);
			}
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			return;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			/* Where the guest was: a shutdown is a triple fault. */
			vcpu_regs_get(vcpu, &regs);
			TEST_FAIL("vCPU %u: exit %s at rip 0x%llx (guest_code at %p)",
				  vcpu->id, exit_reason_str(run->exit_reason),
				  regs.rip, guest_code);
		}
	}
}

static void set_op(struct kvm_vm *vm, enum op op, uint64_t addr, uint64_t n,
		   uint64_t flush)
{
	g_op = op;
	g_addr = addr;
	g_n = n;
	g_flush = flush;
	sync_global_to_guest(vm, g_op);
	sync_global_to_guest(vm, g_addr);
	sync_global_to_guest(vm, g_n);
	sync_global_to_guest(vm, g_flush);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The @q quantile of the sorted @v[@n] (nearest rank). */
static double quantile(const uint64_t *v, size_t n, double q)
{
	size_t k = (size_t)(q * n + 0.999999);

	return v[k ? k - 1 : 0];
}

static bool wanted(const char *name)
{
	size_t len = strlen(name);
	const char *p;

	if (!only)
		return true;
	for (p = only; (p = strstr(p, name)); p += len)
		if ((p == only || p[-1] == ',') && (!p[len] || p[len] == ','))
			return true;
	return false;
}

/*
 * ---- event counts per thread: what holds on any host ----
 *
 * Counted with perf in the test machine, in one untimed batch per mode, on the vCPU
 * thread (which is also the VMM's) and on the device's side (its process,
 * or the thread that reads the eventfd): VM exits, exits to userspace,
 * syscalls, context switches, wake-ups issued and CPU time.  None of them
 * depends on how fast the emulator is.  Work the kernel does for a thread
 * in an io_uring worker or softirq is not in that thread's counts.
 */
enum ev { EV_EXITS, EV_USER_EXITS, EV_SYSCALLS, EV_CSW, EV_WAKING, EV_CPU_NS, NR_EVS };
enum side { SIDE_VCPU, SIDE_DEVICE, NR_SIDES };

static const struct {
	const char *name, *tp;	/* tp: a tracepoint, else the software event sw */
	uint64_t sw;
} evs[NR_EVS] = {
	[EV_EXITS]	= { "vm_exits", "kvm/kvm_exit" },
	[EV_USER_EXITS]	= { "userspace_exits", "kvm/kvm_userspace_exit" },
	[EV_SYSCALLS]	= { "syscalls", "raw_syscalls/sys_enter" },
	[EV_CSW]	= { "context_switches", NULL, PERF_COUNT_SW_CONTEXT_SWITCHES },
	[EV_WAKING]	= { "wakeups", "sched/sched_waking" },
	[EV_CPU_NS]	= { "cpu_ns", NULL, PERF_COUNT_SW_TASK_CLOCK },
};

static long ev_tp_id[NR_EVS];	/* < 0: not in this kernel (or no tracefs) */
static pid_t drain_tid;		/* the ioeventfd's reader */

static void events_init(void)
{
	static const char *const base[] = { "/sys/kernel/tracing/events",
					     "/sys/kernel/debug/tracing/events" };
	char path[128];
	FILE *f;
	int i, j;

	for (i = 0; i < NR_EVS; i++) {
		ev_tp_id[i] = evs[i].tp ? -1 : 0;
		for (j = 0; evs[i].tp && j < 2 && ev_tp_id[i] < 0; j++) {
			snprintf(path, sizeof(path), "%s/%s/id", base[j], evs[i].tp);
			f = fopen(path, "r");
			if (!f)
				continue;
			if (fscanf(f, "%ld", &ev_tp_id[i]) != 1)
				ev_tp_id[i] = -1;
			fclose(f);
		}
	}
}

/* Disabled counters for thread (or process) @tid; -1 where not countable. */
static void events_open(int *fd, pid_t tid)
{
	struct perf_event_attr a = { .size = sizeof(a), .disabled = 1 };
	int i;

	for (i = 0; i < NR_EVS; i++) {
		fd[i] = -1;
		if (ev_tp_id[i] < 0 || !tid)
			continue;
		a.type = evs[i].tp ? PERF_TYPE_TRACEPOINT : PERF_TYPE_SOFTWARE;
		a.config = evs[i].tp ? (uint64_t)ev_tp_id[i] : evs[i].sw;
		fd[i] = syscall(__NR_perf_event_open, &a, tid, -1, -1, 0);
	}
}

static void events_ctl(int fd[NR_SIDES][NR_EVS], unsigned long op)
{
	int s, i;

	for (s = 0; s < NR_SIDES; s++)
		for (i = 0; i < NR_EVS; i++)
			if (fd[s][i] >= 0)
				TEST_ASSERT(!ioctl(fd[s][i], op, 0), "perf ioctl");
}

/* ---- the single-vCPU modes ---- */

/* One socket per device, so that no mode inherits another's poll budget. */
enum sock { SOCK_IOR, SOCK_POLL, SOCK_FWD, SOCK_VPOLL, SOCK_SLOW, NR_SOCKS };

enum mode { TSC_PAIR, INKERNEL, IOAPIC, USER_EXIT, FORWARDED, FWD_POLL,
	    FWD_VMM_POLL, FWD_POSTED, COALESCED, IOR_READ, IOR_WRITE, IOR_POSTED,
	    IOR_SUSTAINED, IOR_POLL, IOR_POLL_FIXED, IOR_VPOLL, IOR_VPOLL_FIXED,
	    IOR_SLOW, IOR_SLOW_FIXED, IOEVENTFD, SHADOW, NR_MODES };

/* The vCPU's poll: none, up to poll_ns adapting, or poll_ns every time. */
enum vcpu_poll { VPOLL_NONE, VPOLL_ADAPT, VPOLL_FIXED };

static struct result {
	const char *name, *what;
	enum op op;
	uint64_t gpa, flush;
	enum dev_kind dev;
	enum sock sock;
	enum vmm_kind vmm;
	enum vcpu_poll vcpu_poll;
	bool coalesced, eventfd;
	bool sustained;	/* SUSTAINED accesses, judged by the batch time */
	bool short_batch;	/* COUNT / 10 accesses a batch */
	/* results */
	uint64_t *lat, batch[MAX_REPS];
	size_t nlat;
	uint64_t ev[NR_SIDES][NR_EVS], ev_accesses;
	bool ev_valid[NR_SIDES][NR_EVS];
	double p50, p90, p99, p999, batch_ns;
	bool valid;
} results[NR_MODES] = {
	[TSC_PAIR]   = { "tsc_pair", "two guest TSC reads, no access (the timer's own cost)",
			 OP_NOP },
	[INKERNEL]   = { "inkernel_read",
			 "xAPIC register, answered by KVM (may not exit with APICv/AVIC)",
			 OP_READ, APIC_VERSION },
	[IOAPIC]     = { "ioapic_read",
			 "IOAPIC IOREGSEL, answered by KVM's io bus (exits on any host)",
			 OP_READ, IOAPIC_GPA },
	[USER_EXIT]  = { "userspace_exit_read", "KVM_EXIT_MMIO, answered by the VMM thread",
			 OP_READ, EXIT_GPA },
	[FORWARDED]  = { "forwarded_read", "KVM_EXIT_MMIO, forwarded to a device process",
			 OP_READ, EXIT_GPA, 0, DEV_RECV, SOCK_FWD, VMM_FORWARD },
	[FWD_POLL]   = { "forwarded_read_polling", "the same, VMM and device busy-poll",
			 OP_READ, EXIT_GPA, 0, DEV_POLL, SOCK_FWD, VMM_FORWARD_POLL },
	[FWD_VMM_POLL] = { "forwarded_read_vmm_polling",
			 "the same, the VMM busy-polls, the device sleeps (recv engine)",
			 OP_READ, EXIT_GPA, 0, DEV_RECV, SOCK_FWD, VMM_FORWARD_POLL },
	[FWD_POSTED] = { "forwarded_posted_write", "KVM_EXIT_MMIO, forwarded without waiting",
			 OP_WRITE, EXIT_GPA, EXIT_GPA, DEV_RECV, SOCK_FWD, VMM_FORWARD_POSTED },
	[COALESCED]  = { "coalesced_mmio_write", "KVM's coalesced MMIO ring, drained by the VMM",
			 OP_WRITE, COALESCED_GPA, COALESCED_GPA, .coalesced = true },
	[IOR_READ]   = { "ioregionfd_read", "ioregionfd read, device: recv engine",
			 OP_READ, SYNC_GPA, 0, DEV_RECV, SOCK_IOR },
	[IOR_WRITE]  = { "ioregionfd_write", "ioregionfd write, waits for the device",
			 OP_WRITE, SYNC_GPA, 0, DEV_RECV, SOCK_IOR },
	[IOR_POSTED] = { "ioregionfd_posted_write", "ioregionfd posted write (enqueue)",
			 OP_WRITE, POSTED_GPA, SYNC_GPA, DEV_RECV, SOCK_IOR },
	[IOR_SUSTAINED] = { "ioregionfd_posted_sustained",
			 "posted writes, socket buffer full: the device's pace",
			 OP_WRITE, POSTED_GPA, SYNC_GPA, DEV_RECV, SOCK_IOR, .sustained = true },
	[IOR_POLL]   = { "ioregionfd_read_polling", "ioregionfd read, device: io_uring busy-poll",
			 OP_READ, POLL_GPA, 0, DEV_POLL, SOCK_POLL, .vcpu_poll = VPOLL_ADAPT },
	[IOR_POLL_FIXED] = { "ioregionfd_read_polling_fixed",
			 "the same, the vCPU's budget fixed (before adapting)",
			 OP_READ, POLL_GPA, 0, DEV_POLL, SOCK_POLL, .vcpu_poll = VPOLL_FIXED },
	[IOR_VPOLL]  = { "ioregionfd_read_vcpu_polling",
			 "ioregionfd read, device: recv engine (sleeps), vCPU polls, adapting",
			 OP_READ, VPOLL_GPA, 0, DEV_RECV, SOCK_VPOLL, .vcpu_poll = VPOLL_ADAPT },
	[IOR_VPOLL_FIXED] = { "ioregionfd_read_vcpu_polling_fixed",
			 "the same, the vCPU's budget fixed",
			 OP_READ, VPOLL_GPA, 0, DEV_RECV, SOCK_VPOLL, .vcpu_poll = VPOLL_FIXED },
	[IOR_SLOW]   = { "ioregionfd_read_slow_device",
			 "ioregionfd read, device answers 2 x the budget late, vCPU polls, adapting",
			 OP_READ, SLOW_GPA, 0, DEV_SLOW, SOCK_SLOW, .vcpu_poll = VPOLL_ADAPT,
			 .short_batch = true },
	[IOR_SLOW_FIXED] = { "ioregionfd_read_slow_device_fixed",
			 "the same, the vCPU's budget fixed",
			 OP_READ, SLOW_GPA, 0, DEV_SLOW, SOCK_SLOW, .vcpu_poll = VPOLL_FIXED,
			 .short_batch = true },
	[IOEVENTFD]  = { "ioeventfd_write", "ioeventfd, no data (the closest today)",
			 OP_WRITE, EVENTFD_GPA, .eventfd = true },
	[SHADOW]     = { "shadow_read", "ioregionfd read from the device shadow, no command",
			 OP_READ, SHADOW_GPA },
};

/* Accesses in a batch of @m. */
static uint64_t batch_len(const struct result *m)
{
	if (m->sustained)
		return SUSTAINED;
	return m->short_batch && count >= 100 ? count / 10 : count;
}

static const uint64_t bursts[BURSTS] = { 1, 4, 16, 64, 256, 1024, 4096 };
static double burst_ns[BURSTS];

static void *eventfd_drain(void *arg)
{
	uint64_t v;

	__atomic_store_n(&drain_tid, gettid(), __ATOMIC_RELEASE);
	while (read(*(int *)arg, &v, sizeof(v)) > 0)
		;
	return NULL;
}

struct bench_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int socks[NR_SOCKS][2];	/* [0]: KVM's or the VMM's end, [1]: the device's */
	uint64_t tsc_khz;
};

/* Discarded, timed, or counted (untimed: perf's tracepoints cost time). */
enum batch_kind { WARM, TIMED, COUNTED };

/*
 * One batch of mode @m: its device started for it, the VMM set up its way,
 * the guest run to its next SYNC.  TIMED keeps the host's time and the
 * guest's per-access times in ns, COUNTED the event counts.
 */
static void one_batch(struct bench_vm *b, struct result *m, int rep,
		      enum batch_kind kind)
{
	uint64_t n = batch_len(m), t0, t, i, nl, *lat, v;
	int evfd[NR_SIDES][NR_EVS], sd, e;
	long old_poll = -1, old_grow = -1;
	pid_t pid = 0;

	if (m->dev)
		pid = device_start(&b->socks[m->sock][1], 1, m->dev);
	vmm = m->vmm;
	fwd_fd = m->vmm != VMM_ANSWER ? b->socks[SOCK_FWD][0] : -1;
	if (m->coalesced) {
		ring = (void *)b->vcpu->run +
		       kvm_check_cap(KVM_CAP_COALESCED_MMIO) * getpagesize();
		ring_max = (getpagesize() - sizeof(*ring)) / sizeof(ring->coalesced_mmio[0]);
		ring_drained = 0;
	}
	if (m->vcpu_poll)
		old_poll = set_param(POLL_PARAM, poll_ns);
	if (m->vcpu_poll == VPOLL_FIXED)
		old_grow = set_param(GROW_PARAM, 0);
	set_op(b->vm, m->op, m->gpa, n, m->flush);
	if (kind == COUNTED) {
		events_open(evfd[SIDE_VCPU], gettid());
		events_open(evfd[SIDE_DEVICE], pid ? pid : m->eventfd ? drain_tid : 0);
		events_ctl(evfd, PERF_EVENT_IOC_ENABLE);
	}

	t0 = now_ns();
	run_batch(b->vcpu);
	t = now_ns() - t0;

	if (kind == COUNTED) {
		events_ctl(evfd, PERF_EVENT_IOC_DISABLE);
		for (sd = 0; sd < NR_SIDES; sd++)
			for (e = 0; e < NR_EVS; e++) {
				if (evfd[sd][e] < 0)
					continue;
				TEST_ASSERT(read(evfd[sd][e], &v, sizeof(v)) == sizeof(v),
					    "reading a perf counter");
				m->ev[sd][e] += v;
				m->ev_valid[sd][e] = true;
				close(evfd[sd][e]);
			}
		m->ev_accesses += n;
	}

	if (old_poll >= 0)
		set_param(POLL_PARAM, old_poll);
	if (old_grow >= 0)
		set_param(GROW_PARAM, old_grow);
	if (m->coalesced) {
		TEST_ASSERT(ring_drained == n, "coalesced MMIO: %lu of %lu writes applied",
			    ring_drained, n);
		ring = NULL;
	}
	fwd_fd = -1;
	vmm = VMM_ANSWER;
	if (pid)
		device_stop(pid);
	if (kind != TIMED)
		return;
	m->batch[rep] = t;
	lat = addr_gva2hva(b->vm, (gva_t)g_lat);
	nl = n < LAT_MAX ? n : LAT_MAX;
	for (i = 0; i < nl; i++)
		m->lat[m->nlat++] = lat[i] * 1000000 / b->tsc_khz;
}

static void summarise(struct result *m)
{
	double per = batch_len(m);

	qsort(m->lat, m->nlat, sizeof(m->lat[0]), cmp_u64);
	qsort(m->batch, reps, sizeof(m->batch[0]), cmp_u64);
	m->p50 = quantile(m->lat, m->nlat, 0.5);
	m->p90 = quantile(m->lat, m->nlat, 0.9);
	m->p99 = quantile(m->lat, m->nlat, 0.99);
	m->p999 = quantile(m->lat, m->nlat, 0.999);
	m->batch_ns = m->batch[reps / 2] / per;
	m->valid = true;
}

static void single_vcpu_modes(void)
{
	struct kvm_ioeventfd ioev = { .addr = EVENTFD_GPA, .len = 4 };
	int evfd, gfd, shadow_sock[2], i, r, k, nr = 0;
	struct result *order[NR_MODES];
	struct bench_vm b = { 0 };
	uint8_t *shadow;
	static char poll_what[96];
	pthread_t drain;
	pid_t pid;

	events_init();
	b.vm = vm_create_with_one_vcpu(&b.vcpu, guest_code);
	vcpu_args_set(b.vcpu, 1, 0);
	virt_map(b.vm, SYNC_GPA, SYNC_GPA, NR_PAGES);
	virt_pg_map(b.vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);
	virt_pg_map(b.vm, IOAPIC_GPA, IOAPIC_GPA);
	b.tsc_khz = __vcpu_ioctl(b.vcpu, KVM_GET_TSC_KHZ, NULL);
	TEST_ASSERT((int64_t)b.tsc_khz > 0, "KVM_GET_TSC_KHZ: %s", strerror(errno));

	for (i = 0; i < NR_SOCKS; i++)
		TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, b.socks[i]), "socketpair");
	bind_region(b.vm, SYNC_GPA, b.socks[SOCK_IOR][0], 0);
	bind_region(b.vm, POSTED_GPA, b.socks[SOCK_IOR][0], KVM_IOREGION_POSTED_WRITES);
	bind_region(b.vm, POLL_GPA, b.socks[SOCK_POLL][0], 0);
	bind_region(b.vm, VPOLL_GPA, b.socks[SOCK_VPOLL][0], 0);
	bind_region(b.vm, SLOW_GPA, b.socks[SOCK_SLOW][0], 0);
	evfd = eventfd(0, 0);
	ioev.fd = evfd;
	TEST_ASSERT(!ioctl(b.vm->fd, KVM_IOEVENTFD, &ioev), "KVM_IOEVENTFD");
	pthread_create(&drain, NULL, eventfd_drain, &evfd);
	while (!__atomic_load_n(&drain_tid, __ATOMIC_ACQUIRE))
		sched_yield();
	gfd = bind_shadow(b.vm, shadow_sock, &shadow);
	kvm_vm_register_coalesced_io(b.vm, COALESCED_GPA, 0x1000, false);
	if (!access(POLL_PARAM, W_OK)) {	/* the polled mode's batches set it */
		snprintf(poll_what, sizeof(poll_what), "%s, vCPU polls %ld us",
			 results[IOR_POLL].what, poll_ns / 1000);
		results[IOR_POLL].what = poll_what;
	}

	for (i = 0; i < NR_MODES; i++) {
		if (!wanted(results[i].name))
			continue;
		results[i].lat = calloc((size_t)reps * LAT_MAX, sizeof(uint64_t));
		TEST_ASSERT(results[i].lat, "calloc");
		order[nr++] = &results[i];
	}
	run_batch(b.vcpu);	/* to the guest's first SYNC */
	/* Round r runs every mode once, starting with mode r (mod nr). */
	for (r = 0; r < WARMUP + reps; r++)
		for (k = 0; k < nr; k++)
			one_batch(&b, order[(k + r) % nr], r - WARMUP,
				  r < WARMUP ? WARM : TIMED);
	/* Counting perturbs timing (tracepoints on): a round of its own. */
	for (k = 0; k < nr; k++)
		one_batch(&b, order[k], 0, COUNTED);
	for (k = 0; k < nr; k++)
		summarise(order[k]);
	if (only)
		goto out;

	/* Posted writes in bursts, each closed by one read: batching. */
	pid = device_start(&b.socks[SOCK_IOR][1], 1, DEV_RECV);
	for (k = 0; k < BURSTS; k++) {
		uint64_t n = bursts[k] > 1024 ? bursts[k] : 1024, t0;
		uint64_t t[MAX_REPS];

		g_burst = bursts[k];
		sync_global_to_guest(b.vm, g_burst);
		set_op(b.vm, OP_BURST, POSTED_GPA, n, SYNC_GPA);
		for (r = 0; r < WARMUP + reps; r++) {
			t0 = now_ns();
			run_batch(b.vcpu);
			if (r >= WARMUP)
				t[r - WARMUP] = now_ns() - t0;
		}
		qsort(t, reps, sizeof(t[0]), cmp_u64);
		/* Per posted write, the closing read's share included. */
		burst_ns[k] = (double)t[reps / 2] / n;
	}
	device_stop(pid);

out:
	kvm_vm_free(b.vm);
	for (i = 0; i < NR_SOCKS; i++) {
		close(b.socks[i][0]);
		close(b.socks[i][1]);
	}
	close(evfd);
	munmap(shadow, 0x2000);
	close(gfd);
	close(shadow_sock[0]);
	close(shadow_sock[1]);
}

struct vcpu_job {
	struct kvm_vcpu *vcpu;
	pthread_barrier_t *go;
};

/*
 * Under TCG the vCPU threads share CPU 0 (the device runs where it will):
 * two nested guests running at once on the test machine's two CPUs is
 * where the emulator fails (README).  The series then compares one socket
 * with one socket each, not parallel speed-up.
 */
static bool pin_vcpus(void)
{
	return !strcmp(accel, "tcg");
}

static void *vcpu_thread(void *arg)
{
	struct vcpu_job *job = arg;
	cpu_set_t cpu0;

	if (pin_vcpus()) {
		CPU_ZERO(&cpu0);
		CPU_SET(0, &cpu0);
		TEST_ASSERT(!pthread_setaffinity_np(pthread_self(), sizeof(cpu0), &cpu0),
			    "vCPU thread on CPU 0");
	}
	pthread_barrier_wait(job->go);
	run_batch(job->vcpu);
	return NULL;
}

/*
 * Reads from 1 or 2 vCPUs, on one shared socket or one socket each, or
 * (@exits) answered by this process at KVM_EXIT_MMIO, with no ioregionfd.
 */
static double scaling(int nr_vcpus, bool shared, bool exits)
{
	struct kvm_vcpu *vcpus[2];
	struct vcpu_job jobs[2];
	uint64_t t[MAX_REPS], t0;
	pthread_barrier_t go;
	pthread_t threads[2];
	struct kvm_vm *vm;
	int sv[2][2], dfd[2], i, r, nr_fds = shared ? 1 : nr_vcpus;
	pid_t pid;

	vm = vm_create_with_vcpus(nr_vcpus, (void *)guest_code, vcpus);
	virt_map(vm, SCALE_GPA, SCALE_GPA, 2);
	for (i = 0; i < nr_fds; i++) {
		TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), "socketpair");
		dfd[i] = sv[i][1];
	}
	pid = exits ? 0 : device_start(dfd, nr_fds, DEV_URING);
	for (i = 0; i < nr_vcpus; i++) {
		if (!exits)
			bind_region(vm, SCALE_GPA + i * 0x1000, sv[shared ? 0 : i][0], 0);
		vcpu_args_set(vcpus[i], 1, i * 0x1000);
		run_batch(vcpus[i]);
	}
	set_op(vm, OP_READ, SCALE_GPA, count, 0);
	for (r = 0; r < WARMUP + reps; r++) {
		pthread_barrier_init(&go, NULL, nr_vcpus + 1);
		for (i = 0; i < nr_vcpus; i++) {
			jobs[i] = (struct vcpu_job){ vcpus[i], &go };
			pthread_create(&threads[i], NULL, vcpu_thread, &jobs[i]);
		}
		pthread_barrier_wait(&go);
		t0 = now_ns();
		for (i = 0; i < nr_vcpus; i++)
			pthread_join(threads[i], NULL);
		if (r >= WARMUP)
			t[r - WARMUP] = now_ns() - t0;
		pthread_barrier_destroy(&go);
	}
	if (pid)
		device_stop(pid);
	kvm_vm_free(vm);
	for (i = 0; i < nr_fds; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
	qsort(t, reps, sizeof(t[0]), cmp_u64);
	return (double)nr_vcpus * count * 1e9 / t[reps / 2];
}

enum { T_ONE, T_SHARED, T_EACH, NR_TPUT };

/*
 * Two vCPUs in nested guests at once is where QEMU TCG, the test
 * machine's emulator, fails (README, "Known emulator defect"): a
 * triple fault, a vCPU looping on an exception in the nested guest, or
 * the whole test machine halted.  The series runs in a process of its own
 * with a deadline, so that a failure costs its figures only; the same
 * series with @exits (no ioregionfd anywhere) shows the emulator's part.
 * Returns false, with why in scaling_err, if it did not finish.
 */
static bool scaling_series(bool exits, double tput[NR_TPUT])
{
	struct pollfd pfd;
	int p[2], status, n;
	pid_t pid;

	TEST_ASSERT(!pipe(p), "pipe");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		close(p[0]);
		tput[T_ONE] = scaling(1, true, exits);
		tput[T_SHARED] = scaling(2, true, exits);
		tput[T_EACH] = exits ? tput[T_SHARED] : scaling(2, false, exits);
		TEST_ASSERT(write(p[1], tput, NR_TPUT * sizeof(*tput)) ==
			    (ssize_t)(NR_TPUT * sizeof(*tput)), "scaling results");
		_exit(0);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	do
		n = poll(&pfd, 1, SCALING_TIMEOUT_S * 1000);
	while (n < 0 && errno == EINTR);
	if (n == 1 && read(p[0], tput, NR_TPUT * sizeof(*tput)) ==
		      (ssize_t)(NR_TPUT * sizeof(*tput))) {
		close(p[0]);
		waitpid(pid, NULL, 0);
		return true;
	}
	close(p[0]);
	if (!n)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (!n)
		snprintf(scaling_err, sizeof(scaling_err),
			 "no result in %d s: a vCPU did not come back", SCALING_TIMEOUT_S);
	else
		snprintf(scaling_err, sizeof(scaling_err), "the series failed (%s %d)",
			 WIFSIGNALED(status) ? "signal" : "exit status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	memset(tput, 0, NR_TPUT * sizeof(*tput));
	return false;
}

/* Event @e of side @sd per access of @m; negative where not counted. */
static double per_access(const struct result *m, int sd, int e)
{
	if (!m->ev_valid[sd][e] || !m->ev_accesses)
		return -1;
	return (double)m->ev[sd][e] / m->ev_accesses;
}

/*
 * The ratios: a over b, per-access medians (the sustained mode: the
 * batch's ns per write), or throughput.  The five with a target are the
 * project's goals; the others separate what each gain comes from.  A
 * "vcpu_cpu_ns:" ratio compares the vCPU thread's CPU time per access
 * (the counted round's), which is what a poll budget spends.
 */
static const struct {
	const char *name, *target;
	enum mode a, b;		/* a == NR_MODES: shared_fd/per_vcpu_fd */
	bool cpu;
} ratio_defs[] = {
	{ "ioregionfd_read/forwarded_read", "<= 0.6", IOR_READ, FORWARDED },
	{ "ioregionfd_read_polling/forwarded_read_polling", "<= 0.3", IOR_POLL, FWD_POLL },
	{ "ioregionfd_posted_write/ioeventfd_write", "<= 1.3", IOR_POSTED, IOEVENTFD },
	{ "shadow_read/ioapic_read", "<= 1.2", SHADOW, IOAPIC },
	{ "shared_fd/per_vcpu_fd", ">= 0.9", NR_MODES, NR_MODES },
	{ "ioregionfd_read_polling/forwarded_read", "-", IOR_POLL, FORWARDED },
	{ "ioregionfd_posted_write/forwarded_posted_write", "-", IOR_POSTED, FWD_POSTED },
	{ "ioregionfd_posted_write/coalesced_mmio_write", "-", IOR_POSTED, COALESCED },
	{ "ioregionfd_posted_sustained/ioeventfd_write", "-", IOR_SUSTAINED, IOEVENTFD },
	{ "shadow_read/inkernel_read", "-", SHADOW, INKERNEL },
	/* The poll budget adapting, against the same budget fixed. */
	{ "ioregionfd_read_polling/ioregionfd_read_polling_fixed", "-", IOR_POLL,
	  IOR_POLL_FIXED },
	{ "ioregionfd_read_vcpu_polling/ioregionfd_read_vcpu_polling_fixed", "-",
	  IOR_VPOLL, IOR_VPOLL_FIXED },
	{ "ioregionfd_read_slow_device/ioregionfd_read_slow_device_fixed", "-",
	  IOR_SLOW, IOR_SLOW_FIXED },
	{ "vcpu_cpu_ns:ioregionfd_read_slow_device/ioregionfd_read_slow_device_fixed",
	  "-", IOR_SLOW, IOR_SLOW_FIXED, true },
	{ "vcpu_cpu_ns:ioregionfd_read_polling/ioregionfd_read_polling_fixed", "-",
	  IOR_POLL, IOR_POLL_FIXED, true },
	/* A sleeping device, the vCPU polling for it. */
	{ "ioregionfd_read_vcpu_polling/ioregionfd_read", "-", IOR_VPOLL, IOR_READ },
	{ "ioregionfd_read_vcpu_polling/forwarded_read", "-", IOR_VPOLL, FORWARDED },
	/* Its fair baseline: the VMM polls for the sleeping device's answer. */
	{ "ioregionfd_read_vcpu_polling/forwarded_read_vmm_polling", "-", IOR_VPOLL,
	  FWD_VMM_POLL },
};

#define NR_RATIOS	ARRAY_SIZE(ratio_defs)

/* Per-access p50; host batch time per access where @batch. */
static double cost(const struct result *m, bool batch)
{
	return batch ? m->batch_ns : m->p50;
}

/* Ratio @i, or false when a mode it needs was not measured. */
static bool ratio(unsigned int i, double shared, double per_vcpu, double *v)
{
	enum mode a = ratio_defs[i].a, b = ratio_defs[i].b;
	bool batch;

	if (a == NR_MODES) {
		*v = shared / per_vcpu;
		return shared > 0 && per_vcpu > 0;
	}
	if (!results[a].valid || !results[b].valid)
		return false;
	if (ratio_defs[i].cpu) {
		double ca = per_access(&results[a], SIDE_VCPU, EV_CPU_NS);
		double cb = per_access(&results[b], SIDE_VCPU, EV_CPU_NS);

		*v = ca / cb;
		return ca >= 0 && cb > 0;
	}
	/* A sustained mode is judged by its batches, and so its baseline. */
	batch = results[a].sustained || results[b].sustained;
	if (!cost(&results[b], batch))
		return false;
	*v = cost(&results[a], batch) / cost(&results[b], batch);
	return true;
}

static void print_modes(void)
{
	const struct result *m;
	int i;

	printf("\n%-28s %8s %8s %8s %8s %9s %8s   %s\n", "mode (ns per access)", "p50",
	       "p90", "p99", "p99.9", "batch", "samples", "what");
	for (i = 0; i < NR_MODES; i++) {
		m = &results[i];
		if (!m->valid) {
			printf("%-28s %8s %8s %8s %8s %9s %8s   %s\n", m->name, "-", "-", "-",
			       "-", "-", "-", m->what);
			continue;
		}
		printf("%-28s %8.0f %8.0f %8.0f %8.0f %9.0f %8zu   %s\n", m->name, m->p50,
		       m->p90, m->p99, m->p999, m->batch_ns, m->nlat, m->what);
	}
}

static void print_events(void)
{
	static const char *const hdr[NR_EVS] = { "exits", "uexits", "sysc", "csw",
						 "wake", "cpu_ns" };
	const struct result *m;
	double v;
	int i, sd, e;

	printf("\nevents per access     vCPU thread (and VMM):                      "
	       "device side:\n%-28s", "mode");
	for (sd = 0; sd < NR_SIDES; sd++)
		for (e = sd ? EV_SYSCALLS : 0; e < NR_EVS; e++)
			printf(" %7s", hdr[e]);
	printf("\n");
	for (i = 0; i < NR_MODES; i++) {
		m = &results[i];
		if (!m->valid)
			continue;
		printf("%-28s", m->name);
		for (sd = 0; sd < NR_SIDES; sd++)
			for (e = sd ? EV_SYSCALLS : 0; e < NR_EVS; e++) {
				v = per_access(m, sd, e);
				if (v < 0)
					printf(" %7s", "-");
				else
					printf(e == EV_CPU_NS ? " %7.0f" : " %7.2f", v);
			}
		printf("\n");
	}
}

static void print_table(double tput1, double shared, double per_vcpu)
{
	double v;
	int i;

	print_modes();
	print_events();
	printf("\n%-50s %8s  %s\n", "ratio", "measured", "target");
	for (i = 0; i < (int)NR_RATIOS; i++) {
		if (ratio(i, shared, per_vcpu, &v))
			printf("%-50s %8.2f  %s\n", ratio_defs[i].name, v, ratio_defs[i].target);
		else
			printf("%-50s %8s  %s\n", ratio_defs[i].name, "-", ratio_defs[i].target);
	}
	if (scaling_err[0])
		printf("\nreads per second: none, the scaling series failed: %s\n", scaling_err);
	else
		printf("\nreads per second: 1 vCPU %.0f; 2 vCPUs, one fd %.0f; 2 vCPUs, fd each "
		       "%.0f (the test machine has 2 CPUs%s)\n", tput1, shared, per_vcpu,
		       pin_vcpus() ? "; under TCG the vCPU threads share CPU 0" : "");
	printf("posted write, ns each by burst length:");
	for (i = 0; i < BURSTS; i++)
		printf(" %lu:%.0f", bursts[i], burst_ns[i]);
	printf("\n");
}

/* The per-access distribution of @m, as "ns fraction" lines: a CDF. */
static void print_cdf(const struct result *m)
{
	size_t i, step = m->nlat / 200 ? m->nlat / 200 : 1;

	for (i = 0; i < m->nlat; i += step)
		printf("%lu %.4f\n", m->lat[i], (double)(i + 1) / m->nlat);
	printf("%lu 1.0\n\n\n", m->lat[m->nlat - 1]);
}

/* Between markers, for mk/bench.sh to cut out of the console. */
static void print_json(double tput1, double shared, double per_vcpu)
{
	const struct result *m;
	struct utsname u;
	char date[32];
	time_t now = time(NULL);
	double v;
	int i;

	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	printf("@@JSON-BEGIN\n{\n  \"kernel\": \"%s\",\n  \"accel\": \"%s\",\n"
	       "  \"date\": \"%s\",\n  \"count\": %d,\n  \"reps\": %d,\n"
	       "  \"timing\": \"per access: guest TSC around each access, the first %d of "
	       "each batch; batch: host time around KVM_RUN per access\",\n  \"modes\": {\n",
	       u.release, accel, date, count, reps, LAT_MAX);
	for (i = 0; i < NR_MODES; i++) {
		m = &results[i];
		if (m->valid)
			printf("    \"%s\": {\"ns_median\": %.1f, \"ns_p90\": %.1f, "
			       "\"ns_p99\": %.1f, \"ns_p999\": %.1f, \"samples\": %zu, "
			       "\"batch_ns_per_access\": %.1f, \"count\": %lu}",
			       m->name, cost(m, m->sustained), m->p90, m->p99, m->p999, m->nlat,
			       m->batch_ns, batch_len(m));
		else
			printf("    \"%s\": null", m->name);
		printf("%s\n", i < NR_MODES - 1 ? "," : "");
	}
	printf("  },\n  \"events_per_access\": {\n");
	for (i = 0; i < NR_MODES; i++) {
		int sd, e;

		m = &results[i];
		printf("    \"%s\": ", m->name);
		if (!m->valid) {
			printf("null%s\n", i < NR_MODES - 1 ? "," : "");
			continue;
		}
		for (sd = 0; sd < NR_SIDES; sd++) {
			printf("%s\"%s\": {", sd ? ", " : "{", sd ? "device" : "vcpu");
			for (e = 0; e < NR_EVS; e++) {
				v = per_access(m, sd, e);
				printf("%s\"%s\": ", e ? ", " : "", evs[e].name);
				if (v < 0)
					printf("null");
				else
					printf("%.3f", v);
			}
			printf("}");
		}
		printf("}%s\n", i < NR_MODES - 1 ? "," : "");
	}
	printf("  },\n  \"ratios\": {\n");
	for (i = 0; i < (int)NR_RATIOS; i++) {
		printf("    \"%s\": ", ratio_defs[i].name);
		if (ratio(i, shared, per_vcpu, &v))
			printf("%.3f", v);
		else
			printf("null");
		printf("%s\n", i < (int)NR_RATIOS - 1 ? "," : "");
	}
	printf("  },\n  \"targets\": {\n");
	for (i = 0; i < (int)NR_RATIOS; i++)
		if (strcmp(ratio_defs[i].target, "-"))
			printf("%s    \"%s\": \"%s\"", i ? ",\n" : "", ratio_defs[i].name,
			       ratio_defs[i].target);
	printf("\n  },\n");
	if (scaling_err[0])
		printf("  \"throughput_reads_per_s\": {\"1_vcpu\": null, \"2_vcpus_shared_fd\": null, "
		       "\"2_vcpus_fd_each\": null, \"error\": \"%s\"},\n", scaling_err);
	else
		printf("  \"throughput_reads_per_s\": {\"1_vcpu\": %.0f, \"2_vcpus_shared_fd\": "
		       "%.0f, \"2_vcpus_fd_each\": %.0f, \"vcpu_threads_on_cpu0\": %s},\n",
		       tput1, shared, per_vcpu, pin_vcpus() ? "true" : "false");
	printf("  \"posted_burst_ns\": {");
	for (i = 0; i < BURSTS; i++)
		printf("\"%lu\": %.1f%s", bursts[i], burst_ns[i], i < BURSTS - 1 ? ", " : "");
	printf("}\n}\n@@JSON-END\n");

	/*
	 * The plot's data: mode, p50, p99; burst, ns; then the CDFs of
	 * ioregionfd_read and forwarded_read.
	 */
	printf("@@DAT-BEGIN\n");
	for (i = 0; i < NR_MODES; i++)
		if (results[i].valid && !results[i].sustained)
			printf("%s %.1f %.1f\n", results[i].name, results[i].p50,
			       results[i].p99);
	printf("\n\n");
	for (i = 0; i < BURSTS; i++)
		printf("%lu %.1f\n", bursts[i], burst_ns[i]);
	printf("\n\n");
	print_cdf(&results[IOR_READ]);
	print_cdf(&results[FORWARDED]);
	/* Events per access, both sides summed: the plot's table. */
	for (i = 0; i < NR_MODES; i++) {
		const struct result *m = &results[i];
		int sd, e;

		if (!m->valid || !m->ev_accesses)
			continue;
		printf("%s", m->name);
		for (e = EV_EXITS; e <= EV_CSW; e++) {
			double sum = 0;

			for (sd = 0; sd < NR_SIDES; sd++)
				if (per_access(m, sd, e) > 0)
					sum += per_access(m, sd, e);
			printf(" %.3f", sum);
		}
		printf("\n");
	}
	printf("@@DAT-END\n");
}

/*
 * -m scaling / scaling_exit: the scaling series alone, with ioregionfd or
 * answered at KVM_EXIT_MMIO (the emulator check, README).
 */
static int scaling_only(bool exits)
{
	double t[NR_TPUT];

	if (!scaling_series(exits, t)) {
		printf("scaling%s: %s\n", exits ? "_exit" : "", scaling_err);
		return 1;
	}
	if (exits)
		printf("scaling_exit: reads per second: 1 vCPU %.0f; 2 vCPUs %.0f\n",
		       t[T_ONE], t[T_SHARED]);
	else
		printf("scaling: reads per second: 1 vCPU %.0f; 2 vCPUs, one fd %.0f; "
		       "2 vCPUs, fd each %.0f\n", t[T_ONE], t[T_SHARED], t[T_EACH]);
	return 0;
}

int main(int argc, char **argv)
{
	double t[NR_TPUT];
	int c, valid_names = 0;

	while ((c = getopt(argc, argv, "n:r:a:P:m:")) != -1) {
		switch (c) {
		case 'n':
			count = atoi(optarg);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'a':
			accel = optarg;
			break;
		case 'P':
			poll_ns = atol(optarg);
			break;
		case 'm':
			only = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-n COUNT] [-r REPS] [-a ACCEL] "
				"[-P POLL_NS] [-m MODE,...]\n", argv[0]);
			return 2;
		}
	}
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_IOREGIONFD));
	TEST_ASSERT(count > 0 && reps >= 5 && reps <= MAX_REPS,
		    "-n must be > 0 and -r between 5 and %d", MAX_REPS);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ioregion_bench: %d accesses x %d batches per mode, modes interleaved "
	       "(%d rounds discarded), accel %s\n", count, reps, WARMUP, accel);
	if (only && (!strcmp(only, "scaling") || !strcmp(only, "scaling_exit")))
		return scaling_only(!strcmp(only, "scaling_exit"));
	for (c = 0; only && c < NR_MODES; c++)
		valid_names += wanted(results[c].name);
	TEST_ASSERT(!only || valid_names, "-m %s: no such mode", only);
	single_vcpu_modes();
	if (only) {
		print_modes();
		print_events();
		return 0;
	}
	printf("single-vCPU modes done; scaling\n");
	scaling_series(false, t);
	print_table(t[T_ONE], t[T_SHARED], t[T_EACH]);
	print_json(t[T_ONE], t[T_SHARED], t[T_EACH]);
	return 0;
}
