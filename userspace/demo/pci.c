// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The demo's PCI bus, in the spirit of kvmtool's: configuration mechanism
 * #1 at ports 0xcf8/0xcfc, a host bridge at 00:00.0 (which is what Linux's
 * pci_sanity_check() looks for before it trusts conf1), and at 00:01.0 the
 * device of a vfio-user server (QEMU's x-vfio-user-server, a libvfio-user
 * sample), reached through libioregion's vfio-user client.
 *
 * The device's configuration space is the server's, forwarded as
 * VFIO_USER_REGION_READ/WRITE messages, except what a VMM owns: the BARs
 * (sized from the server's region sizes, placed by the guest) and the
 * interrupt line.  Whenever the guest moves a BAR or turns decoding on or
 * off, ioregion_vfu_map() binds the region's ioregionfd sub-region where
 * it now is (or unbinds it): from then on the guest's accesses there go
 * from KVM straight to the server.  A region the server offers no
 * sub-region for - or every region, messages only - exits to the VMM,
 * which forwards the access as a message.
 *
 * INTx: the device's pin is routed to an ISA IRQ (there is no MP table or
 * ACPI: Linux uses the PIC and takes the IRQ from PCI_INTERRUPT_LINE),
 * whose irqfd the server triggers directly.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "libioregion.h"
#include "pci.h"

#define CONF1_ADDR	0xcf8
#define CONF1_DATA	0xcfc
#define CONF1_ENABLE	0x80000000u

#define VFU_DEVFN	0x08	/* 00:01.0 */

/* 00:00.0: a host bridge, QEMU's vendor and device IDs for one. */
static const uint8_t host_bridge[64] = {
	[PCI_VENDOR_ID] = 0x36, [PCI_VENDOR_ID + 1] = 0x1b,
	[PCI_DEVICE_ID] = 0x08, [PCI_DEVICE_ID + 1] = 0x00,
	[PCI_CLASS_DEVICE] = 0x00, [PCI_CLASS_DEVICE + 1] = 0x06,	/* host bridge */
};

static bool bar_reg(unsigned int off)
{
	return off >= PCI_BASE_ADDRESS_0 && off < PCI_BASE_ADDRESS_5 + 4;
}

static void server_lost(struct pci_bus *bus, const char *what, int err)
{
	if (!bus->lost)
		fprintf(stderr, "demo_vmm: the vfio-user server failed (%s: %s): its device reads as all ones from now on\n",
			what, strerror(-err));
	bus->lost = true;
}

/*
 * A region access as a message.  A read the server refuses reads all ones;
 * so does every one once the connection is gone (libioregion closes it
 * when the server is, or when its replies are out of step).
 */
static void vfu_access(struct pci_bus *bus, uint32_t index, uint64_t off,
		       void *data, unsigned int size, bool is_write)
{
	const char *what = index == VFIO_PCI_CONFIG_REGION_INDEX ?
			   "configuration space" : "BAR access";
	int ret;

	if (!bus->lost) {
		if (index == VFIO_PCI_CONFIG_REGION_INDEX)
			bus->cfg_msgs++;
		else
			bus->bar_msgs++;
		ret = ioregion_vfu_access(bus->vfu, index, off, data, size, is_write);
		if (!ret)
			return;
		if (ret == -ECONNRESET || ret == -ENOTCONN || ret == -EPROTO)
			server_lost(bus, what, ret);
		else if (!bus->refused++)
			fprintf(stderr, "demo_vmm: the vfio-user server refused a %s %s of region %u offset 0x%llx: %s (said once)\n",
				what, is_write ? "write" : "read", index,
				(unsigned long long)off, strerror(-ret));
	}
	if (!is_write)
		memset(data, 0xff, size);
}

static uint64_t bar_addr(const struct pci_bus *bus, int i)
{
	const struct pci_vfu_bar *b = &bus->bar[i];
	uint64_t addr = b->val & (b->io ? PCI_BASE_ADDRESS_IO_MASK :
					  PCI_BASE_ADDRESS_MEM_MASK);

	if ((b->type & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64)
		addr |= (uint64_t)bus->bar[i + 1].val << 32;
	return addr;
}

/*
 * Where each BAR decodes now, from its value and the command register;
 * binds, moves or unbinds its ioregionfd to match.
 */
static void update_bars(struct pci_bus *bus)
{
	struct pci_vfu_bar *b;
	uint64_t addr;
	int i, ret;

	for (i = 0; i < PCI_VFU_BARS; i++) {
		b = &bus->bar[i];
		if (!b->size)
			continue;
		addr = bar_addr(bus, i);
		if (!(bus->command & (b->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) ||
		    !addr || addr + b->size - 1 < addr ||
		    (b->io && addr + b->size > 0x10000))
			addr = PCI_UNMAPPED;
		if (addr == b->mapped)
			continue;
		ret = ioregion_vfu_map(bus->vfu, bus->vm_fd, i,
				       addr == PCI_UNMAPPED ? IOREGION_VFU_UNMAPPED : addr,
				       b->io ? IOREGION_VFU_MAP_PIO : 0);
		if (ret)
			fprintf(stderr, "demo_vmm: BAR%d at %s 0x%llx: no ioregionfd (%s); its accesses come through the VMM\n",
				i, b->io ? "port" : "address", (unsigned long long)addr,
				strerror(-ret));
		b->mapped = addr;
	}
}

/* The value of configuration dword @reg of the vfio-user device. */
static uint32_t vfu_cfg_read(struct pci_bus *bus, unsigned int reg)
{
	uint32_t val;

	if (bar_reg(reg))
		return bus->bar[(reg - PCI_BASE_ADDRESS_0) / 4].val;
	if (reg == PCI_ROM_ADDRESS)
		return 0;		/* no expansion ROM */
	vfu_access(bus, VFIO_PCI_CONFIG_REGION_INDEX, reg, &val, 4, false);
	if (reg == PCI_INTERRUPT_LINE)
		val = (val & ~0xffu) | bus->irq_line;
	return val;
}

static void vfu_cfg_write(struct pci_bus *bus, unsigned int off, unsigned int size,
			  uint32_t val)
{
	unsigned int reg = off & ~3u, shift = (off & 3) * 8;
	uint32_t mask = (size == 4 ? ~0u : ((1u << size * 8) - 1)) << shift;
	struct pci_vfu_bar *b;
	uint32_t keep;

	if (bar_reg(reg)) {
		/*
		 * The server's PCI core wants them too: QEMU's maps the BAR in
		 * its own address spaces, and serves accesses only there.
		 */
		vfu_access(bus, VFIO_PCI_CONFIG_REGION_INDEX, off, &val, size, true);
		b = &bus->bar[(reg - PCI_BASE_ADDRESS_0) / 4];
		val = (b->val & ~mask) | ((val << shift) & mask);
		if (!b->size) {
			keep = 0;	/* not a BAR, or a 64-bit BAR's upper half */
			if (reg > PCI_BASE_ADDRESS_0 && b[-1].size &&
			    (b[-1].type & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
			    PCI_BASE_ADDRESS_MEM_TYPE_64)
				keep = (uint32_t)~((b[-1].size - 1) >> 32);
			b->val = val & keep;
		} else {
			b->val = (val & ~(uint32_t)(b->size - 1) &
				  (b->io ? PCI_BASE_ADDRESS_IO_MASK : PCI_BASE_ADDRESS_MEM_MASK)) |
				 b->type;
		}
		update_bars(bus);
		return;
	}
	if (reg == PCI_ROM_ADDRESS)
		return;
	vfu_access(bus, VFIO_PCI_CONFIG_REGION_INDEX, off, &val, size, true);
	if (off <= PCI_COMMAND + 1 && off + size > PCI_COMMAND) {
		/* PCI_COMMAND is bytes 4-5 of dword 4: @off is 4 or 5. */
		if (off == PCI_COMMAND)
			bus->command = size == 1 ? (bus->command & 0xff00) | (val & 0xff) : val;
		else
			bus->command = (bus->command & 0xff) | (val & 0xff) << 8;
		update_bars(bus);
	}
}

static void conf1_data(struct pci_bus *bus, unsigned int off, unsigned int size,
		       bool is_write, uint8_t *data)
{
	unsigned int devfn = (bus->cf8 >> 8) & 0xff, bus_nr = (bus->cf8 >> 16) & 0xff;
	unsigned int reg = (bus->cf8 & 0xfc) + off;
	uint32_t val = 0;

	bus->cfg_accesses++;
	if (!(bus->cf8 & CONF1_ENABLE) || bus_nr) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	if (is_write) {
		memcpy(&val, data, size);
		if (devfn == VFU_DEVFN && bus->vfu)
			vfu_cfg_write(bus, reg, size, val);
		return;		/* the host bridge takes nothing */
	}
	if (devfn == 0)
		val = (reg & ~3u) + 4 <= sizeof(host_bridge) ?
		      *(const uint32_t *)(host_bridge + (reg & ~3u)) : 0;
	else if (devfn == VFU_DEVFN && bus->vfu)
		val = vfu_cfg_read(bus, reg & ~3u);
	else
		val = ~0u;
	val >>= (reg & 3) * 8;
	memcpy(data, &val, size);
}

/* The device's BAR that decodes [@addr, @addr + @size) in port or memory space, or -1. */
static int find_bar(const struct pci_bus *bus, uint64_t addr, unsigned int size, bool io)
{
	const struct pci_vfu_bar *b;
	int i;

	for (i = 0; bus->vfu && i < PCI_VFU_BARS; i++) {
		b = &bus->bar[i];
		if (b->io == io && b->mapped != PCI_UNMAPPED && addr >= b->mapped &&
		    addr + size <= b->mapped + b->size)
			return i;
	}
	return -1;
}

/* An access that exited to the VMM: if it is the device's, forward it. */
static bool bar_access(struct pci_bus *bus, uint64_t addr, unsigned int size, bool io,
		       bool is_write, void *data)
{
	int i = find_bar(bus, addr, size, io);

	if (i < 0)
		return false;
	bus->bar_accesses++;
	vfu_access(bus, i, addr - bus->bar[i].mapped, data, size, is_write);
	return true;
}

bool pci_port_io(struct pci_bus *bus, uint16_t port, unsigned int size,
		 bool is_write, void *data)
{
	uint32_t val;

	if (port >= CONF1_ADDR && port < CONF1_DATA) {
		/* The address register, whole or in parts (conf2 probes bytes). */
		if (port + size > CONF1_DATA)
			size = CONF1_DATA - port;
		if (is_write) {
			val = bus->cf8;
			memcpy((uint8_t *)&val + (port - CONF1_ADDR), data, size);
			bus->cf8 = val;
		} else {
			memcpy(data, (uint8_t *)&bus->cf8 + (port - CONF1_ADDR), size);
		}
		return true;
	}
	if (port >= CONF1_DATA && port < CONF1_DATA + 4) {
		if (port + size > CONF1_DATA + 4)
			size = CONF1_DATA + 4 - port;
		conf1_data(bus, port - CONF1_DATA, size, is_write, data);
		return true;
	}
	return bar_access(bus, port, size, true, is_write, data);
}

bool pci_mmio(struct pci_bus *bus, uint64_t addr, unsigned int size,
	      bool is_write, void *data)
{
	return bar_access(bus, addr, size, false, is_write, data);
}

/*
 * KVM_EXIT_IOREGIONFD_FAILURE: if the access was to one of the device's
 * BARs, the server is gone (or broken).  Unbind them all, so that the
 * guest's accesses come to the VMM from now on; the caller answers this
 * one as the rest will be answered: a read of all ones, a write dropped -
 * what a PCI device that stopped responding looks like.
 */
bool pci_ioregionfd_failure(struct pci_bus *bus, uint64_t addr, bool pio,
			    unsigned int size)
{
	int i;

	if (find_bar(bus, addr, size, pio) < 0)
		return false;
	server_lost(bus, "ioregionfd", -EPIPE);
	for (i = 0; i < PCI_VFU_BARS; i++)
		if (bus->bar[i].mapped != PCI_UNMAPPED)
			ioregion_vfu_map(bus->vfu, bus->vm_fd, i, IOREGION_VFU_UNMAPPED,
					 bus->bar[i].io ? IOREGION_VFU_MAP_PIO : 0);
	return true;
}

int pci_init(struct pci_bus *bus, int vm_fd)
{
	memset(bus, 0, sizeof(*bus));
	bus->vm_fd = vm_fd;
	bus->irq_fd = -1;
	return 0;
}

/*
 * What firmware does before Linux runs: give the BAR an address, decoding
 * off (Linux claims it, and turns decoding on when a driver enables the
 * device).  Linux would assign an unplaced BAR itself - except on a device
 * without a class code, such as libvfio-user's samples, which it leaves
 * alone.  Ports from 0xc000, memory from 0xe0000000: in the hole
 * load_linux()'s e820 leaves below 4 GiB.  The server gets the value
 * too, as it would from the guest.
 */
static void place_bar(struct pci_bus *bus, int i)
{
	static uint64_t next_io = 0xc000, next_mem = 0xe0000000;
	struct pci_vfu_bar *b = &bus->bar[i];
	uint64_t *next = b->io ? &next_io : &next_mem;
	uint64_t addr = (*next + b->size - 1) & ~(b->size - 1);
	uint32_t val;

	*next = addr + b->size;
	b->val = (uint32_t)addr | b->type;
	val = b->val;
	vfu_access(bus, VFIO_PCI_CONFIG_REGION_INDEX, PCI_BASE_ADDRESS_0 + 4 * i,
		   &val, 4, true);
	if ((b->type & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64) {
		bus->bar[i + 1].val = val = addr >> 32;
		vfu_access(bus, VFIO_PCI_CONFIG_REGION_INDEX, PCI_BASE_ADDRESS_0 + 4 * i + 4,
			   &val, 4, true);
	}
}

/*
 * Connects to the vfio-user server at @path and puts its device at
 * 00:01.0, its BARs placed as firmware would (the guest may move them),
 * its INTx on ISA IRQ @irq_line.
 */
int pci_attach_vfu(struct pci_bus *bus, const char *path, bool messages_only,
		   uint8_t irq_line)
{
	struct ioregion_vfu_region r;
	struct pci_vfu_bar *b;
	uint32_t val;
	uint8_t pin;
	int i, ret;

	ret = ioregion_vfu_connect(&bus->vfu, path,
				   messages_only ? IOREGION_VFU_MESSAGES_ONLY : 0);
	if (ret) {
		fprintf(stderr, "demo_vmm: vfio-user server %s: %s\n", path, strerror(-ret));
		return ret;
	}
	for (i = 0; i < PCI_VFU_BARS; i++) {
		b = &bus->bar[i];
		b->mapped = PCI_UNMAPPED;
		r = (struct ioregion_vfu_region){ .sz = sizeof(r) };
		ret = ioregion_vfu_region(bus->vfu, i, &r);
		if (ret)
			goto fail;
		ret = ioregion_vfu_access(bus->vfu, VFIO_PCI_CONFIG_REGION_INDEX,
					  PCI_BASE_ADDRESS_0 + 4 * i, &val, 4, false);
		if (ret)
			goto fail;
		if (!r.size)
			continue;
		b->io = (val & PCI_BASE_ADDRESS_SPACE_IO) || (r.io_flags & IOREGION_VFU_IO_PIO);
		b->type = b->io ? PCI_BASE_ADDRESS_SPACE_IO : val & ~PCI_BASE_ADDRESS_MEM_MASK;
		if ((b->size = r.size) & (r.size - 1) || (b->io && r.size > 256) ||
		    ((b->type & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64 &&
		     i == PCI_VFU_BARS - 1)) {
			fprintf(stderr, "demo_vmm: vfio-user server %s: BAR%d of %llu bytes is not one a PCI device can have\n",
				path, i, (unsigned long long)r.size);
			ret = -EINVAL;
			goto fail;
		}
		place_bar(bus, i);
		fprintf(stderr, "demo_vmm: 00:01.0 BAR%d: %s, %llu bytes at 0x%llx, %s\n", i,
			b->io ? "I/O" : "memory", (unsigned long long)r.size,
			(unsigned long long)bar_addr(bus, i),
			r.io_flags & IOREGION_VFU_IO_OFFERED ? "ioregionfd offered" :
			"messages");
	}

	ret = ioregion_vfu_access(bus->vfu, VFIO_PCI_CONFIG_REGION_INDEX,
				  PCI_INTERRUPT_PIN, &pin, 1, false);
	if (ret)
		goto fail;
	if (pin) {
		ret = ioregion_irq_gsi(bus->vm_fd, irq_line, &bus->irq_fd);
		if (!ret)
			ret = ioregion_vfu_set_irq(bus->vfu, VFIO_PCI_INTX_IRQ_INDEX, 0,
						   bus->irq_fd);
		if (ret) {
			fprintf(stderr, "demo_vmm: vfio-user server %s: INTx: %s\n", path,
				strerror(-ret));
			goto fail;
		}
		bus->irq_line = irq_line;
	}
	return 0;
fail:
	pci_close(bus);
	return ret;
}

void pci_close(struct pci_bus *bus)
{
	if (bus->irq_fd >= 0) {
		ioregion_irq_release(bus->vm_fd, bus->irq_line, bus->irq_fd, -1);
		bus->irq_fd = -1;
	}
	if (bus->vfu)
		ioregion_vfu_close(bus->vfu);
	bus->vfu = NULL;
}

/* One line for the end of the run: what reached the VMM, what went as messages. */
void pci_report(struct pci_bus *bus)
{
	struct ioregion_vfu_stats st = { .sz = sizeof(st) };

	if (!bus->vfu || ioregion_vfu_stats(bus->vfu, &st))
		return;
	fprintf(stderr, "demo_vmm: vfio-user device: %llu BAR accesses reached the VMM, %llu BAR messages (REGION_READ/WRITE of a BAR); %llu configuration accesses, %llu configuration messages; %llu vfio-user messages in all; %u BARs bound now\n",
		(unsigned long long)bus->bar_accesses, (unsigned long long)bus->bar_msgs,
		(unsigned long long)bus->cfg_accesses, (unsigned long long)bus->cfg_msgs,
		(unsigned long long)st.msgs, st.bound);
}
