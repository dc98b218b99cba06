// SPDX-License-Identifier: GPL-2.0-only
/*
 * A fuzzing device: each command gets a reply drawn from a seeded PRNG,
 * often a correct response, otherwise random bytes of random length, a
 * wrong tag, non-zero flags or reserved fields, a response followed by junk,
 * a duplicate, an answer to a posted write, or a hang-up.  KVM must complete
 * each access either with the device's correct response or with a clean
 * KVM_EXIT_IOREGIONFD_FAILURE that names it; the VMM then restarts the
 * device on a new socket (stream or seqpacket, drawn too) and emulates the
 * access.  The guest hashes every value it reads and the host checks the
 * hash against what the device and the VMM supplied.  The kernel log is
 * checked by the harness.
 *
 * Usage: ioregionfd_fuzz_test [-n responses] [-s seed]
 */
#include <time.h>

#include "ioregionfd_util.h"
#include "kselftest.h"
#include "processor.h"

#define GPA		0xc0000000ull
#define POSTED_GPA	0xc0001000ull
#define UD		0xf022
#define UD_POSTED	0xf023
#define TIMEOUT_MS	20
#define MAX_ACCESSES	0x100000
#define FNV_PRIME	0x100000001b3ull

static uint64_t guest_idx;	/* the access in flight */
static uint64_t guest_stop;

static bool is_posted(uint64_t i)
{
	return i % 5 == 4;
}

static uint64_t access_addr(uint64_t i)
{
	return (is_posted(i) ? POSTED_GPA : GPA) + (i * 8 & 0xff8);
}

static int access_len(uint64_t i)
{
	return is_posted(i) ? 8 : 1 << (i % 4);
}

static uint64_t hash_step(uint64_t h, uint64_t v)
{
	return (h ^ v) * FNV_PRIME;
}

static void guest_code(void)
{
	uint64_t i, v, h = 0;

	for (i = 0; !READ_ONCE(guest_stop); i++) {
		WRITE_ONCE(guest_idx, i);
		if (is_posted(i)) {
			WRITE_ONCE(*(uint64_t *)access_addr(i), i);
			continue;
		}
		switch (access_len(i)) {
		case 1:
			v = READ_ONCE(*(uint8_t *)access_addr(i));
			break;
		case 2:
			v = READ_ONCE(*(uint16_t *)access_addr(i));
			break;
		case 4:
			v = READ_ONCE(*(uint32_t *)access_addr(i));
			break;
		default:
			v = READ_ONCE(*(uint64_t *)access_addr(i));
			break;
		}
		h = hash_step(h, v);
	}
	GUEST_SYNC_ARGS(0, h, i, 0, 0);
	GUEST_DONE();
}

/* xorshift64*: the device and the VMM each draw from their own. */
static uint64_t rng(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

static uint64_t mask(int len)
{
	return len == 8 ? ~0ull : (1ull << (len * 8)) - 1;
}

/* What the VMM supplies for a read that failed. */
static uint64_t emulated(uint64_t i)
{
	return 0xe0000000ull ^ i;
}

enum reply {
	REPLY_OK,		/* the only well-formed answer */
	REPLY_BAD_TAG,
	REPLY_FLAGS,
	REPLY_RESERVED,
	REPLY_RANDOM,		/* 1 to 64 random bytes */
	REPLY_OK_THEN_JUNK,	/* then 1 to 40 random bytes */
	REPLY_TWICE,
	REPLY_HANG_UP,
	NR_REPLIES,
};

static const char * const reply_names[NR_REPLIES] = {
	"correct", "wrong tag", "flags set", "reserved set", "random bytes",
	"correct + junk", "duplicate", "hang-up",
};

static struct {
	uint64_t *idx;			/* the guest's guest_idx */
	uint64_t *stop;			/* the guest's guest_stop */
	uint64_t dev_rng, vmm_rng;
	int ctl[2];			/* VMM -> device: the next socket */
	uint64_t gen;			/* sockets the VMM has handed out */
	uint64_t target, responses;
	uint64_t kinds[NR_REPLIES];
	/* Per access; on the heap, as the test's .bss is loaded into the guest. */
	uint8_t *answered;		/* a correct response went out */
	uint64_t *value;		/* the data of that response */
	char error[160];
} fz;

static void fz_error(const char *what, uint64_t i)
{
	if (!fz.error[0])
		snprintf(fz.error, sizeof(fz.error), "access %lu: %s", i, what);
}

static bool cmd_matches(const struct ioregionfd_cmd *cmd, uint64_t i)
{
	bool posted = is_posted(i);

	return cmd->offset == (access_addr(i) & 0xfff) &&
	       cmd->size == access_len(i) &&
	       cmd->user_data == (posted ? UD_POSTED : UD) &&
	       cmd->op == (posted ? IOREGIONFD_CMD_WRITE : IOREGIONFD_CMD_READ) &&
	       !(cmd->flags & IOREGIONFD_CMD_RESPONSE) == posted &&
	       (!posted || cmd->data == i);
}

/*
 * Serve one socket until it ends, or until the device hangs up.  Commands
 * that arrive after the VMM moved on to socket @gen + 1 are stale: no vCPU
 * waits for them and the guest is elsewhere, so they are answered blindly.
 */
static void fuzz_socket(int fd, uint64_t gen)
{
	struct ioregionfd_cmd cmd;
	struct ioregionfd_resp resp;
	uint8_t buf[sizeof(resp) + 64];
	uint64_t i, r;
	size_t len;
	enum reply kind;
	bool posted;

	while (read(fd, &cmd, sizeof(cmd)) == sizeof(cmd)) {
		ioregionfd_check_cmd(&cmd);
		posted = !(cmd.flags & IOREGIONFD_CMD_RESPONSE);
		/* A read's vCPU waits in it; a posted write carries its index. */
		i = cmd.op == IOREGIONFD_CMD_WRITE ? cmd.data : READ_ONCE(*fz.idx);
		if (__atomic_load_n(&fz.gen, __ATOMIC_ACQUIRE) != gen) {
			i = MAX_ACCESSES;
		} else if (i >= MAX_ACCESSES) {
			fz_error("too many accesses", i);
			return;
		} else if (!cmd_matches(&cmd, i)) {
			fz_error("command does not match the guest's access", i);
		}

		r = rng(&fz.dev_rng);
		/* Posted writes want no answer; now and then they get one. */
		if (posted && r % 10)
			continue;
		kind = r % 16 < 10 ? REPLY_OK : 1 + (r >> 8) % (NR_REPLIES - 1);
		if (posted && kind == REPLY_OK)
			kind = REPLY_TWICE;
		fz.kinds[kind]++;
		if (++fz.responses == fz.target)
			WRITE_ONCE(*fz.stop, 1);

		resp = (struct ioregionfd_resp){ .data = rng(&fz.dev_rng), .tag = cmd.tag };
		len = sizeof(resp);
		switch (kind) {
		case REPLY_OK:
		case REPLY_OK_THEN_JUNK:
		case REPLY_TWICE:
			if (i < MAX_ACCESSES && !posted) {
				fz.value[i] = resp.data & mask(cmd.size);
				fz.answered[i] = 1;
			}
			break;
		case REPLY_BAD_TAG:
			resp.tag ^= 1 + (r >> 16) % 0xffff;
			break;
		case REPLY_FLAGS:
			resp.flags = 1u << (r >> 16) % 32;
			break;
		case REPLY_RESERVED:
			resp.reserved[(r >> 16) % 2] = 1ull << (r >> 20) % 64;
			break;
		case REPLY_RANDOM:
			len = 1 + (r >> 16) % 64;
			break;
		case REPLY_HANG_UP:
			return;
		default:
			break;
		}
		memcpy(buf, &resp, sizeof(resp));
		if (kind == REPLY_RANDOM) {
			for (size_t k = 0; k < len; k++)
				buf[k] = rng(&fz.dev_rng);
		} else if (kind == REPLY_OK_THEN_JUNK) {
			for (size_t k = 0; k < 1 + (r >> 16) % 40; k++)
				buf[len++] = rng(&fz.dev_rng);
		}
		if (send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
			return;
		if (kind == REPLY_TWICE && send(fd, &resp, sizeof(resp), MSG_NOSIGNAL) < 0)
			return;
	}
}

struct handover {
	int fd;
	uint64_t gen;
};

/* The device process: one socket after another, as the VMM restarts it. */
static void *device_thread(void *arg)
{
	struct handover h;

	while (read(fz.ctl[0], &h, sizeof(h)) == sizeof(h)) {
		fuzz_socket(h.fd, h.gen);
		close(h.fd);
	}
	return NULL;
}

/* Restart the device on a new socket, and move both regions to it. */
static int restart(struct kvm_vm *vm, int old, uint64_t *seqpacket)
{
	struct kvm_ioregion r;
	struct handover h;
	int sv[2], type;

	type = rng(&fz.vmm_rng) & 1 ? SOCK_SEQPACKET : SOCK_STREAM;
	*seqpacket += type == SOCK_SEQPACKET;
	TEST_ASSERT(!socketpair(AF_UNIX, type, 0, sv), "socketpair");
	r = ioregion(GPA, 0x1000, sv[0], sv[0], 0);
	r.user_data = UD;
	r.timeout_ms = TIMEOUT_MS;
	kvm_set_ioregion(vm, &r);
	r = ioregion(POSTED_GPA, 0x1000, sv[0], sv[0], KVM_IOREGION_POSTED_WRITES);
	r.user_data = UD_POSTED;
	r.timeout_ms = TIMEOUT_MS;
	kvm_set_ioregion(vm, &r);
	if (old >= 0)
		close(old);
	/* Commands still arriving on the old socket are stale from now on. */
	h.gen = __atomic_add_fetch(&fz.gen, 1, __ATOMIC_SEQ_CST);
	h.fd = sv[1];
	TEST_ASSERT(write(fz.ctl[1], &h, sizeof(h)) == sizeof(h), "ctl");
	return sv[0];
}

/* A failure exit must name the guest's access and a reason that fits. */
static bool check_failure(struct kvm_run *run, uint64_t i, uint64_t *reasons)
{
	struct fail_kind {
		uint32_t reason;
		int32_t error;
	} ok[] = {
		{ KVM_IOREGIONFD_FAIL_PEER_CLOSED, EPIPE },
		{ KVM_IOREGIONFD_FAIL_PEER_CLOSED, ECONNRESET },
		{ KVM_IOREGIONFD_FAIL_BAD_RESPONSE, EBADMSG },
		{ KVM_IOREGIONFD_FAIL_BAD_RESPONSE, EMSGSIZE },
		{ KVM_IOREGIONFD_FAIL_TIMEOUT, ETIMEDOUT },
	};
	bool known = false;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(ok); k++)
		known |= run->ioregionfd_failure.reason == ok[k].reason &&
			 run->ioregionfd_failure.error == ok[k].error;
	if (known)
		reasons[run->ioregionfd_failure.reason]++;
	if (!known || run->ioregionfd_failure.addr != access_addr(i) ||
	    run->ioregionfd_failure.len != access_len(i) ||
	    run->ioregionfd_failure.is_write != is_posted(i) ||
	    run->ioregionfd_failure.pio ||
	    run->ioregionfd_failure.user_data != (is_posted(i) ? UD_POSTED : UD) ||
	    (is_posted(i) && run->ioregionfd_failure.data != i)) {
		ksft_print_msg("access %lu: reason %u error %d addr 0x%llx len %u write %u\n",
			       i, run->ioregionfd_failure.reason, run->ioregionfd_failure.error,
			       run->ioregionfd_failure.addr, run->ioregionfd_failure.len,
			       run->ioregionfd_failure.is_write);
		return false;
	}
	return true;
}

int main(int argc, char *argv[])
{
	uint64_t seed = 20261122, reasons[8] = { 0 }, failures = 0, seqpacket = 0;
	uint64_t i, n, h = 0;
	struct ucall uc = { 0 };
	bool *failed, ok = true;
	struct kvm_vcpu *vcpu;
	struct kvm_run *run;
	struct kvm_vm *vm;
	pthread_t dev;
	int opt, fd;

	fz.target = 100000;
	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		if (opt == 'n')
			fz.target = strtoull(optarg, NULL, 0);
		else if (opt == 's')
			seed = strtoull(optarg, NULL, 0);
		else
			exit(KSFT_FAIL);
	}
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_IOREGIONFD));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_IOREGIONFD));
	ksft_print_header();
	ksft_set_plan(1);
	ksft_print_msg("seed %lu, %lu responses\n", seed, fz.target);
	fz.dev_rng = seed;
	fz.vmm_rng = seed ^ 0x9e3779b97f4a7c15ull;

	failed = calloc(MAX_ACCESSES, sizeof(*failed));
	fz.answered = calloc(MAX_ACCESSES, sizeof(*fz.answered));
	fz.value = calloc(MAX_ACCESSES, sizeof(*fz.value));
	TEST_ASSERT(failed && fz.answered && fz.value && !pipe(fz.ctl), "setup");
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	virt_map(vm, GPA, GPA, 2);
	run = vcpu->run;
	fz.idx = addr_gva2hva(vm, (gva_t)&guest_idx);
	fz.stop = addr_gva2hva(vm, (gva_t)&guest_stop);
	fd = restart(vm, -1, &seqpacket);
	pthread_create(&dev, NULL, device_thread, NULL);

	for (;;) {
		if (__vcpu_run(vcpu) == -1) {
			TEST_ASSERT(errno == EINTR, "KVM_RUN: %s", strerror(errno));
			continue;
		}
		if (run->exit_reason != KVM_EXIT_IOREGIONFD_FAILURE)
			break;
		i = READ_ONCE(*fz.idx);
		TEST_ASSERT(i < MAX_ACCESSES, "access %lu", i);
		ok &= check_failure(run, i, reasons);
		failed[i] = true;
		failures++;
		/* The VMM emulates the access on the restarted device's behalf. */
		run->ioregionfd_failure.data = emulated(i);
		fd = restart(vm, fd, &seqpacket);
	}
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC, "exit %s, ucall %lu",
		    exit_reason_str(run->exit_reason), uc.cmd);
	n = uc.args[3];
	for (i = 0; i < n; i++) {
		if (is_posted(i))
			continue;
		if (failed[i])
			h = hash_step(h, emulated(i) & mask(access_len(i)));
		else if (fz.answered[i])
			h = hash_step(h, fz.value[i]);
		else
			fz_error("completed without a correct response or a failure exit", i);
	}
	if (h != uc.args[2])
		fz_error("the guest read other values than the device or the VMM gave", n);

	kvm_vm_free(vm);
	close(fd);
	close(fz.ctl[1]);
	pthread_join(dev, NULL);

	for (i = 0; i < NR_REPLIES; i++)
		ksft_print_msg("%-15s %lu\n", reply_names[i], fz.kinds[i]);
	ksft_print_msg("%lu failure exits: %lu peer closed, %lu bad response, %lu timeout\n",
		       failures, reasons[KVM_IOREGIONFD_FAIL_PEER_CLOSED],
		       reasons[KVM_IOREGIONFD_FAIL_BAD_RESPONSE],
		       reasons[KVM_IOREGIONFD_FAIL_TIMEOUT]);
	ksft_print_msg("%lu device restarts, %lu of them on seqpacket, the rest on stream\n",
		       fz.gen, seqpacket);
	if (fz.error[0])
		ksft_print_msg("%s\n", fz.error);
	ksft_test_result(ok && !fz.error[0] && fz.responses >= fz.target && failures,
			 "fuzzing device: %lu responses, %lu accesses, only clean failure exits (%lu)\n",
			 fz.responses, n, failures);
	free(failed);
	free(fz.answered);
	free(fz.value);
	ksft_finished();
}
