// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The VMM side: probe, bind and unbind a device's regions, and wire its
 * interrupts so that the device process raises them itself: INTx as an
 * irqfd with a resamplefd (level-triggered: KVM lowers the line at the
 * guest's EOI and tells the device, which raises it again if it still has
 * work), MSI as an irqfd on a GSI routed to an MSI message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

int ioregion_probe(int kvm_fd, uint64_t *features)
{
	int ret = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOREGIONFD);

	if (ret < 0)
		return -errno;
	if (!ret)
		return -EOPNOTSUPP;
	if (features)
		*features = ret;
	return 0;
}

/* @group_fd >= 0: into that ordering group, its shadow mirroring the grant. */
static int set_region(int vm_fd, const struct ioregion_grant *g,
		      const struct ioregion_layout_entry *e, int kvm_fd,
		      int group_fd, bool assign)
{
	struct kvm_ioregion r = {
		.guest_paddr = g->base + e->offset,
		.memory_size = e->size,
		.user_data = e->user_data,
		.read_fd = kvm_fd,
		.write_fd = kvm_fd,
		.timeout_ms = g->timeout_ms,
	};

	if (e->flags & IOREGION_LAYOUT_PIO)
		r.flags |= KVM_IOREGION_PIO;
	if (e->flags & IOREGION_LAYOUT_POSTED)
		r.flags |= KVM_IOREGION_POSTED_WRITES;
	if (assign && group_fd >= 0) {
		r.flags |= KVM_IOREGION_GROUP;
		r.group_fd = group_fd;
		r.shadow_offset = e->offset;
	}
	if (!assign)
		r.flags |= KVM_IOREGION_DEASSIGN;
	return ioctl(vm_fd, KVM_SET_IOREGION, &r) ? -errno : 0;
}

static int bind_layout(int vm_fd, const struct ioregion_grant *grant,
		       const struct ioregion_layout *layout, int kvm_fd,
		       int group_fd)
{
	uint32_t i;
	int ret = ioregion_check_layout(grant, layout);

	if (ret)
		return ret;
	for (i = 0; i < layout->nr; i++) {
		ret = set_region(vm_fd, grant, &layout->e[i], kvm_fd, group_fd, true);
		if (ret)
			break;
	}
	if (!ret)
		return 0;
	/* All or nothing: take back what this call bound. */
	while (i--)
		set_region(vm_fd, grant, &layout->e[i], -1, -1, false);
	return ret;
}

int ioregion_bind(int vm_fd, const struct ioregion_grant *grant,
		  const struct ioregion_layout *layout, int kvm_fd)
{
	return bind_layout(vm_fd, grant, layout, kvm_fd, -1);
}

int ioregion_group_create(int vm_fd, uint64_t shadow_size, int *group_fd)
{
	struct kvm_ioregion_group g = { .shadow_size = shadow_size };
	int fd;

	if (!group_fd)
		return -EINVAL;
	fd = ioctl(vm_fd, KVM_CREATE_IOREGION_GROUP, &g);
	if (fd < 0)
		return -errno;
	*group_fd = fd;
	return 0;
}

int ioregion_bind_group(int vm_fd, const struct ioregion_grant *grant,
			const struct ioregion_layout *layout, int kvm_fd,
			int group_fd)
{
	if (group_fd < 0)
		return -EBADF;
	return bind_layout(vm_fd, grant, layout, kvm_fd, group_fd);
}

int ioregion_unbind(int vm_fd, const struct ioregion_grant *grant,
		    const struct ioregion_layout *layout)
{
	uint32_t i;
	int ret = ioregion_check_layout(grant, layout), err;

	if (ret)
		return ret;
	for (i = 0; i < layout->nr; i++) {
		err = set_region(vm_fd, grant, &layout->e[i], -1, -1, false);
		if (!ret)
			ret = err;
	}
	return ret;
}

/* KVM's own table may not be read back, so the library keeps a copy. */
struct ioregion_routes {
	int vm_fd;
	uint32_t nr;
	struct kvm_irq_routing *table;	/* room for ROUTES_MAX entries */
};

#define ROUTES_MAX	1024
#define NR_PIC_GSIS	16
#define NR_IOAPIC_GSIS	24

static void add_irqchip(struct ioregion_routes *rt, uint32_t gsi,
			uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = &rt->table->entries[rt->nr++];

	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = chip, .pin = pin },
	};
}

static int push_routes(struct ioregion_routes *rt)
{
	rt->table->nr = rt->nr;
	rt->table->flags = 0;
	return ioctl(rt->vm_fd, KVM_SET_GSI_ROUTING, rt->table) ? -errno : 0;
}

int ioregion_routes_create(struct ioregion_routes **routesp, int vm_fd,
			   unsigned int flags)
{
	struct ioregion_routes *rt;
	uint32_t gsi;

	if (!routesp || flags & ~IOREGION_ROUTES_IRQCHIP)
		return -EINVAL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->table = calloc(1, sizeof(*rt->table) +
			   ROUTES_MAX * sizeof(struct kvm_irq_routing_entry));
	if (!rt->table) {
		free(rt);
		return -ENOMEM;
	}
	rt->vm_fd = vm_fd;
	/* What KVM_CREATE_IRQCHIP sets up on x86; a new table replaces it. */
	for (gsi = 0; (flags & IOREGION_ROUTES_IRQCHIP) && gsi < NR_IOAPIC_GSIS; gsi++) {
		add_irqchip(rt, gsi, KVM_IRQCHIP_IOAPIC, gsi);
		if (gsi < NR_PIC_GSIS)
			add_irqchip(rt, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
				    KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
	}
	*routesp = rt;
	return 0;
}

void ioregion_routes_destroy(struct ioregion_routes *routes)
{
	if (!routes)
		return;
	free(routes->table);
	free(routes);
}

int ioregion_irq_intx(int vm_fd, uint32_t gsi, int *irq_fd, int *resample_fd)
{
	struct kvm_irqfd irqfd = { .gsi = gsi, .flags = KVM_IRQFD_FLAG_RESAMPLE };
	int fd, rfd, ret = 0;

	if (!irq_fd || !resample_fd)
		return -EINVAL;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	irqfd.fd = fd;
	irqfd.resamplefd = rfd;
	if (fd < 0 || rfd < 0 || ioctl(vm_fd, KVM_IRQFD, &irqfd))
		ret = -errno;
	if (ret) {
		if (fd >= 0)
			close(fd);
		if (rfd >= 0)
			close(rfd);
		return ret;
	}
	*irq_fd = fd;
	*resample_fd = rfd;
	return 0;
}

int ioregion_irq_gsi(int vm_fd, uint32_t gsi, int *irq_fd)
{
	struct kvm_irqfd irqfd = { .gsi = gsi };
	int fd;

	if (!irq_fd)
		return -EINVAL;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	irqfd.fd = fd;
	if (ioctl(vm_fd, KVM_IRQFD, &irqfd)) {
		irqfd.fd = -errno;
		close(fd);
		return irqfd.fd;
	}
	*irq_fd = fd;
	return 0;
}

int ioregion_irq_msi(struct ioregion_routes *rt, uint32_t gsi,
		     uint64_t address, uint32_t data, int *irq_fd)
{
	struct kvm_irq_routing_entry old, *e = NULL;
	struct kvm_irqfd irqfd = { .gsi = gsi };
	bool added = false;
	uint32_t i;
	int fd, ret;

	if (!rt || !irq_fd)
		return -EINVAL;
	for (i = 0; i < rt->nr; i++) {
		if (rt->table->entries[i].gsi != gsi)
			continue;
		if (rt->table->entries[i].type != KVM_IRQ_ROUTING_MSI)
			return -EBUSY;	/* an irqchip pin, not ours to take */
		e = &rt->table->entries[i];
	}
	if (!e) {
		if (rt->nr == ROUTES_MAX)
			return -ENOSPC;
		e = &rt->table->entries[rt->nr++];
		added = true;
	}
	old = *e;
	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi, .type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = address, .address_hi = address >> 32,
			   .data = data },
	};
	ret = push_routes(rt);
	if (!ret) {
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		irqfd.fd = fd;
		if (fd < 0 || ioctl(rt->vm_fd, KVM_IRQFD, &irqfd))
			ret = -errno;
		if (!ret) {
			*irq_fd = fd;
			return 0;
		}
		if (fd >= 0)
			close(fd);
	}
	/* Put the table back as it was. */
	if (added)
		rt->nr--;
	else
		*e = old;
	push_routes(rt);
	return ret;
}

int ioregion_irq_release(int vm_fd, uint32_t gsi, int irq_fd, int resample_fd)
{
	struct kvm_irqfd irqfd = {
		.fd = irq_fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN,
	};
	int ret = ioctl(vm_fd, KVM_IRQFD, &irqfd) ? -errno : 0;

	if (ret)
		return ret;
	close(irq_fd);
	if (resample_fd >= 0)
		close(resample_fd);
	return 0;
}
