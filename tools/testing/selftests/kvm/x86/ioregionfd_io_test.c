// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ioregionfd data path with one vCPU: reads and writes of every size on
 * MMIO and PIO, string PIO, a page-crossing MMIO access, posted writes
 * delivered in order, a doorbell, all over stream and seqpacket sockets,
 * with O_NONBLOCK flipped on the socket mid-run, and a plain exit to
 * userspace again once the regions are deassigned.
 */
#include "ioregionfd_util.h"
#include "kselftest.h"
#include "processor.h"

#define GPA		0xc0000000ull
#define MEM_GPA		(GPA + 0x0000)	/* 2 pages: a register file */
#define POSTED_GPA	(GPA + 0x2000)	/* posted writes, checked in order */
#define BELL_GPA	(GPA + 0x3000)	/* doorbell */
#define STATUS_GPA	(GPA + 0x3100)	/* counters the device keeps */
#define MEM_PORT	0x2000
#define FIFO_PORT	0x2010
#define UD_BASE		0xabcd000000000000ull

enum { R_MEM, R_POSTED, R_BELL, R_STATUS, R_PIO_MEM, R_FIFO, NR_REGIONS };

static const struct {
	uint64_t gpa, size;
	uint32_t flags;
} regions[NR_REGIONS] = {
	[R_MEM]     = { MEM_GPA, 0x2000, 0 },
	[R_POSTED]  = { POSTED_GPA, 0x1000, KVM_IOREGION_POSTED_WRITES },
	[R_BELL]    = { BELL_GPA, 0, KVM_IOREGION_POSTED_WRITES },
	[R_STATUS]  = { STATUS_GPA, 0x100, 0 },
	[R_PIO_MEM] = { MEM_PORT, 8, KVM_IOREGION_PIO },
	[R_FIFO]    = { FIFO_PORT, 2, KVM_IOREGION_PIO },
};

static uint64_t nr_posted;	/* how many posted writes the guest makes */

/* The device: a register file, counters and a FIFO log. */
struct device {
	struct ioregionfd_link link;
	pthread_t thread;
	uint8_t mem[0x2000];
	uint8_t pio_mem[8];
	uint64_t posted, bells, fifo_in, fifo_out;
	uint8_t fifo_log[64];
};

static uint8_t pattern(uint64_t off)
{
	return off * 7 + 3;
}

static uint64_t get_le(const uint8_t *p, int size)
{
	uint64_t v = 0;

	while (size--)
		v = (v << 8) | p[size];
	return v;
}

static void put_le(uint8_t *p, int size, uint64_t v)
{
	for (int i = 0; i < size; i++, v >>= 8)
		p[i] = v;
}

static uint64_t device_access(struct device *d, const struct ioregionfd_cmd *cmd)
{
	uint64_t idx = cmd->user_data - UD_BASE;
	bool write = cmd->op == IOREGIONFD_CMD_WRITE;
	bool posted = !(cmd->flags & IOREGIONFD_CMD_RESPONSE);

	ioregionfd_check_cmd(cmd);
	TEST_ASSERT(idx < NR_REGIONS, "unknown user_data 0x%llx", cmd->user_data);
	TEST_ASSERT(!regions[idx].size || cmd->offset + cmd->size <= regions[idx].size,
		    "offset 0x%llx size %u outside region %lu", cmd->offset, cmd->size, idx);
	TEST_ASSERT(posted == (write && (regions[idx].flags & KVM_IOREGION_POSTED_WRITES)),
		    "region %lu: response flag 0x%x for op %u", idx, cmd->flags, cmd->op);

	switch (idx) {
	case R_MEM:
		if (write)
			put_le(d->mem + cmd->offset, cmd->size, cmd->data);
		return get_le(d->mem + cmd->offset, cmd->size);
	case R_PIO_MEM:
		if (write)
			put_le(d->pio_mem + cmd->offset, cmd->size, cmd->data);
		return get_le(d->pio_mem + cmd->offset, cmd->size);
	case R_POSTED:
		TEST_ASSERT(cmd->offset == 8 && cmd->size == 8 && cmd->data == d->posted,
			    "posted write %lu out of order: offset 0x%llx data %llu",
			    d->posted, cmd->offset, cmd->data);
		d->posted++;
		return 0;
	case R_BELL:
		TEST_ASSERT(!cmd->offset && (!cmd->size || cmd->data == 0xb0b0 + d->bells),
			    "doorbell %lu: size %u data 0x%llx", d->bells, cmd->size, cmd->data);
		d->bells++;
		return 0;
	case R_STATUS:
		TEST_ASSERT(!write && cmd->size == 8, "status access");
		return cmd->offset == 0 ? d->posted : cmd->offset == 8 ? d->bells : d->fifo_in;
	case R_FIFO:
		if (!write)
			return d->fifo_out++;
		TEST_ASSERT(cmd->size == 1 && d->fifo_in < sizeof(d->fifo_log), "fifo write");
		d->fifo_log[d->fifo_in++] = cmd->data;
		return 0;
	}
	return 0;
}

static void *device_thread(void *arg)
{
	struct device *d = arg;
	struct ioregionfd_cmd cmd;
	uint64_t data;

	while (ioregionfd_read_full(d->link.dev_rfd, &cmd, sizeof(cmd))) {
		data = device_access(d, &cmd);
		if (cmd.flags & IOREGIONFD_CMD_RESPONSE)
			ioregionfd_reply(d->link.dev_wfd, &cmd, data);
	}
	return NULL;
}

static uint64_t mmio_read(uint64_t addr, int size)
{
	switch (size) {
	case 1:
		return READ_ONCE(*(uint8_t *)addr);
	case 2:
		return READ_ONCE(*(uint16_t *)addr);
	case 4:
		return READ_ONCE(*(uint32_t *)addr);
	default:
		return READ_ONCE(*(uint64_t *)addr);
	}
}

static void mmio_write(uint64_t addr, int size, uint64_t v)
{
	switch (size) {
	case 1:
		WRITE_ONCE(*(uint8_t *)addr, v);
		break;
	case 2:
		WRITE_ONCE(*(uint16_t *)addr, v);
		break;
	case 4:
		WRITE_ONCE(*(uint32_t *)addr, v);
		break;
	default:
		WRITE_ONCE(*(uint64_t *)addr, v);
		break;
	}
}

static uint32_t pio_read(uint16_t port, int size)
{
	uint8_t b;
	uint16_t w;
	uint32_t l;

	switch (size) {
	case 1:
		asm volatile("inb %1, %0" : "=a"(b) : "d"(port));
		return b;
	case 2:
		asm volatile("inw %1, %0" : "=a"(w) : "d"(port));
		return w;
	default:
		asm volatile("inl %1, %0" : "=a"(l) : "d"(port));
		return l;
	}
}

static void pio_write(uint16_t port, int size, uint32_t v)
{
	switch (size) {
	case 1:
		asm volatile("outb %b0, %1" : : "a"(v), "d"(port));
		break;
	case 2:
		asm volatile("outw %w0, %1" : : "a"(v), "d"(port));
		break;
	default:
		asm volatile("outl %0, %1" : : "a"(v), "d"(port));
		break;
	}
}

static uint64_t expect_mem(uint64_t off, int size)
{
	uint64_t v = 0;

	while (size--)
		v = (v << 8) | pattern(off + size);
	return v;
}

static void guest_code(void)
{
	static const uint8_t out[16] = "ioregionfd rep!";
	uint16_t in[8];
	uint64_t i, v;
	int size;

	/* Reads and writes of every size, MMIO and PIO. */
	for (size = 1; size <= 8; size *= 2) {
		for (i = 0; i < 64; i += size)
			GUEST_ASSERT_EQ(mmio_read(MEM_GPA + 0x100 + i, size),
					expect_mem(0x100 + i, size));
		v = 0x8877665544332211ull >> (64 - 8 * size) ^ size;
		mmio_write(MEM_GPA + 0x800 + size * 8, size, v);
		GUEST_ASSERT_EQ(mmio_read(MEM_GPA + 0x800 + size * 8, size), v);
		if (size == 8)
			continue;
		pio_write(MEM_PORT + 4 - size, size, v);
		GUEST_ASSERT_EQ(pio_read(MEM_PORT + 4 - size, size), (uint32_t)v);
	}
	GUEST_SYNC(1);

	/* An 8-byte access across the page boundary inside the region. */
	GUEST_ASSERT_EQ(mmio_read(MEM_GPA + 0xffc, 8), expect_mem(0xffc, 8));
	mmio_write(MEM_GPA + 0xffa, 8, 0x0102030405060708ull);
	GUEST_ASSERT_EQ(mmio_read(MEM_GPA + 0xff8, 4), 0x0708ull << 16 | expect_mem(0xff8, 2));
	GUEST_ASSERT_EQ(mmio_read(MEM_GPA + 0x1000, 4),
			expect_mem(0x1002, 2) << 16 | 0x0102);

	/* String PIO both ways. */
	{
		const uint8_t *src = out;
		uint16_t *dst = in;
		uint64_t n = sizeof(out);

		asm volatile("cld; rep outsb" : "+S"(src), "+c"(n) : "d"(FIFO_PORT) : "memory");
		n = 8;
		asm volatile("cld; rep insw" : "+D"(dst), "+c"(n) : "d"(FIFO_PORT) : "memory");
		for (i = 0; i < 8; i++)
			GUEST_ASSERT_EQ(in[i], i);
		GUEST_ASSERT_EQ(mmio_read(STATUS_GPA + 16, 8), sizeof(out));
	}
	GUEST_SYNC(2);

	/* Posted writes, then a synchronous read that must see all of them. */
	for (i = 0; i < nr_posted; i++)
		mmio_write(POSTED_GPA + 8, 8, i);
	GUEST_ASSERT_EQ(mmio_read(STATUS_GPA, 8), nr_posted);
	for (i = 0; i < 16; i++)
		mmio_write(BELL_GPA, 4, 0xb0b0 + i);
	GUEST_ASSERT_EQ(mmio_read(STATUS_GPA + 8, 8), 16);
	GUEST_SYNC(3);

	/* Deassigned: plain exits to userspace again. */
	GUEST_ASSERT_EQ(mmio_read(MEM_GPA, 4), 0x12345678);
	pio_write(MEM_PORT, 2, 0xbeef);
	GUEST_DONE();
}

static bool run_once(enum ioregionfd_transport t, bool flip_nonblock)
{
	struct kvm_vcpu *vcpu;
	struct device *d;
	struct kvm_vm *vm;
	struct ucall uc;
	bool done = false, deassigned = false;
	int i, stage = 0;

	d = calloc(1, sizeof(*d));
	for (i = 0; i < (int)sizeof(d->mem); i++)
		d->mem[i] = pattern(i);
	d->link = ioregionfd_link_open(t);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	virt_map(vm, GPA, GPA, 4);
	sync_global_to_guest(vm, nr_posted);
	for (i = 0; i < NR_REGIONS; i++) {
		struct kvm_ioregion r = ioregion(regions[i].gpa, regions[i].size,
						 d->link.kvm_rfd, d->link.kvm_wfd,
						 regions[i].flags);

		r.user_data = UD_BASE + i;
		kvm_set_ioregion(vm, &r);
	}
	pthread_create(&d->thread, NULL, device_thread, d);

	while (!done) {
		vcpu_run(vcpu);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			stage = uc.args[1];
			if (stage == 1 && flip_nonblock) {
				fcntl(d->link.kvm_rfd, F_SETFL, O_NONBLOCK);
				fcntl(d->link.kvm_wfd, F_SETFL, O_NONBLOCK);
				fcntl(d->link.dev_rfd, F_SETFL, O_NONBLOCK);
				fcntl(d->link.dev_wfd, F_SETFL, O_NONBLOCK);
			}
			if (stage == 3) {
				for (i = 0; i < NR_REGIONS; i++) {
					struct kvm_ioregion r = ioregion(regions[i].gpa,
						regions[i].size, -1, -1,
						(regions[i].flags & KVM_IOREGION_PIO) |
						KVM_IOREGION_DEASSIGN);

					kvm_set_ioregion(vm, &r);
				}
				deassigned = true;
			}
			break;
		case UCALL_DONE:
			done = true;
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		default:
			TEST_ASSERT(deassigned,
				    "stage %d: %s before deassign: mmio 0x%llx len %u write %u, port 0x%x",
				    stage, exit_reason_str(vcpu->run->exit_reason),
				    vcpu->run->mmio.phys_addr, vcpu->run->mmio.len,
				    vcpu->run->mmio.is_write, vcpu->run->io.port);
			if (vcpu->run->exit_reason == KVM_EXIT_MMIO) {
				TEST_ASSERT(vcpu->run->mmio.phys_addr == MEM_GPA &&
					    !vcpu->run->mmio.is_write, "KVM_EXIT_MMIO");
				*(uint32_t *)vcpu->run->mmio.data = 0x12345678;
			} else {
				TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO &&
					    vcpu->run->io.port == MEM_PORT &&
					    *(uint16_t *)((char *)vcpu->run +
							 vcpu->run->io.data_offset) == 0xbeef,
					    "KVM_EXIT_IO");
			}
		}
	}
	TEST_ASSERT(!memcmp(d->fifo_log, "ioregionfd rep!", 16), "rep outsb");
	kvm_vm_free(vm);
	ioregionfd_link_close(&d->link);
	pthread_join(d->thread, NULL);
	TEST_ASSERT(d->posted == nr_posted, "device saw %lu posted writes", d->posted);
	free(d);
	return stage == 3;
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_IOREGIONFD));
	ksft_print_header();
	ksft_set_plan(3);

	nr_posted = 100000;
	ksft_test_result(run_once(TRANSPORT_STREAM, false),
			 "stream socket: sizes, string PIO, page crossing, %lu posted writes in order, doorbell, deassign\n",
			 nr_posted);
	nr_posted = 1000;
	ksft_test_result(run_once(TRANSPORT_SEQPACKET, false),
			 "seqpacket socket: the same with %lu posted writes\n", nr_posted);
	ksft_test_result(run_once(TRANSPORT_STREAM, true),
			 "stream socket with O_NONBLOCK set mid-run\n");
	ksft_finished();
}
