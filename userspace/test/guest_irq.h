/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest-side helpers shared by the in-VM tests (vm_test.c, uart_vm_test.c):
 * port I/O, and a level-triggered interrupt through the IOAPIC.  Include
 * after the KVM selftest headers (apic.h, processor.h).
 */
#ifndef IOREGION_TEST_GUEST_IRQ_H
#define IOREGION_TEST_GUEST_IRQ_H

#include <stdint.h>

#define IOAPIC_GPA	0xfec00000ull	/* the VMM maps it for the guest */

static inline void guest_outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "d"(port));
}

static inline uint8_t guest_inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "d"(port));
	return v;
}

static inline void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)IOAPIC_GPA = reg;
	*(volatile uint32_t *)(IOAPIC_GPA + 0x10) = v;
}

static inline uint32_t ioapic_read(uint32_t reg)
{
	*(volatile uint32_t *)IOAPIC_GPA = reg;
	return *(volatile uint32_t *)(IOAPIC_GPA + 0x10);
}

/*
 * IOAPIC pin @gsi: level, active high, to @vector on APIC 0.  The same GSI
 * also drives a PIC pin, which KVM wires to LINT0 as ExtINT: mask the PICs,
 * as an OS using the IOAPIC does.
 */
static inline void guest_route_level_irq(unsigned int gsi, uint8_t vector)
{
	guest_outb(0x21, 0xff);
	guest_outb(0xa1, 0xff);
	xapic_enable();
	ioapic_write(0x10 + 2 * gsi + 1, 0);
	ioapic_write(0x10 + 2 * gsi, vector | 1 << 15);
}

#endif /* IOREGION_TEST_GUEST_IRQ_H */
