// SPDX-License-Identifier: GPL-2.0-only
/*
 * Several vCPUs in flight on one ioregionfd socket while the device answers
 * out of order (reversed, or shuffled with a fixed seed): every vCPU must get
 * its own answers, and no access may be lost or doubled.
 *
 * Usage: ioregionfd_mvcpu_test [-v VCPUS [-i ITERATIONS]]; with -v, only that
 * many vCPUs (2 to MAX_VCPUS, more than the host has CPUs if wanted), both
 * orders - the soak test's form.
 */
#include "ioregionfd_util.h"
#include "kselftest.h"
#include "processor.h"

#define GPA		0xc0000000ull
#define WRITE_OFF	0x100
#define MAX_VCPUS	16

static uint64_t nr_iter;

enum order { ORDER_REVERSE, ORDER_RANDOM };

struct device {
	struct ioregionfd_link link;
	pthread_t thread;
	int nr_vcpus;
	enum order order;
	unsigned int seed;
	uint64_t reads[MAX_VCPUS], writes[MAX_VCPUS];
	uint64_t max_batch;
};

static void guest_code(uint64_t id)
{
	uint64_t i;

	for (i = 0; i < nr_iter; i++) {
		WRITE_ONCE(*(uint64_t *)(GPA + WRITE_OFF + id * 8), id << 32 | i);
		GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)(GPA + id * 8)), id << 32 | i);
	}
	GUEST_DONE();
}

static uint64_t device_access(struct device *d, const struct ioregionfd_cmd *cmd)
{
	uint64_t id;

	ioregionfd_check_cmd(cmd);
	TEST_ASSERT(cmd->size == 8 && (cmd->flags & IOREGIONFD_CMD_RESPONSE),
		    "size %u flags 0x%x", cmd->size, cmd->flags);
	if (cmd->op == IOREGIONFD_CMD_WRITE) {
		id = (cmd->offset - WRITE_OFF) / 8;
		TEST_ASSERT(id < (uint64_t)d->nr_vcpus && cmd->data == (id << 32 | d->writes[id]),
			    "vCPU %lu write #%lu: got 0x%llx", id, d->writes[id], cmd->data);
		d->writes[id]++;
		return 0;
	}
	id = cmd->offset / 8;
	TEST_ASSERT(id < (uint64_t)d->nr_vcpus, "read offset 0x%llx", cmd->offset);
	return id << 32 | d->reads[id]++;
}

/*
 * Hold commands until every vCPU has one outstanding (or the rest are
 * quiet for a moment), then answer the batch out of order.
 */
static void *device_thread(void *arg)
{
	struct ioregionfd_cmd batch[MAX_VCPUS];
	struct device *d = arg;
	struct pollfd p = { .fd = d->link.dev_rfd, .events = POLLIN };
	uint64_t data[MAX_VCPUS];
	int n = 0, i, j, t, order[MAX_VCPUS];
	bool eof = false;

	while (!eof || n) {
		if (!eof && n < d->nr_vcpus && poll(&p, 1, n ? 2 : -1) > 0) {
			if (ioregionfd_read_full(d->link.dev_rfd, &batch[n], sizeof(batch[0]))) {
				data[n] = device_access(d, &batch[n]);
				n++;
			} else {
				eof = true;
			}
			continue;
		}
		for (i = 0; i < n; i++)
			order[i] = n - 1 - i;
		if (d->order == ORDER_RANDOM) {
			for (i = n - 1; i > 0; i--) {
				j = rand_r(&d->seed) % (i + 1);
				t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
		}
		for (i = 0; i < n; i++)
			ioregionfd_reply(d->link.dev_wfd, &batch[order[i]], data[order[i]]);
		if ((uint64_t)n > d->max_batch)
			d->max_batch = n;
		n = 0;
	}
	return NULL;
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;

	vcpu_run(vcpu);
	ioregionfd_expect_done(vcpu);
	return NULL;
}

static void run(int nr_vcpus, enum order order)
{
	struct kvm_vcpu *vcpus[MAX_VCPUS];
	pthread_t threads[MAX_VCPUS];
	struct device d = { .nr_vcpus = nr_vcpus, .order = order, .seed = 42 };
	struct kvm_vm *vm;
	bool ok = true;
	int i;

	d.link = ioregionfd_link_open(TRANSPORT_STREAM);
	vm = vm_create_with_vcpus(nr_vcpus, guest_code, vcpus);
	virt_map(vm, GPA, GPA, 1);
	sync_global_to_guest(vm, nr_iter);
	kvm_ioregion_set(vm, ioregion(GPA, 0x1000, d.link.kvm_rfd, d.link.kvm_wfd, 0));
	pthread_create(&d.thread, NULL, device_thread, &d);
	for (i = 0; i < nr_vcpus; i++) {
		vcpu_args_set(vcpus[i], 1, i);
		pthread_create(&threads[i], NULL, vcpu_thread, vcpus[i]);
	}
	for (i = 0; i < nr_vcpus; i++)
		pthread_join(threads[i], NULL);
	kvm_vm_free(vm);
	ioregionfd_link_close(&d.link);
	pthread_join(d.thread, NULL);

	for (i = 0; i < nr_vcpus; i++)
		ok &= d.reads[i] == nr_iter && d.writes[i] == nr_iter;
	ksft_test_result(ok && d.max_batch > 1,
			 "%d vCPUs on one socket, answers %s: %lu accesses, batches of up to %lu in flight\n",
			 nr_vcpus, order == ORDER_REVERSE ? "reversed" : "shuffled",
			 2 * nr_iter * nr_vcpus, d.max_batch);
}

int main(int argc, char *argv[])
{
	int opt, nr_vcpus = 0;

	nr_iter = 1000;
	while ((opt = getopt(argc, argv, "v:i:")) != -1) {
		if (opt == 'v')
			nr_vcpus = atoi(optarg);
		else if (opt == 'i')
			nr_iter = strtoull(optarg, NULL, 0);
		else
			exit(KSFT_FAIL);
	}
	TEST_ASSERT(!nr_vcpus || (nr_vcpus >= 2 && nr_vcpus <= MAX_VCPUS && nr_iter),
		    "-v takes 2 to %d vCPUs, -i at least 1 iteration", MAX_VCPUS);
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_IOREGIONFD));
	ksft_print_header();
	if (nr_vcpus) {
		ksft_set_plan(2);
		run(nr_vcpus, ORDER_REVERSE);
		run(nr_vcpus, ORDER_RANDOM);
		ksft_finished();
	}
	ksft_set_plan(4);

	nr_iter = 2000;
	run(2, ORDER_REVERSE);
	run(2, ORDER_RANDOM);
	nr_iter = 1000;
	run(4, ORDER_REVERSE);
	run(4, ORDER_RANDOM);
	ksft_finished();
}
