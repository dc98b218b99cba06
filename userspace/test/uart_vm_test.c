// SPDX-License-Identifier: GPL-2.0-only
/*
 * The demo's UART device process (userspace/demo/uart_device.c) in a real
 * VM: a guest drives COM1 as Linux's 8250 driver does - probe, divisor,
 * FIFO, a line of output through posted THR writes - and takes the
 * received bytes on a level-triggered interrupt (irqfd + resamplefd) that
 * the confined device raises itself.  The device exits cleanly once KVM
 * lets go of its socket.
 *
 * Built with the KVM selftest library (see mk/selftests.sh), run in the
 * test machine by `make check`.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uart_device.h"

#include "apic.h"
#include "kselftest.h"
#include "kvm_util.h"
#include "processor.h"

#include "guest_irq.h"

#define COM1		0x3f8
#define COM1_GSI	4
#define UART_VECTOR	0x40
enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };
#define FCR		IIR

static const char hello[] = "hello from the guest\n";
static const char ping[] = "ping";

/* ---- guest ---- */

static volatile uint64_t rx_n, irqs;
static volatile char rx_buf[64];

static void uart_handler(struct ex_regs *regs)
{
	guest_inb(COM1 + IIR);
	while (guest_inb(COM1 + LSR) & 0x01)
		rx_buf[rx_n++ % sizeof(rx_buf)] = guest_inb(COM1 + RBR);
	irqs++;
	xapic_write_reg(APIC_EOI, 0);
}

static void guest_code(void)
{
	uint64_t i, start;

	/* 8250_port.c autoconfig(): scratch, loopback, FIFO. */
	guest_outb(COM1 + IER, 0);
	GUEST_ASSERT_EQ(guest_inb(COM1 + IER) & 0x0f, 0);
	guest_outb(COM1 + IER, 0x0f);
	GUEST_ASSERT_EQ(guest_inb(COM1 + IER) & 0x0f, 0x0f);
	guest_outb(COM1 + IER, 0);
	guest_outb(COM1 + MCR, 0x10 | 0x0a);
	GUEST_ASSERT_EQ(guest_inb(COM1 + MSR) & 0xf0, 0x90);
	guest_outb(COM1 + MCR, 0);
	guest_outb(COM1 + FCR, 0x01);
	GUEST_ASSERT_EQ(guest_inb(COM1 + IIR) >> 6, 3);

	/* 115200 8n1, FIFOs on and cleared, then a line of output. */
	guest_outb(COM1 + LCR, 0x83);
	guest_outb(COM1 + RBR, 1);
	guest_outb(COM1 + IER, 0);
	guest_outb(COM1 + LCR, 0x03);
	guest_outb(COM1 + FCR, 0x07);
	for (i = 0; i < sizeof(hello) - 1; i++) {
		while (!(guest_inb(COM1 + LSR) & 0x20))
			;
		guest_outb(COM1 + RBR, hello[i]);
	}
	GUEST_SYNC(1);

	/* COM1's IRQ through the IOAPIC, level-triggered. */
	guest_route_level_irq(COM1_GSI, UART_VECTOR);
	guest_outb(COM1 + MCR, 0x0b);		/* DTR | RTS | OUT2 */
	guest_outb(COM1 + IER, 0x01);		/* received data */
	asm volatile("sti");
	start = rdtsc();
	while (rx_n < sizeof(ping) - 1) {
		cpu_relax();
		/* About 10 s at any plausible TSC rate: the device is stuck. */
		__GUEST_ASSERT(rdtsc() - start < 30000000000ull,
			       "device stuck: %lu bytes received, %lu interrupts",
			       (uint64_t)rx_n, (uint64_t)irqs);
	}
	for (i = 0; i < sizeof(ping) - 1; i++)
		GUEST_ASSERT_EQ(rx_buf[i], ping[i]);
	GUEST_DONE();
}

/* ---- VMM and device ---- */

/* Read what the guest transmitted until @want has come, or 10 s. */
static bool read_output(int fd, const char *want)
{
	char got[256] = "";
	size_t n = 0, len = strlen(want);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t r;

	while (n < len && poll(&p, 1, 10000) == 1) {
		r = read(fd, got + n, sizeof(got) - 1 - n);
		if (r <= 0)
			break;
		n += r;
	}
	if (n != len || memcmp(got, want, len)) {
		ksft_print_msg("device output: '%.*s', want '%s'\n", (int)n, got, want);
		return false;
	}
	return true;
}

/* The size of a vCPU's kvm_run mapping. */
static size_t vcpu_mmap_size(void)
{
	int kvm = open_kvm_dev_path_or_exit();
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, NULL);

	close(kvm);
	return size;
}

int main(void)
{
	struct ioregion_sandbox sb = { 0 };
	struct uart_device cfg = { .user_data = COM1, .engine = IOREGION_ENGINE_RECV };
	struct kvm_ioregion r = {
		.guest_paddr = COM1, .memory_size = 8, .user_data = COM1,
		.flags = KVM_IOREGION_PIO | KVM_IOREGION_POSTED_WRITES,
		.timeout_ms = 10000,
	};
	int sv[2], out[2], in[2], st, ret;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	pid_t pid;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_IOREGIONFD));
	ksft_print_header();
	ksft_set_plan(3);

	vm = vm_create(1);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	vm_install_exception_handler(vm, UART_VECTOR, uart_handler);
	virt_pg_map(vm, IOAPIC_GPA, IOAPIC_GPA);
	virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);

	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv) && !pipe(out) && !pipe(in),
		    "socketpair, pipes");
	ret = ioregion_irq_intx(vm->fd, COM1_GSI, &cfg.irq_fd, &cfg.resample_fd);
	TEST_ASSERT(!ret, "INTx: %s", strerror(-ret));
	r.read_fd = r.write_fd = sv[0];
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_IOREGION, &r), "KVM_SET_IOREGION: %s",
		    strerror(errno));

	pid = fork();
	if (!pid) {
		/*
		 * Keep only what the device needs: were the VM's fds or the
		 * vCPU's kvm_run mapping kept, the VM would outlive the VMM's
		 * kvm_vm_free() and the device would never see KVM let go of
		 * its socket.
		 */
		TEST_ASSERT(dup2(sv[1], 3) == 3 && dup2(out[1], 4) == 4 &&
			    dup2(in[0], 5) == 5 && dup2(cfg.irq_fd, 6) == 6 &&
			    dup2(cfg.resample_fd, 7) == 7 &&
			    !munmap(vcpu->run, vcpu_mmap_size()) &&
			    !close_range(8, ~0u, 0), "device fds");
		cfg.sock = 3;
		cfg.out_fd = 4;
		cfg.in_fd = 5;
		cfg.irq_fd = 6;
		cfg.resample_fd = 7;
		if (geteuid() == 0)
			sb = (struct ioregion_sandbox){ IOREGION_SANDBOX_SETID, 65534, 65534, NULL };
		cfg.sandbox = &sb;
		_exit(-uart_device_run(&cfg));
	}
	close(sv[0]);
	close(sv[1]);
	close(out[1]);
	close(in[0]);
	close(cfg.irq_fd);
	close(cfg.resample_fd);

	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT(uc.cmd == UCALL_SYNC, "exit %s: an access missed the device",
		    exit_reason_str(vcpu->run->exit_reason));
	ksft_test_result(read_output(out[0], hello),
			 "8250 probe passes; a line sent by posted THR writes reaches the device's output\n");

	TEST_ASSERT(write(in[1], ping, strlen(ping)) == (ssize_t)strlen(ping), "input");
	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_DONE:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("exit %s: an access missed the device",
			  exit_reason_str(vcpu->run->exit_reason));
	}
	ksft_test_result_pass("input raises COM1's level-triggered IRQ; the guest reads it from RBR\n");

	kvm_vm_free(vm);
	close(in[1]);
	waitpid(pid, &st, 0);
	ksft_test_result(WIFEXITED(st) && !WEXITSTATUS(st),
			 "the confined device exits cleanly when KVM lets go (status 0x%x)\n", st);
	close(out[0]);
	ksft_finished();
}
