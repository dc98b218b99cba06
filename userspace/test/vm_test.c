// SPDX-License-Identifier: GPL-2.0-only
/*
 * libioregion end to end, in a real VM: a device process built on the
 * library proposes its regions over a control socket, the VMM (this test,
 * on the library's VMM side) binds them and wires INTx (irqfd + resamplefd)
 * and MSI, the device confines itself with ioregion_sandbox() and serves a
 * guest that reads, writes, posts writes, rings a doorbell, uses port I/O,
 * and takes level-triggered and MSI interrupts the device raises directly.
 * Once through each engine: recv, io_uring, io_uring busy-polling.
 * Then, in each engine, a device that serves from a plain epoll loop on
 * ioregion_dev_get_poll_fd() and defers two slow reads of two vCPUs: the
 * second vCPU's round trips go on while the first waits, and the two are
 * answered in reverse order from the device's completer thread.
 *
 * Built with the KVM selftest library (see mk/selftests.sh), run in the
 * test machine by `make check`.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libioregion.h"

#include "apic.h"
#include "kselftest.h"
#include "kvm_util.h"
#include "processor.h"

#include "guest_irq.h"

#define MMIO_GPA	0xc0000000ull
#define PIO_PORT	0x3f8
#define INTX_GSI	10
#define INTX_VECTOR	0x50
#define MSI_GSI		24
#define MSI_VECTOR	0x60
#define ROUNDS		300
#define POSTED		1000
#define BELLS		100
#define IRQS		50

/* The device's registers, at offsets in region REGS. */
enum { R_ID = 0x00, R_SCRATCH = 0x08, R_POSTED_N = 0x10, R_POSTED_SUM = 0x18,
       R_BELLS = 0x20, R_INTX_RAISE = 0x28, R_INTX_PENDING = 0x30,
       R_INTX_ACK = 0x38, R_RESAMPLES = 0x40, R_MSI_RAISE = 0x48,
       R_SLOW_A = 0x50, R_SLOW_B = 0x58, R_DEFERRED = 0x60, R_MSI_N = 0x68 };
#define SLOW_A_VALUE	0xaaaa5555aaaa5555ull
#define SLOW_B_VALUE	0xbbbb6666bbbb6666ull
enum { UD_REGS = 1, UD_POSTED, UD_BELL, UD_PIO };
#define POSTED_OFF	0x100
#define BELL_OFF	0x200
#define DEVICE_ID	0x10e610

static const struct ioregion_grant mmio_grant = {
	.base = MMIO_GPA, .size = 0x1000, .flags = IOREGION_GRANT_POSTED,
	.timeout_ms = 10000,
};
static const struct ioregion_grant pio_grant = {
	.base = PIO_PORT, .size = 8, .flags = IOREGION_GRANT_PIO, .timeout_ms = 10000,
};

/* ---- guest ---- */

static volatile uint64_t intx_seen, msi_seen;

static uint64_t mmio_read(uint64_t off)
{
	return *(volatile uint64_t *)(MMIO_GPA + off);
}

static void mmio_write(uint64_t off, uint64_t v)
{
	*(volatile uint64_t *)(MMIO_GPA + off) = v;
}

static void pio_write(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "d"(port));
}

static uint32_t pio_read(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "d"(port));
	return v;
}

static void intx_handler(struct ex_regs *regs)
{
	/*
	 * Level-triggered: take one item, EOI; KVM resamples the line.  The
	 * ack is a posted write: read back before the EOI, as a PCI driver
	 * does, or the device may see the resample before the ack and raise
	 * the line again for an item already taken.
	 */
	if (mmio_read(R_INTX_PENDING)) {
		mmio_write(R_INTX_ACK, 1);
		(void)mmio_read(R_INTX_PENDING);
	}
	intx_seen++;
	xapic_write_reg(APIC_EOI, 0);
}

static void msi_handler(struct ex_regs *regs)
{
	msi_seen++;
	xapic_write_reg(APIC_EOI, 0);
}

/* Wait for an interrupt; after a long while, say what the chips see. */
static void wait_for(volatile uint64_t *counter, uint64_t want)
{
	uint64_t spins = 0;

	while (*counter < want) {
		cpu_relax();
		if (++spins % (1ull << 22))
			continue;
		__GUEST_ASSERT(*counter >= want,
			       "interrupts 0x%lx of 0x%lx; redirection 0x%lx, resamples 0x%lx, INTx pending 0x%lx",
			       (uint64_t)*counter, (uint64_t)want,
			       (uint64_t)ioapic_read(0x10 + 2 * INTX_GSI),
			       (uint64_t)mmio_read(R_RESAMPLES),
			       (uint64_t)mmio_read(R_INTX_PENDING));
	}
}

static void guest_code(void)
{
	uint64_t i, sum = 0;
	uint32_t v;

	GUEST_ASSERT_EQ(mmio_read(R_ID), DEVICE_ID);
	for (i = 0; i < ROUNDS; i++) {
		mmio_write(R_SCRATCH, i * 0x9e3779b97f4a7c15ull);
		GUEST_ASSERT_EQ(mmio_read(R_SCRATCH), i * 0x9e3779b97f4a7c15ull);
		pio_write(PIO_PORT + 4, i ^ 0xa5a5a5a5);
		v = pio_read(PIO_PORT + 4);
		GUEST_ASSERT_EQ(v, i ^ 0xa5a5a5a5);
	}
	GUEST_SYNC(1);

	for (i = 0; i < POSTED; i++) {
		*(volatile uint32_t *)(MMIO_GPA + POSTED_OFF + 4 * (i % 64)) = i;
		sum += i;
	}
	/* Same socket, in order: the read comes after every posted write. */
	GUEST_ASSERT_EQ(mmio_read(R_POSTED_N), POSTED);
	GUEST_ASSERT_EQ(mmio_read(R_POSTED_SUM), sum);
	for (i = 0; i < BELLS; i++)
		*(volatile uint32_t *)(MMIO_GPA + BELL_OFF) = i;
	GUEST_ASSERT_EQ(mmio_read(R_BELLS), BELLS);
	GUEST_SYNC(2);

	guest_route_level_irq(INTX_GSI, INTX_VECTOR);
	asm volatile("sti");
	for (i = 1; i <= IRQS; i++) {
		/* Two items per raise: the second interrupt is the resample's. */
		mmio_write(R_INTX_RAISE, 2);
		wait_for(&intx_seen, 2 * i);
	}
	while (mmio_read(R_RESAMPLES) < 2 * IRQS)
		cpu_relax();
	GUEST_ASSERT_EQ(intx_seen, 2 * IRQS);
	GUEST_ASSERT_EQ(mmio_read(R_INTX_PENDING), 0);
	GUEST_SYNC(3);

	for (i = 1; i <= IRQS; i++) {
		mmio_write(R_MSI_RAISE, 1);
		wait_for(&msi_seen, i);
	}
	/* Each raise reached the device once, and interrupted the guest once. */
	GUEST_ASSERT_EQ(mmio_read(R_MSI_N), IRQS);
	GUEST_ASSERT_EQ(msi_seen, IRQS);
	GUEST_DONE();
}

/* vCPU 0: one slow read, answered last. */
static void guest_slow_a(void)
{
	GUEST_ASSERT_EQ(mmio_read(R_SLOW_A), SLOW_A_VALUE);
	GUEST_DONE();
}

/* vCPU 1: round trips while vCPU 0 waits, then a slow read answered first. */
static void guest_slow_b(void)
{
	while (!mmio_read(R_DEFERRED))
		cpu_relax();
	mmio_write(R_SCRATCH, 0x1234);
	GUEST_ASSERT_EQ(mmio_read(R_SCRATCH), 0x1234);
	GUEST_ASSERT_EQ(mmio_read(R_SLOW_B), SLOW_B_VALUE);
	GUEST_DONE();
}

/* ---- device process ---- */

struct dev_state {
	pthread_mutex_t lock;
	uint64_t scratch, posted_n, posted_sum, bells, pending, resamples, msi_n;
	uint32_t pio[2];
	int intx_fd, resample_fd, msi_fd;
	/* Deferred mode: slow reads go to the completer through handoff. */
	struct ioregion_dev *dev;
	int handoff[2];
	uint64_t deferred;
};

static void raise_irq(int fd)
{
	uint64_t one = 1;

	TEST_ASSERT(write(fd, &one, sizeof(one)) == sizeof(one), "irqfd write");
}

/* A slow register: the completer answers it; all ones if it cannot. */
static uint64_t defer_read(struct dev_state *d, uint64_t off)
{
	struct { struct ioregion_deferred *p; uint64_t off; } h = { NULL, off };

	h.p = ioregion_defer(d->dev);
	if (!h.p || write(d->handoff[1], &h, sizeof(h)) != sizeof(h))
		return ~0ull;
	d->deferred++;
	return 0;
}

/*
 * Waits for both slow reads, then answers vCPU 1's (B) before vCPU 0's
 * (A), though A came first.
 */
static void *completer_thread(void *arg)
{
	struct dev_state *d = arg;
	struct { struct ioregion_deferred *p; uint64_t off; } h[2];
	int a;

	if (read(d->handoff[0], &h[0], sizeof(h[0])) != sizeof(h[0]) ||
	    read(d->handoff[0], &h[1], sizeof(h[1])) != sizeof(h[1]))
		return NULL;
	a = h[0].off == R_SLOW_A ? 0 : 1;
	ioregion_complete(d->dev, h[!a].p, SLOW_B_VALUE);
	ioregion_complete(d->dev, h[a].p, SLOW_A_VALUE);
	return NULL;
}

/* The device's own event loop, as a program with one would serve. */
static int serve_from_epoll(struct ioregion_dev *dev, int ep)
{
	struct epoll_event ev;
	int ret;

	ret = ioregion_serve(dev, 0);
	while (ret >= 0) {
		if (epoll_wait(ep, &ev, 1, -1) < 0 && errno != EINTR)
			return -errno;
		ret = ioregion_serve(dev, 0);
	}
	return ret;
}

static uint64_t dev_read(void *opaque, uint64_t ud, uint64_t off, unsigned int size)
{
	struct dev_state *d = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&d->lock);
	if (ud == UD_PIO) {
		v = d->pio[off / 4];
	} else if (ud == UD_REGS) {
		switch (off) {
		case R_ID: v = DEVICE_ID; break;
		case R_SCRATCH: v = d->scratch; break;
		case R_POSTED_N: v = d->posted_n; break;
		case R_POSTED_SUM: v = d->posted_sum; break;
		case R_BELLS: v = d->bells; break;
		case R_INTX_PENDING: v = d->pending; break;
		case R_RESAMPLES: v = d->resamples; break;
		case R_MSI_N: v = d->msi_n; break;
		case R_DEFERRED: v = d->deferred; break;
		case R_SLOW_A:
		case R_SLOW_B:
			v = defer_read(d, off);
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return v;
}

static void dev_write(void *opaque, uint64_t ud, uint64_t off, unsigned int size,
		      uint64_t data)
{
	struct dev_state *d = opaque;

	pthread_mutex_lock(&d->lock);
	switch (ud) {
	case UD_PIO:
		d->pio[off / 4] = data;
		break;
	case UD_POSTED:
		d->posted_n++;
		d->posted_sum += data;
		break;
	case UD_BELL:
		d->bells++;
		break;
	case UD_REGS:
		if (off == R_SCRATCH) {
			d->scratch = data;
		} else if (off == R_INTX_RAISE) {
			d->pending += data;
			raise_irq(d->intx_fd);
		} else if (off == R_INTX_ACK && d->pending) {
			d->pending--;
		} else if (off == R_MSI_RAISE) {
			d->msi_n++;
			raise_irq(d->msi_fd);
		}
		break;
	}
	pthread_mutex_unlock(&d->lock);
}

static const struct ioregion_ops dev_ops = { .read = dev_read, .write = dev_write };

/* The guest EOId the line: KVM lowered it; raise it again if work is left. */
static void *resample_thread(void *arg)
{
	struct dev_state *d = arg;
	struct pollfd p = { .fd = d->resample_fd, .events = POLLIN };
	uint64_t n;

	for (;;) {
		/* EINTR: glibc signals every thread to change its uid. */
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		if (read(d->resample_fd, &n, sizeof(n)) != sizeof(n))
			continue;
		pthread_mutex_lock(&d->lock);
		d->resamples += n;
		if (d->pending)
			raise_irq(d->intx_fd);
		pthread_mutex_unlock(&d->lock);
	}
	return NULL;
}

/* What the device reports to the VMM when KVM has let go of its sockets. */
struct dev_report {
	int setup, sandbox, serve;
	struct ioregion_stats stats;
};

static struct ioregion_layout entry(uint64_t off, uint64_t size, uint64_t ud,
				    uint32_t flags)
{
	return (struct ioregion_layout){ .nr = 1, .e[0] = { off, size, ud, flags, 0 } };
}

static int device_setup(int ctl, struct dev_state *d, struct ioregion_dev *dev)
{
	struct ioregion_layout l = entry(0, 0x100, UD_REGS, 0);
	struct ioregion_region regions[] = {
		{ UD_REGS, 0x100 }, { UD_POSTED, 0x100 }, { UD_BELL, 0 }, { UD_PIO, 8 },
	};
	int mmio[2], pio[2], fds[IOREGION_REPLY_MAX_FDS], nr, ret;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(regions); i++)
		if (ioregion_dev_add_region(dev, &regions[i]))
			return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, mmio) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pio))
		return -errno;

	/* A hostile first try: port I/O inside the MMIO grant. */
	l.e[0].flags = IOREGION_LAYOUT_PIO;
	nr = IOREGION_REPLY_MAX_FDS;
	ret = ioregion_propose(ctl, &l, mmio[0], fds, &nr);
	if (ret != -EPERM)
		return ret ? ret : -EFAULT;

	l.e[0].flags = 0;
	l.e[1] = (struct ioregion_layout_entry){ POSTED_OFF, 0x100, UD_POSTED,
						 IOREGION_LAYOUT_POSTED, 0 };
	l.e[2] = (struct ioregion_layout_entry){ BELL_OFF, 0, UD_BELL,
						 IOREGION_LAYOUT_POSTED, 0 };
	l.nr = 3;
	nr = IOREGION_REPLY_MAX_FDS;
	ret = ioregion_propose(ctl, &l, mmio[0], fds, &nr);
	if (ret || nr != 3)
		return ret ? ret : -EBADMSG;
	d->intx_fd = fds[0];
	d->resample_fd = fds[1];
	d->msi_fd = fds[2];

	l = entry(0, 8, UD_PIO, IOREGION_LAYOUT_PIO);
	nr = 0;
	ret = ioregion_propose(ctl, &l, pio[0], fds, &nr);
	if (ret)
		return ret;
	/* KVM has its ends now. */
	close(mmio[0]);
	close(pio[0]);
	ret = ioregion_dev_add_fds(dev, mmio[1], mmio[1]);
	return ret ? ret : ioregion_dev_add_fds(dev, pio[1], pio[1]);
}

static void device_main(int ctl, enum ioregion_engine engine, unsigned int flags,
			bool deferred)
{
	IOREGION_DEV_OPTS(opts, .engine = engine, .flags = flags);
	struct dev_state d = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct ioregion_sandbox sb = { 0 };
	struct dev_report r = { 0 };
	struct ioregion_dev *dev = NULL;
	struct epoll_event ev = { .events = EPOLLIN };
	pthread_t thread, completer;
	int ret = 0, ep = -1;

	if (geteuid() == 0)
		sb = (struct ioregion_sandbox){ IOREGION_SANDBOX_SETID, 65534, 65534, NULL };
	r.setup = ioregion_dev_create(&dev, &dev_ops, &d, &opts);
	d.dev = dev;
	if (!r.setup)
		r.setup = device_setup(ctl, &d, dev);
	if (!r.setup)
		r.setup = -pthread_create(&thread, NULL, resample_thread, &d);
	if (!r.setup && deferred) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || pipe(d.handoff) ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, ioregion_dev_get_poll_fd(dev), &ev))
			r.setup = -errno;
		else
			r.setup = -pthread_create(&completer, NULL, completer_thread, &d);
	}
	if (!r.setup)
		r.sandbox = ioregion_sandbox(&sb);
	if (!r.setup && !r.sandbox && deferred)
		ret = serve_from_epoll(dev, ep);
	while (!r.setup && !r.sandbox && !deferred &&
	       (ret = ioregion_serve(dev, -1)) >= 0)
		;
	r.serve = r.setup || r.sandbox ? 0 : ret;
	r.stats.sz = sizeof(r.stats);
	if (dev)
		ioregion_dev_stats(dev, &r.stats);
	TEST_ASSERT(write(ctl, &r, sizeof(r)) == sizeof(r), "device report");
	_exit(0);
}

/* ---- VMM ---- */

static void vmm_handshake(int ctl, struct kvm_vm *vm, struct ioregion_routes *rt)
{
	const struct ioregion_grant *grants[] = { &mmio_grant, &mmio_grant, &pio_grant };
	struct ioregion_layout l;
	int kfd, fds[3], ret, i;

	for (i = 0; i < 3; i++) {
		ret = ioregion_recv_proposal(ctl, &l, &kfd);
		TEST_ASSERT(!ret, "proposal %d: %s", i, strerror(-ret));
		ret = ioregion_bind(vm->fd, grants[i], &l, kfd);
		close(kfd);
		if (i == 0) {
			TEST_ASSERT(ret == -EPERM, "PIO inside an MMIO grant: %d", ret);
			TEST_ASSERT(!ioregion_reply(ctl, ret, NULL, 0), "reply");
			continue;
		}
		TEST_ASSERT(!ret, "bind %d: %s", i, strerror(-ret));
		if (i == 2) {
			TEST_ASSERT(!ioregion_reply(ctl, 0, NULL, 0), "reply");
			continue;
		}
		ret = ioregion_irq_intx(vm->fd, INTX_GSI, &fds[0], &fds[1]);
		TEST_ASSERT(!ret, "INTx: %s", strerror(-ret));
		/* Without rt the VMM has routed MSI_GSI itself. */
		if (rt)
			ret = ioregion_irq_msi(rt, MSI_GSI, APIC_DEFAULT_GPA,
					       MSI_VECTOR, &fds[2]);
		else
			ret = ioregion_irq_gsi(vm->fd, MSI_GSI, &fds[2]);
		TEST_ASSERT(!ret, "MSI: %s", strerror(-ret));
		TEST_ASSERT(!ioregion_reply(ctl, 0, fds, 3), "reply with eventfds");
		/* KVM holds the eventfds; the device has its copies. */
		close(fds[0]);
		close(fds[1]);
		close(fds[2]);
	}
}

/* run(): the VMM routes MSI itself (not a device flag). */
#define OWN_ROUTES	(1u << 31)

static const char *const phase_name[] = {
	"", "sync MMIO and PIO round trips", "posted writes and doorbells in order",
	"INTx through irqfd/resamplefd, re-raised after resample",
};

/* The device process: forked, connected by a control socket. */
static pid_t start_device(int *ctl_fd, enum ioregion_engine engine,
			  unsigned int flags, bool deferred)
{
	int ctl[2];
	pid_t pid;

	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ctl), "socketpair");
	pid = fork();
	if (!pid) {
		close(ctl[0]);
		device_main(ctl[1], engine, flags, deferred);
	}
	close(ctl[1]);
	*ctl_fd = ctl[0];
	return pid;
}

/* KVM let go of the sockets: the device sees EOF and reports. */
static void device_report(const char *name, int ctl, pid_t pid)
{
	struct dev_report r = { 0 };
	int st;

	TEST_ASSERT(read(ctl, &r, sizeof(r)) == sizeof(r), "device report");
	waitpid(pid, &st, 0);
	ksft_test_result(!r.setup && !r.sandbox && r.serve == -EPIPE &&
			 WIFEXITED(st) && !WEXITSTATUS(st),
			 "%s: confined device (setup %d, sandbox %d) served %lu commands in %lu system calls, exit at EOF (%d)\n",
			 name, r.setup, r.sandbox, r.stats.commands, r.stats.syscalls,
			 r.serve);
	close(ctl);
}

/*
 * A VMM that owns its GSI routing, as every real one does: its own table
 * (the irqchip pins, and MSI_GSI routed to the MSI message), then only an
 * irqfd from the library.
 */
static void own_routes(struct kvm_vm *vm)
{
	struct kvm_irq_routing *table = kvm_gsi_routing_create();
	struct kvm_irq_routing_entry *e;
	uint32_t gsi;

	for (gsi = 0; gsi < 24; gsi++) {
		kvm_gsi_routing_irqchip_add(table, gsi, gsi);
		table->entries[table->nr - 1].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		if (gsi >= 16)
			continue;
		kvm_gsi_routing_irqchip_add(table, gsi, gsi % 8);
		table->entries[table->nr - 1].u.irqchip.irqchip =
			gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
	}
	e = &table->entries[table->nr++];
	*e = (struct kvm_irq_routing_entry){
		.gsi = MSI_GSI, .type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = APIC_DEFAULT_GPA, .data = MSI_VECTOR },
	};
	kvm_gsi_routing_write(vm, table);
}

static void run(const char *name, enum ioregion_engine engine, unsigned int flags)
{
	struct ioregion_routes *rt;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	int ctl[1];
	uint64_t phase = 0;
	pid_t pid;

	pid = start_device(&ctl[0], engine, flags & ~OWN_ROUTES, false);

	vm = vm_create(1);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	vm_install_exception_handler(vm, INTX_VECTOR, intx_handler);
	vm_install_exception_handler(vm, MSI_VECTOR, msi_handler);
	virt_pg_map(vm, MMIO_GPA, MMIO_GPA);
	virt_pg_map(vm, IOAPIC_GPA, IOAPIC_GPA);
	virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);
	if (flags & OWN_ROUTES) {
		rt = NULL;
		own_routes(vm);
	} else {
		TEST_ASSERT(!ioregion_routes_create(&rt, vm->fd, IOREGION_ROUTES_IRQCHIP),
			    "routes");
	}
	vmm_handshake(ctl[0], vm, rt);
	ksft_test_result_pass("%s: device proposed, VMM refused PIO in MMIO, then bound and wired IRQs\n",
			      name);

	for (;;) {
		vcpu_run(vcpu);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			phase = uc.args[1];
			ksft_test_result_pass("%s: %s\n", name, phase_name[phase]);
			continue;
		case UCALL_DONE:
			ksft_test_result_pass("%s: MSI through a routed irqfd\n", name);
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("%s: exit %s after phase %lu: an access missed the device",
				  name, exit_reason_str(vcpu->run->exit_reason), phase);
		}
		break;
	}
	kvm_vm_free(vm);
	ioregion_routes_destroy(rt);
	device_report(name, ctl[0], pid);
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_DONE:
		return NULL;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("vCPU %u: exit %s", vcpu->id,
			  exit_reason_str(vcpu->run->exit_reason));
	}
	return NULL;
}

static void run_deferred(const char *name, enum ioregion_engine engine)
{
	struct ioregion_routes *rt;
	struct kvm_vcpu *vcpu[2];
	pthread_t t[2];
	struct kvm_vm *vm;
	int ctl, i;
	pid_t pid;

	pid = start_device(&ctl, engine, 0, true);
	vm = vm_create(2);
	vcpu[0] = vm_vcpu_add(vm, 0, guest_slow_a);
	vcpu[1] = vm_vcpu_add(vm, 1, guest_slow_b);
	virt_pg_map(vm, MMIO_GPA, MMIO_GPA);
	TEST_ASSERT(!ioregion_routes_create(&rt, vm->fd, IOREGION_ROUTES_IRQCHIP), "routes");
	vmm_handshake(ctl, vm, rt);
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, vcpu_thread, vcpu[i]);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ksft_test_result_pass("%s, epoll loop: vCPU 1's round trips went on while vCPU 0's slow read waited; answered in reverse order, each its own value\n",
			      name);
	kvm_vm_free(vm);
	ioregion_routes_destroy(rt);
	device_report(name, ctl, pid);
}

int main(void)
{
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_IOREGIONFD));
	ksft_print_header();
	ksft_set_plan(4 * 6 + 2 * 2);
	run("recv", IOREGION_ENGINE_RECV, 0);
	run("recv, the VMM's own GSI routes", IOREGION_ENGINE_RECV, OWN_ROUTES);
	run("io_uring", IOREGION_ENGINE_URING, 0);
	run("io_uring busy-poll", IOREGION_ENGINE_URING, IOREGION_F_BUSY_POLL);
	run_deferred("recv, deferred", IOREGION_ENGINE_RECV);
	run_deferred("io_uring, deferred", IOREGION_ENGINE_URING);
	ksft_finished();
}
