/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The demo's PCI: one bus behind a host bridge with configuration
 * mechanism #1 (ports 0xcf8/0xcfc, what Linux probes without firmware),
 * and on it a device of a vfio-user server, attached with libioregion's
 * vfio-user client.
 */
#ifndef DEMO_PCI_H
#define DEMO_PCI_H

#include <stdbool.h>
#include <stdint.h>

struct ioregion_vfu;

#define PCI_VFU_BARS	6

struct pci_vfu_bar {
	uint64_t size;		/* 0: no such BAR */
	uint32_t type;		/* the BAR's low bits as the device reports them */
	uint32_t val;		/* what the guest programmed */
	uint64_t mapped;	/* where it decodes now; PCI_UNMAPPED if nowhere */
	bool io;
};

#define PCI_UNMAPPED	UINT64_MAX

struct pci_bus {
	int vm_fd;
	uint32_t cf8;		/* the configuration address register */
	/* the vfio-user device, at 00:01.0 */
	struct ioregion_vfu *vfu;
	struct pci_vfu_bar bar[PCI_VFU_BARS];
	uint16_t command;
	uint8_t irq_line;	/* its INTx pin's ISA IRQ (PIC mode) */
	int irq_fd;
	bool lost;		/* the server failed: reads all ones */
	uint64_t refused;	/* accesses the server answered with an error */
	/* what reached the VMM */
	uint64_t cfg_accesses, bar_accesses;
	/* what went to the server as REGION_READ/WRITE messages */
	uint64_t cfg_msgs, bar_msgs;
};

int pci_init(struct pci_bus *bus, int vm_fd);
int pci_attach_vfu(struct pci_bus *bus, const char *path, bool messages_only,
		   uint8_t irq_line);
void pci_close(struct pci_bus *bus);
bool pci_port_io(struct pci_bus *bus, uint16_t port, unsigned int size,
		 bool is_write, void *data);
bool pci_mmio(struct pci_bus *bus, uint64_t addr, unsigned int size,
	      bool is_write, void *data);
bool pci_ioregionfd_failure(struct pci_bus *bus, uint64_t addr, bool pio,
			    unsigned int size);
void pci_report(struct pci_bus *bus);

#endif
