// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioregion_bench: the cost of one guest access through every MMIO path,
 * side by side in one boot, so that ratios mean something even where
 * absolute times (emulation) do not.
 *
 * Each mode runs REPS batches of COUNT accesses after WARMUP discarded
 * batches; a batch's time is taken on the host around KVM_RUN (so exits
 * to this process and the forwarding hop are included) and divided by
 * COUNT.  The table and JSON report the median and p99 of the batches.
 *
 * Devices are libioregion device processes (the recv engine, or io_uring
 * busy-polling); the forwarded mode hands KVM_EXIT_MMIO to the same kind
 * of device over a UNIX socket, as multi-process QEMU does today.  In the
 * polling mode the vCPU also polls for up to POLL_NS before it sleeps
 * (kvm.ioregion_poll_ns, set for that mode only), where the kernel can.
 *
 *   ioregion_bench [-n COUNT] [-r REPS] [-a ACCEL] [-P POLL_NS] [-m MODE,...]
 *
 * -m measures only the modes named (no scaling series, no JSON): a known
 * load to look at with ioregion_lat or perf.
 *
 * Built with the KVM selftest library (see mk/selftests.sh); `make bench`
 * runs it in the test machine booted with the `bench` kernel.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libioregion.h"

#include "apic.h"
#include "kvm_util.h"
#include "processor.h"

#define SYNC_GPA	0xc0000000ull	/* ioregionfd, recv engine */
#define POSTED_GPA	0xc0001000ull	/* the same, posted writes */
#define POLL_GPA	0xc0002000ull	/* ioregionfd, io_uring busy-poll */
#define EVENTFD_GPA	0xc0003000ull	/* ioeventfd */
#define EXIT_GPA	0xc0004000ull	/* nothing: KVM_EXIT_MMIO */
#define SHADOW_GPA	0xc0005000ull	/* ioregionfd, every load from the shadow */
#define SCALE_GPA	0xc0010000ull	/* one page per vCPU */
#define APIC_VERSION	(APIC_DEFAULT_GPA + 0x30)
#define WARMUP		2
#define MAX_REPS	100
#define BURSTS		7

static int count = 1000, reps = 10;
static const char *accel = "unknown";
static long poll_ns = 1000000;
static const char *only;	/* -m: the modes to measure, comma-separated */

/* ---- guest: runs what the host put in these, one batch per SYNC ---- */

enum op { OP_READ, OP_WRITE, OP_BURST };
static uint64_t g_addr, g_flush_addr, g_n, g_burst;	/* reloaded after each SYNC */
static int g_op;

static void guest_code(uint64_t vcpu_offset)
{
	uint64_t i, j, addr;

	for (;;) {
		GUEST_SYNC(0);
		addr = g_addr + vcpu_offset;	/* a page of its own per vCPU */
		switch (g_op) {
		case OP_READ:
			for (i = 0; i < g_n; i++)
				(void)*(volatile uint32_t *)addr;
			break;
		case OP_WRITE:
			for (i = 0; i < g_n; i++)
				*(volatile uint32_t *)addr = i;
			break;
		case OP_BURST:
			/* Posted writes, then a read that waits for them all. */
			for (i = 0; i < g_n; i += g_burst) {
				for (j = 0; j < g_burst; j++)
					*(volatile uint32_t *)addr = j;
				(void)*(volatile uint32_t *)g_flush_addr;
			}
			break;
		}
	}
}

/* ---- devices: libioregion processes ---- */

static uint64_t dev_read(void *o, uint64_t ud, uint64_t off, unsigned int size)
{
	return 0x1234;
}

static void dev_write(void *o, uint64_t ud, uint64_t off, unsigned int size, uint64_t v)
{
}

static const struct ioregion_ops dev_ops = { .read = dev_read, .write = dev_write };

/*
 * Fork a device serving @nr sockets; returns its pid, the KVM ends in @kfd.
 * It inherits the VM's fds, so it would keep the VM (and so its own
 * sockets) alive: device_stop() kills it.
 */
static pid_t device_start(int nr, int *kfd, enum ioregion_engine engine,
			  unsigned int flags)
{
	IOREGION_DEV_OPTS(opts, .engine = engine, .flags = flags);
	struct ioregion_dev *dev;
	int sv[8][2], i;
	pid_t pid;

	for (i = 0; i < nr; i++)
		TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), "socketpair");
	pid = fork();
	if (!pid) {
		TEST_ASSERT(!ioregion_dev_create(&dev, &dev_ops, NULL, &opts),
			    "device");
		for (i = 0; i < nr; i++) {
			close(sv[i][0]);
			TEST_ASSERT(!ioregion_dev_add_fds(dev, sv[i][1], sv[i][1]), "fds");
		}
		while (ioregion_serve(dev, -1) >= 0)
			;
		_exit(0);
	}
	for (i = 0; i < nr; i++) {
		close(sv[i][1]);
		kfd[i] = sv[i][0];
	}
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

/* ---- host: time batches ---- */

static int fwd_fd = -1;		/* forwarded mode: the device's socket */
static uint32_t fwd_tag;

/* KVM_EXIT_MMIO as multi-process QEMU handles it: ask the device. */
static void forward(struct kvm_run *run)
{
	struct ioregionfd_cmd cmd = {
		.op = run->mmio.is_write, .size = run->mmio.len,
		.flags = IOREGIONFD_CMD_RESPONSE, .tag = ++fwd_tag,
		.user_data = EXIT_GPA, .offset = run->mmio.phys_addr - EXIT_GPA,
	};
	struct ioregionfd_resp resp;

	if (run->mmio.is_write)
		memcpy(&cmd.data, run->mmio.data, run->mmio.len);
	TEST_ASSERT(write(fwd_fd, &cmd, sizeof(cmd)) == sizeof(cmd), "forward");
	TEST_ASSERT(read(fwd_fd, &resp, sizeof(resp)) == sizeof(resp) &&
		    resp.tag == cmd.tag, "forwarded response");
	if (!run->mmio.is_write)
		memcpy(run->mmio.data, &resp.data, run->mmio.len);
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
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		if (run->exit_reason == KVM_EXIT_MMIO) {
			if (fwd_fd >= 0)
				forward(run);
			else if (!run->mmio.is_write)
				memset(run->mmio.data, 0x34, run->mmio.len);
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			return;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("exit %s", exit_reason_str(run->exit_reason));
		}
	}
}

static void set_op(struct kvm_vm *vm, enum op op, uint64_t addr, uint64_t n)
{
	g_op = op;
	g_addr = addr;
	g_n = n;
	sync_global_to_guest(vm, g_op);
	sync_global_to_guest(vm, g_addr);
	sync_global_to_guest(vm, g_n);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct result {
	const char *name, *what;
	double median, p99;	/* ns per access */
	bool valid;
};

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

/* Time REPS batches of @n accesses (after WARMUP); ns per access. */
static void measure(struct kvm_vm *vm, struct kvm_vcpu *vcpu, enum op op,
		    uint64_t addr, uint64_t n, struct result *res)
{
	uint64_t t[MAX_REPS], t0;
	int i;

	if (res->name && !wanted(res->name))
		return;
	set_op(vm, op, addr, n);
	for (i = 0; i < WARMUP + reps; i++) {
		t0 = now_ns();
		run_batch(vcpu);
		if (i >= WARMUP)
			t[i - WARMUP] = now_ns() - t0;
	}
	qsort(t, reps, sizeof(t[0]), cmp_u64);
	res->median = (double)t[reps / 2] / n;
	res->p99 = (double)t[(reps * 99 + 99) / 100 - 1] / n;
	res->valid = true;
}

enum mode { INKERNEL, USER_EXIT, FORWARDED, IOR_READ, IOR_WRITE, IOR_POSTED,
	    IOR_POLL, IOEVENTFD, SHADOW, NR_MODES };

static struct result results[NR_MODES] = {
	[INKERNEL]   = { "inkernel_read", "xAPIC register, answered by KVM" },
	[USER_EXIT]  = { "userspace_exit_read", "KVM_EXIT_MMIO, answered by the VMM thread" },
	[FORWARDED]  = { "forwarded_read", "KVM_EXIT_MMIO, forwarded to a device process" },
	[IOR_READ]   = { "ioregionfd_read", "ioregionfd read, device: recv engine" },
	[IOR_WRITE]  = { "ioregionfd_write", "ioregionfd write, waits for the device" },
	[IOR_POSTED] = { "ioregionfd_posted_write", "ioregionfd posted write" },
	[IOR_POLL]   = { "ioregionfd_read_polling", "ioregionfd read, device: io_uring busy-poll" },
	[IOEVENTFD]  = { "ioeventfd_write", "ioeventfd, no data (the closest today)" },
	[SHADOW]     = { "shadow_read", "ioregionfd read from the device shadow, no command" },
};

#define POLL_PARAM	"/sys/module/kvm/parameters/ioregion_poll_ns"

/* Set kvm.ioregion_poll_ns to @ns; the old value, or -1 if there is none. */
static long set_vcpu_poll(long ns)
{
	long old = -1;
	FILE *f;

	f = fopen(POLL_PARAM, "r+");
	if (!f)
		return -1;
	TEST_ASSERT(fscanf(f, "%ld", &old) == 1, "reading " POLL_PARAM);
	rewind(f);
	fprintf(f, "%ld\n", ns);
	TEST_ASSERT(!fclose(f), "writing " POLL_PARAM);
	return old;
}

static const uint64_t bursts[BURSTS] = { 1, 4, 16, 64, 256, 1024, 4096 };
static double burst_ns[BURSTS];

static void *eventfd_drain(void *arg)
{
	uint64_t v;

	while (read(*(int *)arg, &v, sizeof(v)) > 0)
		;
	return NULL;
}

static void single_vcpu_modes(void)
{
	struct kvm_ioeventfd ioev = { .addr = EVENTFD_GPA, .len = 4 };
	int kfd[2], fwd[1], evfd, gfd, shadow_sock[2];
	struct kvm_vcpu *vcpu;
	uint8_t *shadow;
	static char poll_what[96];
	pthread_t drain;
	struct kvm_vm *vm;
	pid_t pids[3];
	long old_poll;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vcpu_args_set(vcpu, 1, 0);
	virt_map(vm, SYNC_GPA, SYNC_GPA, 6);
	virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);

	pids[0] = device_start(1, kfd, IOREGION_ENGINE_RECV, 0);
	bind_region(vm, SYNC_GPA, kfd[0], 0);
	bind_region(vm, POSTED_GPA, kfd[0], KVM_IOREGION_POSTED_WRITES);
	pids[1] = device_start(1, &kfd[1], IOREGION_ENGINE_URING, IOREGION_F_BUSY_POLL);
	bind_region(vm, POLL_GPA, kfd[1], 0);
	pids[2] = device_start(1, fwd, IOREGION_ENGINE_RECV, 0);
	evfd = eventfd(0, 0);
	ioev.fd = evfd;
	TEST_ASSERT(!ioctl(vm->fd, KVM_IOEVENTFD, &ioev), "KVM_IOEVENTFD");
	pthread_create(&drain, NULL, eventfd_drain, &evfd);
	gfd = bind_shadow(vm, shadow_sock, &shadow);

	run_batch(vcpu);	/* to the guest's first SYNC */
	measure(vm, vcpu, OP_READ, APIC_VERSION, count, &results[INKERNEL]);
	measure(vm, vcpu, OP_READ, EXIT_GPA, count, &results[USER_EXIT]);
	fwd_fd = fwd[0];
	measure(vm, vcpu, OP_READ, EXIT_GPA, count, &results[FORWARDED]);
	fwd_fd = -1;
	measure(vm, vcpu, OP_READ, SYNC_GPA, count, &results[IOR_READ]);
	measure(vm, vcpu, OP_WRITE, SYNC_GPA, count, &results[IOR_WRITE]);
	measure(vm, vcpu, OP_WRITE, POSTED_GPA, count, &results[IOR_POSTED]);
	old_poll = set_vcpu_poll(poll_ns);
	measure(vm, vcpu, OP_READ, POLL_GPA, count, &results[IOR_POLL]);
	if (old_poll >= 0) {
		set_vcpu_poll(old_poll);
		snprintf(poll_what, sizeof(poll_what), "%s, vCPU polls %ld us",
			 results[IOR_POLL].what, poll_ns / 1000);
		results[IOR_POLL].what = poll_what;
	}
	measure(vm, vcpu, OP_WRITE, EVENTFD_GPA, count, &results[IOEVENTFD]);
	measure(vm, vcpu, OP_READ, SHADOW_GPA, count, &results[SHADOW]);
	if (only)
		goto out;

	/* Posted writes in bursts, each closed by one read: batching. */
	g_flush_addr = SYNC_GPA;
	sync_global_to_guest(vm, g_flush_addr);
	for (int b = 0; b < BURSTS; b++) {
		struct result r = { 0 };
		uint64_t n = bursts[b] > 1024 ? bursts[b] : 1024;

		g_burst = bursts[b];
		sync_global_to_guest(vm, g_burst);
		measure(vm, vcpu, OP_BURST, POSTED_GPA, n, &r);
		/* Per posted write, the closing read's share included. */
		burst_ns[b] = r.median;
	}

out:
	for (int i = 0; i < 3; i++)
		device_stop(pids[i]);
	kvm_vm_free(vm);
	close(kfd[0]);
	close(kfd[1]);
	close(fwd[0]);
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

static void *vcpu_thread(void *arg)
{
	struct vcpu_job *job = arg;

	pthread_barrier_wait(job->go);
	run_batch(job->vcpu);
	return NULL;
}

/* Reads from 1 or 2 vCPUs, on one shared socket or one socket each. */
static double scaling(int nr_vcpus, bool shared)
{
	struct kvm_vcpu *vcpus[2];
	struct vcpu_job jobs[2];
	uint64_t t[MAX_REPS], t0;
	pthread_barrier_t go;
	pthread_t threads[2];
	struct kvm_vm *vm;
	int kfd[2], i, r;
	pid_t pid;

	vm = vm_create_with_vcpus(nr_vcpus, (void *)guest_code, vcpus);
	virt_map(vm, SCALE_GPA, SCALE_GPA, 2);
	pid = device_start(shared ? 1 : nr_vcpus, kfd, IOREGION_ENGINE_URING, 0);
	for (i = 0; i < nr_vcpus; i++) {
		bind_region(vm, SCALE_GPA + i * 0x1000, kfd[shared ? 0 : i], 0);
		vcpu_args_set(vcpus[i], 1, i * 0x1000);
		run_batch(vcpus[i]);
	}
	set_op(vm, OP_READ, SCALE_GPA, count);
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
	device_stop(pid);
	kvm_vm_free(vm);
	for (i = 0; i < (shared ? 1 : nr_vcpus); i++)
		close(kfd[i]);
	qsort(t, reps, sizeof(t[0]), cmp_u64);
	return (double)nr_vcpus * count * 1e9 / t[reps / 2];
}

/* The ratios the issue sets targets for: a over b, medians (or throughput). */
static const struct {
	const char *name, *target;
	enum mode a, b;		/* b == NR_MODES: shared_fd/per_vcpu_fd */
} ratio_defs[] = {
	{ "ioregionfd_read/forwarded_read", "<= 0.6", IOR_READ, FORWARDED },
	{ "ioregionfd_read_polling/forwarded_read", "<= 0.3", IOR_POLL, FORWARDED },
	{ "ioregionfd_posted_write/ioeventfd_write", "<= 1.3", IOR_POSTED, IOEVENTFD },
	{ "shadow_read/inkernel_read", "<= 1.2", SHADOW, INKERNEL },
	{ "shared_fd/per_vcpu_fd", ">= 0.9", NR_MODES, NR_MODES },
};

#define NR_RATIOS	ARRAY_SIZE(ratio_defs)

/* Ratio @i, or false when a mode it needs was not measured. */
static bool ratio(unsigned int i, double shared, double per_vcpu, double *v)
{
	enum mode a = ratio_defs[i].a, b = ratio_defs[i].b;

	if (a == NR_MODES) {
		*v = shared / per_vcpu;
		return true;
	}
	*v = results[a].median / results[b].median;
	return results[a].valid && results[b].valid;
}

static void print_modes(void)
{
	int i;

	printf("\n%-26s %12s %12s   %s\n", "mode", "median ns", "p99 ns", "what");
	for (i = 0; i < NR_MODES; i++) {
		if (!results[i].valid) {
			printf("%-26s %12s %12s   %s\n", results[i].name, "-", "-", results[i].what);
			continue;
		}
		printf("%-26s %12.0f %12.0f   %s\n", results[i].name, results[i].median,
		       results[i].p99, results[i].what);
	}
}

static void print_table(double tput1, double shared, double per_vcpu)
{
	double v;
	int i;

	print_modes();
	printf("\n%-44s %8s  %s\n", "ratio", "measured", "target");
	for (i = 0; i < (int)NR_RATIOS; i++) {
		if (ratio(i, shared, per_vcpu, &v))
			printf("%-44s %8.2f  %s\n", ratio_defs[i].name, v, ratio_defs[i].target);
		else
			printf("%-44s %8s  %s\n", ratio_defs[i].name, "-", ratio_defs[i].target);
	}
	printf("\nreads per second: 1 vCPU %.0f; 2 vCPUs, one fd %.0f; 2 vCPUs, fd each %.0f\n",
	       tput1, shared, per_vcpu);
	printf("posted write, ns each by burst length:");
	for (i = 0; i < BURSTS; i++)
		printf(" %lu:%.0f", bursts[i], burst_ns[i]);
	printf("\n");
}

/* Between markers, for mk/bench.sh to cut out of the console. */
static void print_json(double tput1, double shared, double per_vcpu)
{
	struct utsname u;
	char date[32];
	time_t now = time(NULL);
	double v;
	int i;

	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	printf("@@JSON-BEGIN\n{\n  \"kernel\": \"%s\",\n  \"accel\": \"%s\",\n"
	       "  \"date\": \"%s\",\n  \"count\": %d,\n  \"reps\": %d,\n  \"modes\": {\n",
	       u.release, accel, date, count, reps);
	for (i = 0; i < NR_MODES; i++) {
		if (results[i].valid)
			printf("    \"%s\": {\"ns_median\": %.1f, \"ns_p99\": %.1f, \"count\": %d}",
			       results[i].name, results[i].median, results[i].p99, count);
		else
			printf("    \"%s\": null", results[i].name);
		printf("%s\n", i < NR_MODES - 1 ? "," : "");
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
	printf("  },\n");
	printf("  \"throughput_reads_per_s\": {\"1_vcpu\": %.0f, \"2_vcpus_shared_fd\": %.0f, "
	       "\"2_vcpus_fd_each\": %.0f},\n", tput1, shared, per_vcpu);
	printf("  \"posted_burst_ns\": {");
	for (i = 0; i < BURSTS; i++)
		printf("\"%lu\": %.1f%s", bursts[i], burst_ns[i], i < BURSTS - 1 ? ", " : "");
	printf("}\n}\n@@JSON-END\n");

	/* The plot's data: mode, median, p99; then burst, ns. */
	printf("@@DAT-BEGIN\n");
	for (i = 0; i < NR_MODES; i++)
		if (results[i].valid)
			printf("%s %.1f %.1f\n", results[i].name, results[i].median, results[i].p99);
	printf("\n\n");
	for (i = 0; i < BURSTS; i++)
		printf("%lu %.1f\n", bursts[i], burst_ns[i]);
	printf("@@DAT-END\n");
}

int main(int argc, char **argv)
{
	double tput1, shared, per_vcpu;
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
	printf("ioregion_bench: %d accesses x %d batches per mode (%d discarded), accel %s\n",
	       count, reps, WARMUP, accel);
	for (c = 0; only && c < NR_MODES; c++)
		valid_names += wanted(results[c].name);
	TEST_ASSERT(!only || valid_names, "-m %s: no such mode", only);
	single_vcpu_modes();
	if (only) {
		print_modes();
		return 0;
	}
	printf("single-vCPU modes done; scaling\n");
	tput1 = scaling(1, true);
	shared = scaling(2, true);
	per_vcpu = scaling(2, false);
	print_table(tput1, shared, per_vcpu);
	print_json(tput1, shared, per_vcpu);
	return 0;
}
