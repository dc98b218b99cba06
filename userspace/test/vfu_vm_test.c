// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-user devices served to a KVM guest: libvfio-user's own samples,
 * unmodified, built with the patched library (userspace/libvfio-user/),
 * each in its own process; this test is the VMM, on libioregion's
 * vfio-user client.  The guest drives the registers as the samples' code
 * defines them: gpio-pci-idio-16.c's BAR2 (I/O), whose offset 0 reads
 * pin++ / 3 and which takes writes; server.c's BAR0, a time register whose
 * write arms a timer and whose INTx comes by irqfd; and vfu_regs_server.c
 * (ours: a memory BAR) for posted writes against REGION_READ messages.
 *
 * Twice: with ioregionfd (the BAR bound with KVM_SET_IOREGION: no exit to
 * the VMM, no vfio-user message per access) and messages only (every access
 * an exit the VMM forwards as VFIO_USER_REGION_READ/WRITE).  In each, the
 * BAR moves mid-run as a guest reprogramming it would, then the server is
 * killed: the VMM reports it and the guest's reads of the dead device
 * return all ones, as PCI's do; nothing hangs.
 *
 *   vfu_vm_test GPIO_SAMPLE SERVER_SAMPLE REGS_SERVER
 *   vfu_vm_test --bench GPIO_SAMPLE   (make bench: "@@VFU MODE read NS write NS",
 *                                      MODE msg, ioregionfd, ioregionfd_polling)
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "libioregion.h"
#include "vfu_server.h"

#include "apic.h"
#include "kselftest.h"
#include "kvm_util.h"
#include "processor.h"

#include "guest_irq.h"
#include "kvm_param.h"

#define PORT_A		0xc000	/* BAR2, as the VMM first places it */
#define PORT_B		0xd000	/* ... and after the guest moved it */
#define UCALL_PORT	0x1000	/* lib/x86/ucall.c's UCALL_PIO_PORT */
#define READS		30
#define WRITES		10
#define BENCH_N		2000

static char dir[] = "/tmp/vfu-vm-XXXXXX";
static char path[128];

/* The sample's register, read at @port: pin++ / 3, from pin = @*pin. */
static void guest_reads(uint16_t port, int *pin, int n)
{
	for (int i = 0; i < n; i++, (*pin)++)
		GUEST_ASSERT_EQ(guest_inb(port), *pin / 3);
}

static void guest_gpio(void)
{
	int pin = 0;

	guest_reads(PORT_A, &pin, READS);
	for (int i = 0; i < WRITES; i++)
		guest_outb(PORT_A + 1 + i, 0xa5 ^ i);
	GUEST_SYNC(1);			/* the VMM moves the BAR */
	guest_reads(PORT_B, &pin, READS);
	GUEST_ASSERT_EQ(guest_inb(PORT_A), 0xff);	/* nothing decodes there now */
	GUEST_SYNC(2);			/* the VMM kills the server */
	GUEST_ASSERT_EQ(guest_inb(PORT_B), 0xff);
	GUEST_ASSERT_EQ(guest_inb(PORT_B), 0xff);
	GUEST_DONE();
}

/* make bench: the same register read and write, timed, in one guest. */
static void guest_bench(void)
{
	GUEST_SYNC(10);
	for (int i = 0; i < BENCH_N; i++)
		(void)guest_inb(PORT_A);
	GUEST_SYNC(11);
	for (int i = 0; i < BENCH_N; i++)
		guest_outb(PORT_A + 1, i);
	GUEST_SYNC(12);
	GUEST_DONE();
}

struct run {
	uint64_t vmm_exits;	/* BAR accesses that exited to the VMM */
	uint64_t exits_alive;	/* of them, before the server was killed */
	uint64_t failures;	/* KVM_EXIT_IOREGIONFD_FAILURE */
	uint64_t dead;		/* accesses the VMM found the server gone for */
	uint64_t unmapped;	/* accesses where no BAR was */
};

/* One device of a sample, and the guest code that drives it. */
struct dev {
	const char *name;	/* for the TAP lines */
	const char *prog;	/* the sample */
	const char *opt;	/* its option, or NULL */
	uint32_t bar;		/* VFIO_PCI_BARn_REGION_INDEX */
	uint64_t size;		/* the BAR's size */
	uint32_t io_flags;	/* what the server offers */
	bool pio;		/* the VMM places it in port space */
	uint64_t addr[2];	/* where, before and after the guest moves it */
	void *guest_code;
	int accesses;		/* the guest's accesses while the server lives */
	const char *what;	/* what they are */
};

/*
 * An access that reached the VMM: forward it as a message if it is the
 * BAR's, else answer as PCI does for nothing there, or for a dead device:
 * all ones.
 */
static void vmm_access(struct kvm_vcpu *vcpu, struct ioregion_vfu *vfu,
		       const struct dev *d, uint64_t base, struct run *r)
{
	struct kvm_run *run = vcpu->run;
	uint64_t addr;
	uint8_t *data;
	uint32_t len;
	bool write;
	int ret;

	if (run->exit_reason == KVM_EXIT_IO) {
		TEST_ASSERT(run->io.count == 1, "a string I/O of %u", run->io.count);
		addr = run->io.port;
		data = (uint8_t *)run + run->io.data_offset;
		len = run->io.size;
		write = run->io.direction == KVM_EXIT_IO_OUT;
	} else {
		addr = run->mmio.phys_addr;
		data = run->mmio.data;
		len = run->mmio.len;
		write = run->mmio.is_write;
	}
	if (addr < base || addr + len > base + d->size) {
		r->unmapped++;
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	r->vmm_exits++;
	ret = ioregion_vfu_access(vfu, d->bar, addr - base, data, len, write);
	if (ret) {
		TEST_ASSERT(ret == -ECONNRESET || ret == -ENOTCONN,
			    "region access: %s", strerror(-ret));
		r->dead++;
		if (!write)
			memset(data, 0xff, len);
	}
}

static void run_mode(const struct dev *d, bool ioregionfd)
{
	const char *mode = ioregionfd ? "ioregionfd" : "messages";
	unsigned int map = d->pio ? IOREGION_VFU_MAP_PIO : 0;
	IOREGION_VFU_STATS(before_kill);
	IOREGION_VFU_REGION(bar);
	struct ioregion_vfu *vfu;
	struct kvm_vcpu *vcpu;
	struct run r = { 0 };
	uint64_t base = d->addr[0];
	struct kvm_vm *vm;
	struct ucall uc;
	int status;
	pid_t pid;

	pid = vfu_server_start(d->prog, d->opt, path);
	TEST_ASSERT(pid > 0, "fork");
	status = vfu_server_connect(&vfu, path, ioregionfd ? 0 : IOREGION_VFU_MESSAGES_ONLY, pid);
	TEST_ASSERT(!status, "connect: %s", strerror(-status));
	TEST_ASSERT(!ioregion_vfu_region(vfu, d->bar, &bar), "region info");
	TEST_ASSERT(bar.size == d->size && bar.io_flags == (ioregionfd ? d->io_flags : 0),
		    "%s, %s: BAR of %#llx bytes, io_flags %#x", d->name, mode,
		    (unsigned long long)bar.size, bar.io_flags);

	vm = vm_create_with_one_vcpu(&vcpu, d->guest_code);
	if (!d->pio)
		for (int i = 0; i < 2; i++)
			virt_pg_map(vm, d->addr[i], d->addr[i]);
	status = ioregion_vfu_map(vfu, vm->fd, d->bar, base, map);
	TEST_ASSERT(!status, "map the BAR: %s", strerror(-status));

	for (;;) {
		struct kvm_run *run = vcpu->run;

		vcpu_run(vcpu);
		if ((run->exit_reason == KVM_EXIT_IO && run->io.port != UCALL_PORT) ||
		    run->exit_reason == KVM_EXIT_MMIO) {
			vmm_access(vcpu, vfu, d, base, &r);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IOREGIONFD_FAILURE) {
			TEST_ASSERT(ioregionfd && run->ioregionfd_failure.pio == d->pio &&
				    run->ioregionfd_failure.addr == d->addr[1] &&
				    (run->ioregionfd_failure.reason ==
				     KVM_IOREGIONFD_FAIL_PEER_CLOSED ||
				     run->ioregionfd_failure.error == -EPIPE ||
				     run->ioregionfd_failure.error == EPIPE),
				    "failure exit: addr %#llx reason %u error %d",
				    run->ioregionfd_failure.addr,
				    run->ioregionfd_failure.reason,
				    run->ioregionfd_failure.error);
			r.failures++;
			run->ioregionfd_failure.data = ~0ull;
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			if (uc.args[1] == 1) {
				/* The guest reprogrammed the BAR. */
				status = ioregion_vfu_map(vfu, vm->fd, d->bar,
							  d->addr[1], map);
				TEST_ASSERT(!status, "move the BAR: %s", strerror(-status));
				base = d->addr[1];
			} else {
				ioregion_vfu_stats(vfu, &before_kill);
				r.exits_alive = r.vmm_exits;
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
			}
			continue;
		case UCALL_DONE:
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("exit %s", exit_reason_str(run->exit_reason));
		}
		break;
	}

	ksft_print_msg("%s, %s: %llu vfio-user region messages, %llu accesses exited to the VMM, for %d guest accesses to the BAR\n",
		       d->name, mode, (unsigned long long)before_kill.region_msgs,
		       (unsigned long long)r.exits_alive, d->accesses);
	if (ioregionfd)
		ksft_test_result(before_kill.region_msgs == 0 && r.exits_alive == 0 &&
				 before_kill.bound == 1,
				 "%s, %s: %s through KVM_SET_IOREGION, values as documented, 0 messages, BAR moved\n",
				 d->name, mode, d->what);
	else
		ksft_test_result(before_kill.region_msgs == (uint64_t)d->accesses &&
				 r.exits_alive == (uint64_t)d->accesses,
				 "%s, %s: %s as VFIO_USER_REGION_READ/WRITE, values as documented, BAR moved\n",
				 d->name, mode, d->what);
	ksft_test_result(r.unmapped == 1,
			 "%s, %s: a read where the BAR was before it moved: all ones, from the VMM\n",
			 d->name, mode);
	if (ioregionfd)
		ksft_test_result(r.failures == 2 && r.dead == 0,
				 "%s, %s: server killed: 2 reads end in KVM_EXIT_IOREGIONFD_FAILURE (peer gone), the guest reads all ones\n",
				 d->name, mode);
	else
		ksft_test_result(r.dead == 2,
				 "%s, %s: server killed: the VMM's next messages fail, the guest reads all ones\n",
				 d->name, mode);
	kvm_vm_free(vm);
	ioregion_vfu_close(vfu);
}

/*
 * samples/server.c's BAR0, an 8-byte I/O BAR the VMM places in MMIO (x86
 * port I/O has no 8-byte access): a write of time T arms a timer for T;
 * a read gives the host's time minus the last T written.
 */
#define MMIO_A		0xc0000000ull
#define MMIO_B		0xc0100000ull

static uint64_t readq(uint64_t gpa)
{
	return *(volatile uint64_t *)gpa;
}

static void guest_server(void)
{
	uint64_t now = readq(MMIO_A);
	int64_t d;

	GUEST_ASSERT(now > 1700000000ull);	/* seconds since 1970: 2023 on */
	*(volatile uint64_t *)MMIO_A = now + 3600;	/* a timer in an hour */
	d = readq(MMIO_A);
	GUEST_ASSERT(d >= -3602 && d <= -3598);
	GUEST_SYNC(1);
	d = readq(MMIO_B);
	GUEST_ASSERT(d >= -3602 && d <= -3598);
	GUEST_ASSERT_EQ(readq(MMIO_A), ~0ull);
	GUEST_SYNC(2);
	GUEST_ASSERT_EQ(readq(MMIO_B), ~0ull);
	GUEST_ASSERT_EQ(readq(MMIO_B), ~0ull);
	GUEST_DONE();
}

static struct dev gpio_dev = {
	.name = "gpio-pci-idio-16", .opt = "-R",
	.bar = VFIO_PCI_BAR2_REGION_INDEX, .size = 0x100,
	.io_flags = IOREGION_VFU_IO_OFFERED | IOREGION_VFU_IO_PIO,
	.pio = true, .addr = { PORT_A, PORT_B }, .guest_code = guest_gpio,
	.accesses = 2 * READS + WRITES,
	.what = "60 reads (pin++ / 3) and 10 writes of BAR2 in port space",
};

static struct dev server_dev = {
	.name = "server", .bar = VFIO_PCI_BAR0_REGION_INDEX, .size = 8,
	.io_flags = IOREGION_VFU_IO_OFFERED | IOREGION_VFU_IO_PIO,
	.addr = { MMIO_A, MMIO_B }, .guest_code = guest_server, .accesses = 4,
	.what = "BAR0's time register read, written (a timer armed) and read, 8 bytes in MMIO",
};

/*
 * Interrupts: server.c raises its INTx when the timer BAR0 armed expires.
 * The VMM hands the server an irqfd (with its resamplefd, as for a level
 * line) by VFIO_USER_DEVICE_SET_IRQS; the interrupt reaches the guest from
 * the server through KVM, without the VMM.  (server.c then DMAs, which
 * this VMM does not offer: the server exits, its business.)
 */
#define INTX_GSI	10
#define INTX_VECTOR	0x50

static volatile uint64_t intx_seen;

static void intx_handler(struct ex_regs *regs)
{
	intx_seen++;
	xapic_write_reg(APIC_EOI, 0);
}

static void guest_intx(void)
{
	uint64_t now;

	guest_route_level_irq(INTX_GSI, INTX_VECTOR);
	asm volatile("sti");
	now = readq(MMIO_A);
	/* In 2 s: 1 s at least, whenever the current second ends. */
	*(volatile uint64_t *)MMIO_A = now + 2;
	while (!intx_seen)
		cpu_relax();
	GUEST_DONE();
}

static void run_intx(const char *server)
{
	struct ioregion_vfu *vfu;
	struct kvm_vcpu *vcpu;
	int irq, resample, ret;
	struct kvm_vm *vm;
	struct ucall uc;
	pid_t pid;

	pid = vfu_server_start(server, NULL, path);
	TEST_ASSERT(pid > 0, "fork");
	ret = vfu_server_connect(&vfu, path, 0, pid);
	TEST_ASSERT(!ret, "connect: %s", strerror(-ret));
	vm = vm_create_with_one_vcpu(&vcpu, guest_intx);
	vm_install_exception_handler(vm, INTX_VECTOR, intx_handler);
	virt_pg_map(vm, MMIO_A, MMIO_A);
	virt_pg_map(vm, IOAPIC_GPA, IOAPIC_GPA);
	virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);
	ret = ioregion_vfu_map(vfu, vm->fd, VFIO_PCI_BAR0_REGION_INDEX, MMIO_A, 0);
	TEST_ASSERT(!ret, "map BAR0: %s", strerror(-ret));
	ret = ioregion_irq_intx(vm->fd, INTX_GSI, &irq, &resample);
	TEST_ASSERT(!ret, "irqfd: %s", strerror(-ret));
	ret = ioregion_vfu_set_irq(vfu, VFIO_PCI_INTX_IRQ_INDEX, 0, irq);
	TEST_ASSERT(!ret, "SET_IRQS: %s", strerror(-ret));

	vcpu_run(vcpu);
	ret = get_ucall(vcpu, &uc);
	if (ret == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	ksft_test_result(ret == UCALL_DONE,
			 "server: BAR0 arms the timer through ioregionfd; its INTx reaches the guest by the irqfd the VMM gave in SET_IRQS, no exit (%s)\n",
			 exit_reason_str(vcpu->run->exit_reason));
	TEST_ASSERT(!ioregion_irq_release(vm->fd, INTX_GSI, irq, resample),
		    "irqfd release");
	kvm_vm_free(vm);
	ioregion_vfu_close(vfu);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * The PCI rule across the two paths, with KVM posting for real: the guest
 * posts writes to vfu_regs_server's memory BAR through ioregionfd, then
 * stops (GUEST_SYNC); the VMM at once reads the register with a
 * VFIO_USER_REGION_READ message, which must see the last write, and the
 * count of writes, although the server gets the message and the writes on
 * two sockets.  Rounds of it, the writes still in flight at each sync.
 */
#define MMIO_C		0xc0200000ull
#define ROUNDS		50
#define POSTS		40
#define REGS_COUNT	0xff8

static void guest_posted(void)
{
	for (uint64_t r = 0; r < ROUNDS; r++) {
		for (uint64_t i = 1; i <= POSTS; i++)
			*(volatile uint64_t *)(MMIO_C + 0x10) = r * POSTS + i;
		GUEST_SYNC(r);
	}
	GUEST_ASSERT_EQ(readq(MMIO_C + 0x10), ROUNDS * POSTS);
	GUEST_ASSERT_EQ(readq(MMIO_C + REGS_COUNT), ROUNDS * POSTS);
	GUEST_DONE();
}

static void run_posted(const char *regs_server)
{
	IOREGION_VFU_REGION(bar0);
	IOREGION_VFU_STATS(st);
	struct ioregion_vfu *vfu;
	struct kvm_vcpu *vcpu;
	uint64_t v, n, bad = 0;
	struct kvm_vm *vm;
	struct ucall uc;
	pid_t pid;
	int ret;

	pid = vfu_server_start(regs_server, NULL, path);
	TEST_ASSERT(pid > 0, "fork");
	ret = vfu_server_connect(&vfu, path, 0, pid);
	TEST_ASSERT(!ret, "connect: %s", strerror(-ret));
	TEST_ASSERT(!ioregion_vfu_region(vfu, VFIO_PCI_BAR0_REGION_INDEX, &bar0) &&
		    bar0.io_flags == (IOREGION_VFU_IO_OFFERED | IOREGION_VFU_IO_POSTED),
		    "BAR0 io_flags %#x", bar0.io_flags);
	vm = vm_create_with_one_vcpu(&vcpu, guest_posted);
	virt_pg_map(vm, MMIO_C, MMIO_C);
	ret = ioregion_vfu_map(vfu, vm->fd, VFIO_PCI_BAR0_REGION_INDEX, MMIO_C, 0);
	TEST_ASSERT(!ret, "map BAR0: %s", strerror(-ret));

	for (;;) {
		vcpu_run(vcpu);
		ret = get_ucall(vcpu, &uc);
		if (ret != UCALL_SYNC)
			break;
		/* The guest's writes of this round are posted, maybe in flight. */
		TEST_ASSERT(!ioregion_vfu_access(vfu, VFIO_PCI_BAR0_REGION_INDEX, 0x10,
						 &v, 8, false) &&
			    !ioregion_vfu_access(vfu, VFIO_PCI_BAR0_REGION_INDEX,
						 REGS_COUNT, &n, 8, false),
			    "REGION_READ");
		if (v != (uc.args[1] + 1) * POSTS || n != v)
			bad++;
	}
	if (ret == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT(ret == UCALL_DONE, "exit %s", exit_reason_str(vcpu->run->exit_reason));
	ioregion_vfu_stats(vfu, &st);
	ksft_print_msg("regs: %d posted writes, %llu vfio-user region messages (the VMM's reads)\n",
		       ROUNDS * POSTS, (unsigned long long)st.region_msgs);
	ksft_test_result(!bad && st.region_msgs == 2 * ROUNDS,
			 "regs: %d rounds of %d posted writes through ioregionfd, each followed by a REGION_READ message that saw them all (%llu did not)\n",
			 ROUNDS, POSTS, (unsigned long long)bad);
	kvm_vm_free(vm);
	ioregion_vfu_close(vfu);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * @poll_ns: ioregionfd with the vCPU polling for the answer up to that
 * long (kvm.ioregion_poll_ns, as ioregion_bench's vcpu_polling modes).
 */
static void bench_mode(const char *gpio, bool ioregionfd, long poll_ns)
{
	long old_poll = poll_ns ? set_param(POLL_PARAM, poll_ns) : -1;
	const char *mode = !ioregionfd ? "msg" :
			   poll_ns ? "ioregionfd_polling" : "ioregionfd";

	struct ioregion_vfu *vfu;
	struct kvm_vcpu *vcpu;
	uint64_t t[3] = { 0 };
	struct run r = { 0 };
	struct kvm_vm *vm;
	struct ucall uc;
	pid_t pid;
	int ret;

	pid = vfu_server_start(gpio, "-R", path);
	TEST_ASSERT(pid > 0, "fork");
	ret = vfu_server_connect(&vfu, path, ioregionfd ? 0 : IOREGION_VFU_MESSAGES_ONLY, pid);
	TEST_ASSERT(!ret, "connect: %s", strerror(-ret));
	vm = vm_create_with_one_vcpu(&vcpu, guest_bench);
	ret = ioregion_vfu_map(vfu, vm->fd, VFIO_PCI_BAR2_REGION_INDEX, PORT_A,
			       IOREGION_VFU_MAP_PIO);
	TEST_ASSERT(!ret, "map BAR2: %s", strerror(-ret));
	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == KVM_EXIT_IO &&
		    vcpu->run->io.port != UCALL_PORT) {
			vmm_access(vcpu, vfu, &gpio_dev, PORT_A, &r);
			continue;
		}
		ret = get_ucall(vcpu, &uc);
		if (ret == UCALL_SYNC) {
			t[uc.args[1] - 10] = now_ns();
			continue;
		}
		TEST_ASSERT(ret == UCALL_DONE, "exit %s",
			    exit_reason_str(vcpu->run->exit_reason));
		break;
	}
	TEST_ASSERT(r.vmm_exits == (ioregionfd ? 0 : 2 * BENCH_N) && r.dead == 0,
		    "%lu accesses reached the VMM", (unsigned long)r.vmm_exits);
	if (old_poll >= 0)
		set_param(POLL_PARAM, old_poll);
	printf("@@VFU %s read %llu write %llu\n", mode,
	       (unsigned long long)((t[1] - t[0]) / BENCH_N),
	       (unsigned long long)((t[2] - t[1]) / BENCH_N));
	kvm_vm_free(vm);
	ioregion_vfu_close(vfu);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	bool bench = argc > 2 && !strcmp(argv[1], "--bench");

	uint64_t features;
	int kvm;

	if (argc < 3 || (!bench && argc < 4))
		ksft_exit_fail_msg("usage: %s GPIO_SAMPLE SERVER_SAMPLE REGS_SERVER | --bench GPIO_SAMPLE\n",
				   argv[0]);
	kvm = open_kvm_dev_path_or_exit();
	if (ioregion_probe(kvm, &features))
		ksft_exit_skip("KVM without KVM_CAP_IOREGIONFD\n");
	close(kvm);
	TEST_ASSERT(mkdtemp(dir), "mkdtemp");
	snprintf(path, sizeof(path), "%s/gpio.sock", dir);
	if (bench) {
		/* Messages, then ioregionfd: same boot, same device code. */
		bench_mode(argv[2], false, 0);
		bench_mode(argv[2], true, 0);
		bench_mode(argv[2], true, 1000000);
		unlink(path);
		rmdir(dir);
		return 0;
	}

	ksft_print_header();
	gpio_dev.prog = argv[1];
	server_dev.prog = argv[2];
	ksft_set_plan(14);
	run_mode(&gpio_dev, true);
	run_mode(&gpio_dev, false);
	run_mode(&server_dev, true);
	run_mode(&server_dev, false);
	run_intx(argv[2]);
	run_posted(argv[3]);
	unlink(path);
	rmdir(dir);
	ksft_finished();
}
