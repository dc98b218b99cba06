// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioregion_lat.bpf.c: times ioregionfd accesses from the
 * kvm:kvm_ioregion_cmd tracepoint (command sent) to kvm:kvm_ioregion_resp
 * (the vCPU has its response), per region and direction; counts posted
 * writes and kvm:kvm_ioregion_fail.  Both events of an access fire on its
 * vCPU thread, which keys the start times.
 *
 * Raw tracepoints: their arguments are the TP_PROTO ones (scalars), so
 * neither kernel BTF nor tracefs is needed.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ioregion_lat.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid;	/* 0: every process */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);		/* pid_tgid of a vCPU thread */
	__type(value, __u64);		/* when its command went out, ns */
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LAT_MAX_REGIONS);
	__type(key, struct lat_key);
	__type(value, struct lat_hist);
} hists SEC(".maps");

/* A new histogram's first value: too big for the BPF stack. */
static struct lat_hist zero;

static bool traced(__u64 id)
{
	return !target_tgid || (id >> 32) == target_tgid;
}

static struct lat_hist *hist(__u64 region, bool pio, bool is_write)
{
	struct lat_key key = {
		.region = region, .pio = pio, .is_write = is_write,
	};
	struct lat_hist *h;

	h = bpf_map_lookup_elem(&hists, &key);
	if (h)
		return h;
	bpf_map_update_elem(&hists, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&hists, &key);
}

SEC("raw_tp/kvm_ioregion_cmd")
int BPF_PROG(on_cmd, unsigned int vcpu_id, bool pio, __u64 region,
	     __u64 addr, int len, bool is_write, bool posted, __u64 val)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();
	struct lat_hist *h;

	if (!traced(id))
		return 0;
	if (!posted) {
		bpf_map_update_elem(&start, &id, &now, BPF_ANY);
		return 0;
	}
	h = hist(region, pio, is_write);
	if (h)
		__sync_fetch_and_add(&h->posted, 1);
	return 0;
}

SEC("raw_tp/kvm_ioregion_resp")
int BPF_PROG(on_resp, unsigned int vcpu_id, bool pio, __u64 region,
	     __u64 addr, int len, bool is_write, bool posted, __u64 val)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lat_hist *h;
	__u64 *t0, ns, slot;

	t0 = bpf_map_lookup_elem(&start, &id);
	if (!t0)	/* sent before we attached, or not traced */
		return 0;
	ns = bpf_ktime_get_ns() - *t0;
	bpf_map_delete_elem(&start, &id);
	h = hist(region, pio, is_write);
	if (!h)
		return 0;
	slot = lat_slot(ns);
	barrier_var(slot);	/* so that the index checked is the one used */
	if (slot >= LAT_SLOTS)
		return 0;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
	if (ns > h->max_ns)	/* racy between vCPUs; good enough for a max */
		h->max_ns = ns;
	return 0;
}

SEC("raw_tp/kvm_ioregion_fail")
int BPF_PROG(on_fail, unsigned int vcpu_id, bool pio, __u64 region,
	     __u64 addr, int len, bool is_write, __u32 reason, int err)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lat_hist *h;

	if (!traced(id))
		return 0;
	bpf_map_delete_elem(&start, &id);
	h = hist(region, pio, is_write);
	if (h)
		__sync_fetch_and_add(&h->failed, 1);
	return 0;
}
