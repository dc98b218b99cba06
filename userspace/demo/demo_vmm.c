// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * demo_vmm: a minimal PC for one Linux guest, in the spirit of kvmtool,
 * whose COM1 (a 16550A) is served one of three ways:
 *
 *   inline      emulated in this process, on KVM_EXIT_IO
 *   forwarded   in a separate, confined device process; KVM_EXIT_IO here,
 *               passed on over a UNIX socket and answered back (what
 *               multi-process QEMU does today)
 *   forwarded-posted
 *               the same, but the writes the device's layout marks posted
 *               are sent without waiting for the device, as KVM posts them
 *               over ioregionfd: what a VMM can do today without
 *               ioregionfd, so that the gain of posting is told apart
 *               from the gain of ioregionfd
 *   ioregionfd  in that same process, bound with KVM_SET_IOREGION: KVM
 *               talks to it from the vCPU thread; this process never
 *               sees COM1.  COM1 is in an ordering group whose shadow
 *               holds LSR, so the guest's LSR polling is answered by KVM
 *               without a round trip to the device
 *
 * The device process proposes its layout over a control socket
 * (ioregion_propose()); the VMM checks it against COM1's grant, binds it
 * (or, forwarded, keeps the socket to forward to) and replies with the
 * irqfd and resamplefd of IRQ 4.  It is the same code in both
 * out-of-process modes: only the path a guest access takes differs.
 *
 * The PC: KVM's in-kernel PIC, IOAPIC, local APIC and PIT; no MP table or
 * ACPI, so Linux runs the APIC in virtual-wire mode; a CMOS that reads
 * zeroes; an i8042 that only knows the reset command; nothing else (ports
 * read all-ones, writes are dropped, as on an empty ISA bus).  The kernel
 * is entered at its 64-bit entry point (Documentation/x86/boot.rst).  A
 * guest reboot (reboot=k: 0xfe to port 0x64) or triple fault ends the run,
 * as QEMU's -no-reboot does: that is how the guest powers off.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <asm/bootparam.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "libioregion.h"
#include "pci.h"
#include "uart16550.h"
#include "uart_device.h"

#define COM1		0x3f8
#define COM1_GSI	4
#define PCI_INTX_GSI	10	/* the vfio-user device's INTx */

/* Guest physical layout of what the loader writes. */
#define GDT_ADDR	0x500
#define BOOT_PARAMS	0x7000
#define PML4_ADDR	0x9000
#define CMDLINE_ADDR	0x20000
#define KERNEL_ADDR	0x100000
#define HDRS_MAGIC	0x53726448	/* "HdrS" */
#define E820_RAM	1
#define E820_RESERVED	2

enum mode { INLINE, FORWARDED, FORWARDED_POSTED, IOREGIONFD, NR_MODES };
static const char *const mode_names[] = { "inline", "forwarded", "forwarded-posted",
					  "ioregionfd" };

struct vmm {
	enum mode mode;
	int vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
	uint64_t mem_size;
	bool verbose;
	/* inline */
	struct uart16550 uart;
	/* out of process */
	enum ioregion_engine engine;
	pid_t dev_pid;
	int group_fd;		/* ioregionfd: COM1's ordering group */
	int irq_fd, resample_fd;
	bool restart;		/* -r: restart a device that fails */
	unsigned int restarts;
	int fwd_fd;		/* forwarded: the device's socket */
	uint64_t fwd_user_data;	/* forwarded: the region's user_data */
	uint32_t fwd_tag;
	bool fwd_posted;	/* forwarded-posted: the layout posts writes */
	/* PCI: the host bridge, and a vfio-user server's device (-u) */
	struct pci_bus pci;
	/* what reached this process */
	uint64_t exits, com1_exits, other_io, mmio;
	uint8_t cmos_index;
};

/*
 * The shadow of COM1's ordering group: a page, its ports at offset 0.
 * Past them (KVM only ever reads a region's own bytes) the device keeps
 * what the guest's driver programmed, which survives the device process:
 * a restarted device is handed its predecessor's.
 */
#define COM1_SHADOW	4096
#define COM1_REGS_OFF	0x100

static const struct ioregion_grant com1_grant = {
	.base = COM1, .size = 8, .timeout_ms = 5000,
	.flags = IOREGION_GRANT_PIO | IOREGION_GRANT_POSTED,
};

static void die(const char *what, int err)
{
	fprintf(stderr, "demo_vmm: %s: %s\n", what, strerror(err));
	exit(1);
}

static int kvm_ioctl(int fd, unsigned long req, void *arg, const char *what)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		die(what, errno);
	return r;
}

/* ---- the device process ---- */

/*
 * Runs in the child, forked before the VM exists: it holds nothing of
 * the VMM's but the control socket and stdout/stderr.
 */
static int device_main(int ctl, enum ioregion_engine engine)
{
	static const struct ioregion_layout layout = {
		.nr = 1,
		.e[0] = { .offset = 0, .size = 8, .user_data = COM1,
			  .flags = IOREGION_LAYOUT_PIO | IOREGION_LAYOUT_POSTED },
	};
	struct ioregion_sandbox sb = { 0 };
	struct uart_device cfg = { .user_data = COM1, .out_fd = 1, .in_fd = -1,
				   .engine = engine, .sandbox = &sb };
	int sv[2], fds[3], nr = 3, ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	ret = ioregion_propose(ctl, &layout, sv[0], fds, &nr);
	close(sv[0]);
	close(ctl);
	if (!ret && nr != 2 && nr != 3)
		ret = -EPROTO;
	/*
	 * A third fd: the ordering group, whose shadow answers LSR loads and
	 * keeps the UART's programming for a successor.
	 */
	if (!ret && nr == 3) {
		uint8_t *mem = mmap(NULL, 2 * COM1_SHADOW, PROT_READ | PROT_WRITE,
				    MAP_SHARED, fds[2], 0);

		ret = mem == MAP_FAILED ? -errno :
		      ioregion_shadow_map(fds[2], COM1_SHADOW, &cfg.shadow);
		if (!ret)
			cfg.regs = (struct uart16550_regs *)(mem + COM1_REGS_OFF);
		close(fds[2]);
	}
	if (ret) {
		fprintf(stderr, "uart device: the VMM refused COM1: %s\n", strerror(-ret));
		return ret;
	}
	cfg.sock = sv[1];
	cfg.irq_fd = fds[0];
	cfg.resample_fd = fds[1];
	/* Confined from here on, and as nobody when started as root. */
	if (geteuid() == 0)
		sb = (struct ioregion_sandbox){ IOREGION_SANDBOX_SETID, 65534, 65534, NULL };
	ret = uart_device_run(&cfg);
	if (ret)
		fprintf(stderr, "uart device: %s\n", strerror(-ret));
	return ret;
}

static int spawn_device(struct vmm *v, enum ioregion_engine engine)
{
	int ctl[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl))
		die("control socket", errno);
	fflush(NULL);
	v->dev_pid = fork();
	if (v->dev_pid < 0)
		die("fork", errno);
	if (!v->dev_pid) {
		/*
		 * Nothing from the VMM but the control socket and stdio; a
		 * restarted device is forked after the VM exists, so it also
		 * lets go of guest memory and kvm_run.
		 */
		if (dup2(ctl[1], 3) != 3 || close_range(4, ~0u, 0))
			_exit(1);
		if (v->mem)
			munmap(v->mem, v->mem_size);
		if (v->run)
			munmap(v->run, v->run_size);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(device_main(3, engine) ? 1 : 0);
	}
	close(ctl[1]);
	return ctl[0];
}

/* Copy what the guest's driver programmed from one group's shadow to another. */
static int hand_over_regs(int from_fd, int to_fd)
{
	size_t len = 2 * COM1_SHADOW;
	uint8_t *from, *to;

	from = mmap(NULL, len, PROT_READ, MAP_SHARED, from_fd, 0);
	if (from == MAP_FAILED)
		return -errno;
	to = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, to_fd, 0);
	if (to == MAP_FAILED) {
		munmap(from, len);
		return -errno;
	}
	memcpy(to + COM1_REGS_OFF, from + COM1_REGS_OFF, sizeof(struct uart16550_regs));
	munmap(from, len);
	munmap(to, len);
	return 0;
}

/*
 * The device's proposal: check it against COM1's grant, bind it (or keep
 * its socket to forward to), give it IRQ 4.  The VMM's part of the
 * handshake; any failure is told to the device too.
 */
static void connect_device(struct vmm *v, int ctl)
{
	struct ioregion_layout layout;
	int kvm_fd, fds[3] = { -1, -1, -1 }, nr = 2, ret;

	ret = ioregion_recv_proposal(ctl, &layout, &kvm_fd);
	if (ret)
		die("the device's proposal", -ret);
	/*
	 * ioregion_bind_group() checks the layout against the grant itself.
	 * COM1 goes into an ordering group whose shadow the device keeps
	 * LSR in; the device gets the group's fd to map it.
	 */
	if (v->mode == IOREGIONFD) {
		ret = ioregion_group_create(v->vm_fd, COM1_SHADOW, &fds[2]);
		if (!ret && v->group_fd >= 0)
			ret = hand_over_regs(v->group_fd, fds[2]);
		/* A restart: the region moves to the new socket and group. */
		if (!ret)
			ret = ioregion_bind_group(v->vm_fd, &com1_grant, &layout,
						  kvm_fd, fds[2]);
		nr = 3;
	} else {
		ret = ioregion_check_layout(&com1_grant, &layout);
	}
	if (!ret)
		ret = ioregion_irq_intx(v->vm_fd, COM1_GSI, &fds[0], &fds[1]);
	ioregion_reply(ctl, ret, fds, ret ? 0 : nr);
	if (ret)
		die("binding the device's layout", -ret);
	/* Kept to release (and the group to hand over) on a restart. */
	v->irq_fd = fds[0];
	v->resample_fd = fds[1];
	if (v->group_fd >= 0)
		close(v->group_fd);
	v->group_fd = fds[2];
	close(ctl);
	if (v->mode == FORWARDED || v->mode == FORWARDED_POSTED) {
		v->fwd_fd = kvm_fd;
		v->fwd_user_data = layout.e[0].user_data;
		v->fwd_posted = v->mode == FORWARDED_POSTED &&
				(layout.e[0].flags & IOREGION_LAYOUT_POSTED);
	} else {
		close(kvm_fd);	/* KVM holds it now */
	}
	fprintf(stderr, "demo_vmm: COM1 served by process %d (confined), %s\n",
		v->dev_pid, v->fwd_posted ?
		"forwarded from KVM_EXIT_IO over a UNIX socket, writes posted" :
		v->mode == FORWARDED ?
		"forwarded from KVM_EXIT_IO over a UNIX socket" :
		"over ioregionfd: KVM_SET_IOREGION, LSR in the shadow, irqfd + resamplefd");
}

/*
 * One access, as multi-process QEMU does it: send, wait for the answer.
 * A posted write waits for nothing; the stream keeps it ahead of the next
 * read, whose answer so comes after the device applied it.
 */
static int forward(struct vmm *v, uint16_t port, bool is_write, uint8_t *val)
{
	struct ioregionfd_cmd cmd = {
		.op = is_write ? IOREGIONFD_CMD_WRITE : IOREGIONFD_CMD_READ,
		.size = 1, .flags = IOREGIONFD_CMD_RESPONSE, .tag = ++v->fwd_tag,
		.user_data = v->fwd_user_data, .offset = port - COM1,
		.data = is_write ? *val : 0,
	};
	struct pollfd p = { .fd = v->fwd_fd, .events = POLLIN };
	struct ioregionfd_resp resp;
	ssize_t n;

	if (is_write && v->fwd_posted)
		cmd.flags = 0;
	if (send(v->fwd_fd, &cmd, sizeof(cmd), MSG_NOSIGNAL) != sizeof(cmd))
		return -errno;
	if (!cmd.flags)
		return 0;
	n = poll(&p, 1, com1_grant.timeout_ms);
	if (n <= 0)
		return n ? -errno : -ETIMEDOUT;
	n = recv(v->fwd_fd, &resp, sizeof(resp), MSG_WAITALL);
	if (n != sizeof(resp))
		return n < 0 ? -errno : -EPIPE;
	if (resp.tag != cmd.tag)
		return -EBADMSG;
	if (!is_write)
		*val = resp.data;
	return 0;
}

/* ---- inline ---- */

static void inline_tx(void *opaque, uint8_t byte)
{
	if (write(1, &byte, 1) != 1)
		die("guest output", errno);
}

static void inline_irq(void *opaque, bool level)
{
	struct vmm *v = opaque;
	struct kvm_irq_level irq = { .irq = COM1_GSI, .level = level };

	kvm_ioctl(v->vm_fd, KVM_IRQ_LINE, &irq, "KVM_IRQ_LINE");
}

/* ---- the PC's ports ---- */

/* Returns false when the guest asked for a reset: its way to power off. */
static bool port_io(struct vmm *v, uint16_t port, bool is_write, uint8_t *val)
{
	int ret;

	if (port >= COM1 && port < COM1 + 8) {
		v->com1_exits++;
		switch (v->mode) {
		case INLINE:
			if (is_write)
				uart16550_write(&v->uart, port - COM1, *val);
			else
				*val = uart16550_read(&v->uart, port - COM1);
			return true;
		case FORWARDED:
		case FORWARDED_POSTED:
			ret = forward(v, port, is_write, val);
			if (!ret)
				return true;
			fprintf(stderr, "demo_vmm: the UART device process failed: %s of port 0x%x: %s\n",
				is_write ? "write" : "read", port, strerror(-ret));
			exit(3);
		default:
			fprintf(stderr, "demo_vmm: KVM_EXIT_IO at 0x%x: COM1 is not bound\n", port);
			exit(1);
		}
	}
	v->other_io++;
	switch (port) {
	case 0x70:		/* CMOS index; the RTC reads as all zeroes */
		if (is_write)
			v->cmos_index = *val & 0x7f;
		else
			*val = v->cmos_index;
		return true;
	case 0x71:
	case 0x60:		/* i8042: no data, nothing pending */
	case 0x64:
		if (!is_write)
			*val = 0;
		return !(is_write && port == 0x64 && *val == 0xfe);
	}
	if (!is_write)
		*val = 0xff;
	else if (v->verbose && port != 0x80)
		fprintf(stderr, "demo_vmm: write 0x%x to port 0x%x ignored\n", *val, port);
	return true;
}

/* ---- loading Linux ---- */

static void *read_file(const char *path, size_t *size)
{
	struct stat st;
	void *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st))
		die(path, errno);
	buf = malloc(st.st_size ?: 1);
	if (!buf)
		die(path, ENOMEM);
	if (read(fd, buf, st.st_size) != st.st_size)
		die(path, errno ?: EIO);
	close(fd);
	*size = st.st_size;
	return buf;
}

static void add_e820(struct boot_params *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	bp->e820_table[bp->e820_entries++] =
		(struct boot_e820_entry){ .addr = addr, .size = size, .type = type };
}

static void load_linux(struct vmm *v, const char *kernel, const char *initrd,
		       const char *cmdline)
{
	struct boot_params *bp = (void *)(v->mem + BOOT_PARAMS);
	size_t ksize, isize, setup, hdr_end;
	uint8_t *k = read_file(kernel, &ksize);
	uint8_t *rd = read_file(initrd, &isize);
	struct setup_header *hdr = (void *)(k + 0x1f1);
	uint64_t rd_addr, rd_max;

	if (ksize < 0x300 || hdr->header != HDRS_MAGIC || hdr->version < 0x20c ||
	    !(hdr->xloadflags & XLF_KERNEL_64)) {
		fprintf(stderr, "demo_vmm: %s: not a bzImage with a 64-bit entry point (boot protocol 2.12+)\n",
			kernel);
		exit(1);
	}
	setup = ((hdr->setup_sects ?: 4) + 1) * 512;
	if (setup >= ksize || KERNEL_ADDR + hdr->init_size > v->mem_size / 2) {
		fprintf(stderr, "demo_vmm: %s: does not fit in %llu MiB\n", kernel,
			(unsigned long long)v->mem_size >> 20);
		exit(1);
	}
	memset(bp, 0, sizeof(*bp));
	/* The setup header as the file has it: it ends where the jump at 0x200 says. */
	hdr_end = 0x202 + k[0x201];
	memcpy(&bp->hdr, hdr, hdr_end - 0x1f1 < sizeof(bp->hdr) ? hdr_end - 0x1f1 : sizeof(bp->hdr));
	memcpy(v->mem + KERNEL_ADDR, k + setup, ksize - setup);

	rd_max = (bp->hdr.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G) ? v->mem_size :
		 (uint64_t)bp->hdr.initrd_addr_max + 1;
	if (rd_max > v->mem_size)
		rd_max = v->mem_size;
	rd_addr = (rd_max - isize) & ~0xfffull;
	if (isize > rd_max || rd_addr < KERNEL_ADDR + bp->hdr.init_size) {
		fprintf(stderr, "demo_vmm: %s: does not fit in %llu MiB\n", initrd,
			(unsigned long long)v->mem_size >> 20);
		exit(1);
	}
	memcpy(v->mem + rd_addr, rd, isize);
	if (strlen(cmdline) >= bp->hdr.cmdline_size) {
		fprintf(stderr, "demo_vmm: command line longer than the kernel's %u bytes\n",
			bp->hdr.cmdline_size);
		exit(1);
	}
	strcpy((char *)v->mem + CMDLINE_ADDR, cmdline);

	bp->hdr.type_of_loader = 0xff;
	bp->hdr.loadflags |= LOADED_HIGH;
	bp->hdr.cmd_line_ptr = CMDLINE_ADDR;
	bp->hdr.ramdisk_image = rd_addr;
	bp->ext_ramdisk_image = rd_addr >> 32;
	bp->hdr.ramdisk_size = isize;
	/* Low RAM, the EBDA and BIOS area a PC reserves, then the rest. */
	add_e820(bp, 0, 0x9fc00, E820_RAM);
	add_e820(bp, 0x9fc00, 0x400, E820_RESERVED);
	add_e820(bp, 0xf0000, 0x10000, E820_RESERVED);
	add_e820(bp, KERNEL_ADDR, v->mem_size - KERNEL_ADDR, E820_RAM);
	free(k);
	free(rd);
}

/* Long mode, as the 64-bit boot protocol wants it: flat, paged, 1:1. */
static void setup_vcpu(struct vmm *v, int kvm_fd)
{
	uint64_t *gdt = (void *)(v->mem + GDT_ADDR);
	uint64_t *pml4 = (void *)(v->mem + PML4_ADDR);
	uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 11,
		.present = 1, .s = 1, .l = 1, .g = 1,
	}, data = code;
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = KERNEL_ADDR + 0x200, .rsi = BOOT_PARAMS,
				 .rflags = 2 };
	int i, nent = 128;

	/* __BOOT_CS at 0x10 and __BOOT_DS at 0x18. */
	gdt[2] = 0x00af9a000000ffffull;
	gdt[3] = 0x00cf92000000ffffull;
	pml4[0] = (PML4_ADDR + 0x1000) | 3;
	pdpt[0] = (PML4_ADDR + 0x2000) | 3;
	for (i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* 2 MiB, present, writable */

	/*
	 * The CPU KVM can give, kvmclock's leaves included.  First: KVM checks
	 * the long mode of the registers below against it.
	 */
	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			die("cpuid", ENOMEM);
		cpuid->nent = nent;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
			break;
		if (errno != E2BIG)
			die("KVM_GET_SUPPORTED_CPUID", errno);
		free(cpuid);
		nent *= 2;
	}
	/*
	 * Tell Linux it runs on a hypervisor, or it never looks for KVM's
	 * leaves.  Hide XSAVE (so AVX and friends too): the guest needs no
	 * extended state, and leaf 0xd as a nested KVM under QEMU TCG reports
	 * it disagrees with the sizes Linux computes (a boot-time WARN).
	 */
	for (i = 0; i < (int)cpuid->nent; i++)
		if (cpuid->entries[i].function == 1) {
			cpuid->entries[i].ecx |= 1u << 31;
			cpuid->entries[i].ecx &= ~(1u << 26 | 1u << 27);
		}
	kvm_ioctl(v->vcpu_fd, KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2");
	free(cpuid);

	kvm_ioctl(v->vcpu_fd, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	data.selector = 0x18;
	data.type = 3;
	data.l = 0;
	data.db = 1;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.gdt.base = GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.cr3 = PML4_ADDR;
	sregs.cr4 = 1 << 5;				/* PAE */
	sregs.cr0 = 1 | (1 << 4) | (1u << 31);		/* PE, ET, PG */
	sregs.efer = (1 << 8) | (1 << 10);		/* LME, LMA */
	kvm_ioctl(v->vcpu_fd, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	kvm_ioctl(v->vcpu_fd, KVM_SET_REGS, &regs, "KVM_SET_REGS");
}

static void create_vm(struct vmm *v, int kvm_fd)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_userspace_memory_region ram;
	uint64_t tss = 0xfffbd000, ident = tss - 0x1000;	/* Intel's, below 4 GiB */

	if (ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		die("/dev/kvm", ENOTSUP);
	v->vm_fd = kvm_ioctl(kvm_fd, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
	kvm_ioctl(v->vm_fd, KVM_SET_TSS_ADDR, (void *)tss, "KVM_SET_TSS_ADDR");
	kvm_ioctl(v->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident, "KVM_SET_IDENTITY_MAP_ADDR");
	kvm_ioctl(v->vm_fd, KVM_CREATE_IRQCHIP, NULL, "KVM_CREATE_IRQCHIP");
	kvm_ioctl(v->vm_fd, KVM_CREATE_PIT2, &pit, "KVM_CREATE_PIT2");

	v->mem = mmap(NULL, v->mem_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v->mem == MAP_FAILED)
		die("guest memory", errno);
	ram = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = v->mem_size,
		.userspace_addr = (uintptr_t)v->mem,
	};
	kvm_ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &ram, "KVM_SET_USER_MEMORY_REGION");

	v->vcpu_fd = kvm_ioctl(v->vm_fd, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU");
	v->run_size = kvm_ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL,
				"KVM_GET_VCPU_MMAP_SIZE");
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu_fd, 0);
	if (v->run == MAP_FAILED)
		die("kvm_run", errno);
}

/* ---- running ---- */

static const char *const fail_reasons[] = {
	[KVM_IOREGIONFD_FAIL_PEER_CLOSED] = "the device process closed its socket",
	[KVM_IOREGIONFD_FAIL_IO_ERROR] = "I/O error on the device's socket",
	[KVM_IOREGIONFD_FAIL_BAD_RESPONSE] = "malformed response",
	[KVM_IOREGIONFD_FAIL_TIMEOUT] = "no response in time",
	[KVM_IOREGIONFD_FAIL_GONE] = "the region was unbound",
};

static void report_failure(const struct kvm_run *run)
{
	typeof(run->ioregionfd_failure) f = run->ioregionfd_failure;
	const char *why = f.reason < sizeof(fail_reasons) / sizeof(fail_reasons[0]) &&
			  fail_reasons[f.reason] ? fail_reasons[f.reason] : "unknown reason";

	fprintf(stderr,
		"demo_vmm: KVM_EXIT_IOREGIONFD_FAILURE: %s of %u byte(s) at %s 0x%llx: %s (reason %u, %s)\n",
		f.is_write ? "write" : "read", f.len, f.pio ? "port" : "address",
		(unsigned long long)f.addr, why, f.reason, strerror(f.error));
}

static void dump_vcpu(struct vmm *v, const char *what)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	fprintf(stderr, "demo_vmm: %s\n", what);
	if (ioctl(v->vcpu_fd, KVM_GET_REGS, &r) || ioctl(v->vcpu_fd, KVM_GET_SREGS, &s))
		return;
	fprintf(stderr, "demo_vmm: rip %llx rsp %llx rflags %llx cr0 %llx cr2 %llx cr3 %llx\n",
		r.rip, r.rsp, r.rflags, s.cr0, s.cr2, s.cr3);
}

/*
 * The device process can die while the guest is not using COM1, e.g. with
 * its driver waiting for a THR-empty interrupt that only the device would
 * raise: no access then fails, and only SIGCHLD says so.  The handler
 * makes KVM_RUN return (immediate_exit covers a signal that comes just
 * before it is entered); run_guest() then looks at the device.
 */
static struct kvm_run *sigchld_run;
static volatile sig_atomic_t child_exited;

static void on_sigchld(int sig)
{
	child_exited = 1;
	if (sigchld_run)
		sigchld_run->immediate_exit = 1;
}

static void watch_device(struct vmm *v)
{
	struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_RESTART };

	sigchld_run = v->run;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL))
		die("SIGCHLD", errno);
}

/* Before kvm_run goes: no more SIGCHLD handling (waitpid() still works). */
static void unwatch_device(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigchld_run = NULL;
}

/* After a SIGCHLD: whether COM1's device process is gone (and reaped). */
static bool device_died(struct vmm *v, int *status)
{
	child_exited = 0;
	v->run->immediate_exit = 0;
	return v->dev_pid > 0 && waitpid(v->dev_pid, status, WNOHANG) == v->dev_pid;
}

/* Returns the process's exit status once the guest is done. */
/*
 * -r: the device failed an access, or died.  Replace it: a new process,
 * COM1 moved to its socket and to a fresh ordering group (a clean shadow)
 * that holds the old one's record of the driver's programming, new
 * irqfds.  An access that failed (@failed) is completed as the new UART
 * would answer it straight after taking over (a write is lost with the
 * old device); without one, the old process died and is reaped already.
 */
static void restart_device(struct vmm *v, bool failed)
{
	typeof(v->run->ioregionfd_failure) *f = &v->run->ioregionfd_failure;
	pid_t old = v->dev_pid;
	int ret;

	if (failed) {
		kill(old, SIGKILL);
		waitpid(old, NULL, 0);
	}
	ret = ioregion_irq_release(v->vm_fd, COM1_GSI, v->irq_fd, v->resample_fd);
	if (ret)
		die("releasing the old device's irqfds", -ret);
	connect_device(v, spawn_device(v, v->engine));
	v->restarts++;
	fprintf(stderr, "demo_vmm: COM1's device restarted (process %d replaces %d); the guest goes on\n",
		v->dev_pid, old);
	if (failed && !f->is_write)
		f->data = f->addr == COM1 + 5 ? 0x60 :	/* LSR: transmitter empty */
			  f->addr == COM1 + 2 ? 0x01 : 0;	/* IIR: nothing pending */
}

static int run_guest(struct vmm *v)
{
	struct kvm_run *run = v->run;
	int status;
	uint8_t *p;
	uint32_t i;

	for (;;) {
		if (ioctl(v->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno != EINTR && errno != EAGAIN)
				die("KVM_RUN", errno);
			if (!child_exited || !device_died(v, &status))
				continue;
			fprintf(stderr, "demo_vmm: COM1's device process %d died (%s %d) while the guest was not using it\n",
				v->dev_pid, WIFSIGNALED(status) ? "signal" : "exit status",
				WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			if (!v->restart) {
				v->dev_pid = 0;	/* reaped: nothing to kill */
				return 3;
			}
			restart_device(v, false);
			continue;
		}
		v->exits++;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			p = (uint8_t *)run + run->io.data_offset;
			if (pci_port_io(&v->pci, run->io.port, run->io.size,
					run->io.direction == KVM_EXIT_IO_OUT, p)) {
				for (i = 1; i < run->io.count; i++)
					pci_port_io(&v->pci, run->io.port, run->io.size,
						    run->io.direction == KVM_EXIT_IO_OUT,
						    p + i * run->io.size);
				break;
			}
			for (i = 0; i < run->io.count * run->io.size; i++)
				if (!port_io(v, run->io.port + i % run->io.size,
					     run->io.direction == KVM_EXIT_IO_OUT, p + i))
					return 0;
			break;
		case KVM_EXIT_MMIO:
			if (pci_mmio(&v->pci, run->mmio.phys_addr, run->mmio.len,
				     run->mmio.is_write, run->mmio.data))
				break;
			/* Nothing is there: reads float high. */
			v->mmio++;
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xff, run->mmio.len);
			break;
		case KVM_EXIT_SHUTDOWN:
			dump_vcpu(v, "the guest reset itself (triple fault)");
			return 0;
		case KVM_EXIT_IOREGIONFD_FAILURE:
			report_failure(run);
			if (pci_ioregionfd_failure(&v->pci, run->ioregionfd_failure.addr,
						   run->ioregionfd_failure.pio,
						   run->ioregionfd_failure.len)) {
				run->ioregionfd_failure.data = ~0ull;
				break;
			}
			if (!v->restart)
				return 3;
			restart_device(v, true);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			fprintf(stderr, "demo_vmm: KVM internal error, suberror %u\n",
				run->internal.suberror);
			return 1;
		case KVM_EXIT_FAIL_ENTRY:
			fprintf(stderr, "demo_vmm: VM entry failed, reason 0x%llx\n",
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return 1;
		default:
			fprintf(stderr, "demo_vmm: unexpected exit %u\n", run->exit_reason);
			return 1;
		}
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: demo_vmm [-m inline|forwarded|forwarded-posted|ioregionfd]\n"
		"                [-e recv|uring] [-M MiB] [-a 'kernel args'] [-r] [-v]\n"
		"                [-u vfio-user-socket [-U]] bzImage initramfs\n"
		"  -r  ioregionfd: restart COM1's device process if it fails or dies\n"
		"  -u  put the device of the vfio-user server listening there at PCI 00:01.0\n"
		"  -U  its BARs through vfio-user messages only, no ioregionfd\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct vmm v = { .mode = IOREGIONFD, .mem_size = 128ull << 20, .fwd_fd = -1,
			 .group_fd = -1, .irq_fd = -1, .resample_fd = -1,
			 .engine = IOREGION_ENGINE_RECV };
	char cmdline[1024] = "console=ttyS0 reboot=k panic=-1";
	const char *extra = NULL, *vfu_path = NULL;
	bool vfu_messages = false;
	int kvm_fd, ctl = -1, rc, st, opt, i;
	uint64_t features;
	double start;

	while ((opt = getopt(argc, argv, "m:e:M:a:rvu:U")) != -1) {
		switch (opt) {
		case 'm':
			for (i = 0; i < NR_MODES && strcmp(optarg, mode_names[i]); i++)
				;
			if (i == NR_MODES)
				usage();
			v.mode = i;
			break;
		case 'e':
			if (strcmp(optarg, "recv") && strcmp(optarg, "uring"))
				usage();
			v.engine = strcmp(optarg, "recv") ? IOREGION_ENGINE_URING :
							    IOREGION_ENGINE_RECV;
			break;
		case 'M':
			v.mem_size = strtoull(optarg, NULL, 0) << 20;
			if (v.mem_size < (32 << 20) || v.mem_size > (1ull << 30))
				usage();
			break;
		case 'a':
			extra = optarg;
			break;
		case 'r':
			v.restart = true;
			break;
		case 'v':
			v.verbose = true;
			break;
		case 'u':
			vfu_path = optarg;
			break;
		case 'U':
			vfu_messages = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || (v.restart && v.mode != IOREGIONFD) ||
	    (vfu_messages && !vfu_path))
		usage();
	if (extra && snprintf(cmdline + strlen(cmdline), sizeof(cmdline) - strlen(cmdline),
			      " %s", extra) >= (int)(sizeof(cmdline) - strlen(cmdline)))
		usage();

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		die("/dev/kvm", errno);
	if (v.mode == IOREGIONFD && ioregion_probe(kvm_fd, &features))
		die("KVM_CAP_IOREGIONFD", EOPNOTSUPP);
	/* Before the VM exists: the device inherits none of it. */
	if (v.mode != INLINE)
		ctl = spawn_device(&v, v.engine);

	create_vm(&v, kvm_fd);
	pci_init(&v.pci, v.vm_fd);
	if (vfu_path && pci_attach_vfu(&v.pci, vfu_path, vfu_messages, PCI_INTX_GSI))
		exit(1);
	load_linux(&v, argv[optind], argv[optind + 1], cmdline);
	setup_vcpu(&v, kvm_fd);
	if (v.mode != INLINE) {
		connect_device(&v, ctl);
	} else {
		uart16550_init(&v.uart, inline_tx, inline_irq, &v);
		fprintf(stderr, "demo_vmm: COM1 emulated inline, on KVM_EXIT_IO\n");
	}
	fprintf(stderr, "demo_vmm: booting %s (%llu MiB): %s\n", argv[optind],
		(unsigned long long)v.mem_size >> 20, cmdline);

	if (v.mode != INLINE)
		watch_device(&v);
	start = now_s();
	rc = run_guest(&v);
	fprintf(stderr, "demo_vmm: %s after %.1f s; %llu exits to the VMM, %llu of them COM1's, %llu other ports, %llu MMIO\n",
		rc ? "stopped" : "the guest powered off", now_s() - start,
		(unsigned long long)v.exits, (unsigned long long)v.com1_exits,
		(unsigned long long)v.other_io, (unsigned long long)v.mmio);

	pci_report(&v.pci);

	/* Letting go of the VM lets go of the device's socket: it exits. */
	unwatch_device();
	pci_close(&v.pci);
	close(v.vcpu_fd);
	munmap(v.run, v.run_size);
	close(v.vm_fd);
	close(kvm_fd);
	if (v.fwd_fd >= 0)
		close(v.fwd_fd);
	if (v.dev_pid > 0) {
		if (rc)
			kill(v.dev_pid, SIGKILL);
		if (waitpid(v.dev_pid, &st, 0) == v.dev_pid && !rc &&
		    !(WIFEXITED(st) && !WEXITSTATUS(st))) {
			fprintf(stderr, "demo_vmm: the UART device process ended badly (status 0x%x)\n", st);
			rc = 3;
		}
	}
	return rc;
}
