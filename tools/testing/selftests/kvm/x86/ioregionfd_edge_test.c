// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioregionfd at the edges of an access: a page-crossing load whose device
 * dies after its first piece (the finished pieces must survive the failure
 * exit), a page-crossing load whose first fragment goes to userspace and
 * whose second is an ioregion's, KVM_RUN with immediate_exit while an access
 * waits for its device (a VMM pausing the vCPU must not wait for the
 * device), an empty seqpacket record, which is a bad response and not a
 * closed peer, and a device of an ordering group replaced while a vCPU's
 * scoreboard still lists its unacknowledged posted write (the old device
 * must see end of file at once), and a string PIO whose device dies, or
 * whose vCPU is interrupted, in the middle (no word lost or sent twice).
 */
#include <signal.h>
#include <sys/syscall.h>

#include "ioregionfd_util.h"
#include "kselftest.h"
#include "processor.h"

#define GPA	0xc0000000ull
#define UD	0x77

/* An 8-byte load at 0xffa: 6 bytes on the first page, 2 on the second. */
static void guest_split_load(void)
{
	GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)(GPA + 0xffa)),
			0xccccbbbbbbbbaaaaull);
	GUEST_DONE();
}

static void guest_one_load(void)
{
	GUEST_ASSERT_EQ(READ_ONCE(*(uint32_t *)GPA), 0x1234);
	GUEST_DONE();
}

static struct kvm_vm *setup(struct kvm_vcpu **vcpu, void *guest, int type,
			    uint64_t gpa, uint64_t size, int *sv)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest);
	struct kvm_ioregion r;

	virt_map(vm, GPA, GPA, 2);
	TEST_ASSERT(!socketpair(AF_UNIX, type, 0, sv), "socketpair");
	r = ioregion(gpa, size, sv[0], sv[0], 0);
	r.user_data = UD;
	kvm_set_ioregion(vm, &r);
	return vm;
}

static bool expect_failure(struct kvm_vcpu *vcpu, uint64_t addr, uint32_t len,
			   uint32_t reason)
{
	struct kvm_run *run = vcpu->run;

	if (run->exit_reason != KVM_EXIT_IOREGIONFD_FAILURE) {
		ksft_print_msg("exit %s, not KVM_EXIT_IOREGIONFD_FAILURE\n",
			       exit_reason_str(run->exit_reason));
		return false;
	}
	if (run->ioregionfd_failure.addr != addr ||
	    run->ioregionfd_failure.len != len ||
	    run->ioregionfd_failure.is_write ||
	    run->ioregionfd_failure.reason != reason) {
		ksft_print_msg("failure at 0x%llx len %u write %u reason %u error %d\n",
			       run->ioregionfd_failure.addr,
			       run->ioregionfd_failure.len,
			       run->ioregionfd_failure.is_write,
			       run->ioregionfd_failure.reason,
			       run->ioregionfd_failure.error);
		return false;
	}
	return true;
}

/* A device that answers one command with @data, then maybe dies. */
struct answer {
	int fd;
	uint64_t data;
	bool die;
	bool got;
	struct ioregionfd_cmd cmd;
	pthread_t thread;
};

static void *answer_thread(void *arg)
{
	struct answer *a = arg;

	a->got = ioregionfd_read_full(a->fd, &a->cmd, sizeof(a->cmd));
	if (a->got)
		ioregionfd_reply(a->fd, &a->cmd, a->data);
	if (a->die)
		close(a->fd);
	return NULL;
}

static void answer_start(struct answer *a, int fd, uint64_t data, bool die)
{
	*a = (struct answer) { .fd = fd, .data = data, .die = die };
	pthread_create(&a->thread, NULL, answer_thread, a);
}

/* The device got a read of @size bytes at @offset. */
static bool answer_done(struct answer *a, uint64_t offset, uint8_t size)
{
	pthread_join(a->thread, NULL);
	if (a->got && a->cmd.op == IOREGIONFD_CMD_READ &&
	    a->cmd.offset == offset && a->cmd.size == size)
		return true;
	ksft_print_msg("device got %s: op %u offset 0x%llx size %u\n",
		       a->got ? "a command" : "nothing", a->cmd.op,
		       a->cmd.offset, a->cmd.size);
	return false;
}

/* The guest's result, after its last exit. */
static bool guest_done(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	switch (get_ucall(vcpu, &uc)) {
	case UCALL_DONE:
		return true;
	case UCALL_ABORT:
		ksft_print_msg("guest: %s\n", uc.buffer);
		return false;
	default:
		ksft_print_msg("exit %s\n", exit_reason_str(vcpu->run->exit_reason));
		return false;
	}
}

/*
 * The device answers the first piece (2 bytes at 0xffa) and dies; the VMM
 * performs the rest.  The value the guest sees is the device's piece plus
 * the VMM's: nothing KVM already had may be lost to the failure exit.
 */
static void test_split_failure(void)
{
	struct kvm_vcpu *vcpu;
	struct answer a;
	struct kvm_vm *vm;
	bool ok;
	int sv[2];

	vm = setup(&vcpu, guest_split_load, SOCK_STREAM, GPA, 0x2000, sv);
	answer_start(&a, sv[1], 0xaaaa, true);
	ok = !ioregionfd_run(vcpu, NULL) && answer_done(&a, 0xffa, 2) &&
	     expect_failure(vcpu, GPA + 0xffc, 4, KVM_IOREGIONFD_FAIL_PEER_CLOSED);
	vcpu->run->ioregionfd_failure.data = 0xbbbbbbbb;
	ok = ok && !ioregionfd_run(vcpu, NULL) &&
	     expect_failure(vcpu, GPA + 0x1000, 2, KVM_IOREGIONFD_FAIL_PEER_CLOSED);
	vcpu->run->ioregionfd_failure.data = 0xcccc;
	ok = ok && !ioregionfd_run(vcpu, NULL) && guest_done(vcpu);
	ksft_test_result(ok, "split load, device dead after its first piece: no piece lost\n");
	kvm_vm_free(vm);
	close(sv[0]);
}

/*
 * Page-crossing load, the first page nobody's (KVM_EXIT_MMIO), the second
 * an ioregion's: once the VMM completes the first fragment, the second goes
 * to the device, not to the VMM.
 */
static void test_fragment_to_region(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_run *run;
	struct answer a;
	struct kvm_vm *vm;
	bool ok;
	int sv[2];

	vm = setup(&vcpu, guest_split_load, SOCK_STREAM, GPA + 0x1000, 0x1000, sv);
	run = vcpu->run;
	ok = !ioregionfd_run(vcpu, NULL) && run->exit_reason == KVM_EXIT_MMIO &&
	     run->mmio.phys_addr == GPA + 0xffa && run->mmio.len == 6 &&
	     !run->mmio.is_write;
	if (!ok)
		ksft_print_msg("first exit %s at 0x%llx len %u\n",
			       exit_reason_str(run->exit_reason),
			       run->mmio.phys_addr, run->mmio.len);
	memcpy(run->mmio.data, "\xaa\xaa\xbb\xbb\xbb\xbb", 6);
	answer_start(&a, sv[1], 0xcccc, false);
	ok = ok && !ioregionfd_run(vcpu, NULL);
	/* Unblock the device if the fragment went elsewhere. */
	shutdown(sv[0], SHUT_RDWR);
	ok = answer_done(&a, 0, 2) && ok && guest_done(vcpu);
	ksft_test_result(ok, "page-crossing load: the fragment on the region goes to its device\n");
	kvm_vm_free(vm);
	close(sv[0]);
	close(sv[1]);
}

static bool alarmed;

static void on_signal(int sig)
{
	if (sig == SIGALRM)
		WRITE_ONCE(alarmed, true);
}

/* KVM_RUN, bounded by a 5 s alarm: false if the alarm had to end it. */
static bool run_bounded(struct kvm_vcpu *vcpu, int *ret, int *err)
{
	WRITE_ONCE(alarmed, false);
	alarm(5);
	*ret = __vcpu_run(vcpu);
	*err = errno;
	alarm(0);
	return !READ_ONCE(alarmed);
}

struct kick {
	int fd;
	pid_t tid;
	struct ioregionfd_cmd cmd;
};

/* Take the vCPU's command, then interrupt its wait: the handshake. */
static void *kick_thread(void *arg)
{
	struct kick *k = arg;

	TEST_ASSERT(ioregionfd_read_full(k->fd, &k->cmd, sizeof(k->cmd)),
		    "no command");
	syscall(SYS_tgkill, getpid(), k->tid, SIGUSR1);
	return NULL;
}

static void test_immediate_exit(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct kick k = { .tid = syscall(SYS_gettid) };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_t thread;
	bool ok, quick;
	int sv[2], ret, err;

	vm = setup(&vcpu, guest_one_load, SOCK_STREAM, GPA, 0x1000, sv);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	k.fd = sv[1];
	pthread_create(&thread, NULL, kick_thread, &k);

	ret = __vcpu_run(vcpu);
	err = errno;
	pthread_join(thread, NULL);
	ok = ret == -1 && err == EINTR;
	if (!ok)
		ksft_print_msg("first KVM_RUN: %d errno %d\n", ret, err);

	/*
	 * The device has not answered.  A VMM that pauses the vCPU must get
	 * KVM_RUN back at once; a KVM_RUN that waited for the device would
	 * only return when the alarm interrupts it, seconds later.
	 */
	vcpu->run->immediate_exit = 1;
	quick = run_bounded(vcpu, &ret, &err);
	ksft_test_result(ok && quick && ret == -1 && err == EAGAIN,
			 "immediate_exit, device silent: KVM_RUN returns at once with EAGAIN (%d, %s%s)\n",
			 ret, strerror(err), quick ? "" : ", after the alarm");

	/* Now the answer is there: immediate_exit completes the access. */
	ioregionfd_reply(sv[1], &k.cmd, 0x1234);
	quick = run_bounded(vcpu, &ret, &err);
	ok = ret == -1 && err == EINTR && quick;
	vcpu->run->immediate_exit = 0;
	ok = ok && !ioregionfd_run(vcpu, NULL) && guest_done(vcpu);
	ksft_test_result(ok, "immediate_exit, answer there: the access completes\n");
	kvm_vm_free(vm);
	close(sv[0]);
	close(sv[1]);
}

/* An empty record on a seqpacket socket: a broken device, not a dead one. */
static void test_empty_record(void)
{
	struct ioregionfd_cmd cmd;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool ok;
	int sv[2];

	vm = setup(&vcpu, guest_one_load, SOCK_SEQPACKET, GPA, 0x1000, sv);
	TEST_ASSERT(send(sv[1], "", 0, 0) == 0, "send: %s", strerror(errno));
	ok = !ioregionfd_run(vcpu, NULL) &&
	     expect_failure(vcpu, GPA, 4, KVM_IOREGIONFD_FAIL_BAD_RESPONSE);
	ok = ok && ioregionfd_read_full(sv[1], &cmd, sizeof(cmd));
	vcpu->run->ioregionfd_failure.data = 0x1234;
	ok = ok && !ioregionfd_run(vcpu, NULL) && guest_done(vcpu);
	ksft_test_result(ok, "empty seqpacket record: KVM_IOREGIONFD_FAIL_BAD_RESPONSE\n");
	kvm_vm_free(vm);
	close(sv[0]);
	close(sv[1]);
}

static void guest_post_then_sync(void)
{
	WRITE_ONCE(*(uint32_t *)(GPA + 8), 1);
	GUEST_SYNC(0);
	GUEST_DONE();
}

static void test_group_restart_eof(void)
{
	struct kvm_ioregion_group g = { 0 };
	struct pollfd p = { .events = POLLIN };
	struct ioregionfd_cmd cmd;
	struct kvm_vcpu *vcpu;
	struct kvm_ioregion r;
	struct kvm_vm *vm;
	int a[2], b[2], gfd;
	bool ok;

	vm = vm_create_with_one_vcpu(&vcpu, guest_post_then_sync);
	virt_map(vm, GPA, GPA, 1);
	gfd = __vm_ioctl(vm, KVM_CREATE_IOREGION_GROUP, &g);
	TEST_ASSERT(gfd >= 0 && !socketpair(AF_UNIX, SOCK_STREAM, 0, a) &&
		    !socketpair(AF_UNIX, SOCK_STREAM, 0, b), "setup");
	r = ioregion(GPA, 0x1000, a[0], a[0],
		     KVM_IOREGION_POSTED_WRITES | KVM_IOREGION_GROUP);
	r.group_fd = gfd;
	kvm_set_ioregion(vm, &r);

	/* The posted write is on the scoreboard; the device never acks it. */
	ok = !ioregionfd_run(vcpu, NULL) && get_ucall(vcpu, NULL) == UCALL_SYNC &&
	     ioregionfd_read_full(a[1], &cmd, sizeof(cmd)) &&
	     cmd.op == IOREGIONFD_CMD_WRITE && !(cmd.flags & IOREGIONFD_CMD_RESPONSE);

	/* The device restarts on b[]; the old one must see end of file. */
	r.read_fd = b[0];
	r.write_fd = b[0];
	kvm_set_ioregion(vm, &r);
	close(a[0]);
	p.fd = a[1];
	ok &= poll(&p, 1, 5000) == 1 && read(a[1], &cmd, sizeof(cmd)) == 0;
	ksft_test_result(ok, "group device replaced, posted write unacked: old one sees EOF\n");

	ok = !ioregionfd_run(vcpu, NULL) && guest_done(vcpu);
	ksft_test_result(ok, "the vCPU goes on after the restart\n");
	kvm_vm_free(vm);
	close(gfd);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

#define PORT		0x3000
#define NR_WORDS	8
#define FIRST_WORD	0x100

/* rep insw of NR_WORDS words: word i must be FIRST_WORD + i, whoever gave it. */
static void guest_rep_insw(void)
{
	uint16_t buf[NR_WORDS] = { 0 };
	uint16_t *dst = buf;
	uint64_t n = NR_WORDS;
	int i;

	asm volatile("cld; rep insw" : "+D"(dst), "+c"(n) : "d"((uint16_t)PORT) : "memory");
	for (i = 0; i < NR_WORDS; i++)
		GUEST_ASSERT_EQ(buf[i], FIRST_WORD + i);
	GUEST_DONE();
}

/* A device for the rep insw: answers words until @stop_at, then dies or waits. */
struct words {
	int fd, go;
	int stop_at;
	bool die;
	pid_t tid;
	int got;		/* commands read */
	pthread_t thread;
};

static void *words_thread(void *arg)
{
	struct words *d = arg;
	struct ioregionfd_cmd cmd;
	char c;

	while (ioregionfd_read_full(d->fd, &cmd, sizeof(cmd))) {
		d->got++;
		if (cmd.op != IOREGIONFD_CMD_READ || cmd.size != 2 || cmd.offset)
			break;
		if (d->got - 1 == d->stop_at) {
			if (d->die)
				break;
			/* Interrupt the vCPU in this piece; go on when told. */
			syscall(SYS_tgkill, getpid(), d->tid, SIGUSR1);
			TEST_ASSERT(read(d->go, &c, 1) == 1, "go");
		}
		ioregionfd_reply(d->fd, &cmd, FIRST_WORD + d->got - 1);
	}
	close(d->fd);
	return NULL;
}

static struct kvm_vm *setup_words(struct kvm_vcpu **vcpu, struct words *d,
				  int *sv)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_rep_insw);
	struct kvm_ioregion r;

	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	r = ioregion(PORT, 2, sv[0], sv[0], KVM_IOREGION_PIO);
	r.user_data = UD;
	kvm_set_ioregion(vm, &r);
	d->fd = sv[1];
	d->tid = syscall(SYS_gettid);
	pthread_create(&d->thread, NULL, words_thread, d);
	return vm;
}

/*
 * The device answers 3 words of a rep insw, then dies: the 5 words left
 * come one failure exit each, and the VMM's values land after the device's.
 */
static void test_string_pio_failure(void)
{
	struct words d = { .stop_at = 3, .die = true };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int sv[2], exits = 0;
	bool ok = true;

	vm = setup_words(&vcpu, &d, sv);
	while (ok && !ioregionfd_run(vcpu, NULL) &&
	       vcpu->run->exit_reason == KVM_EXIT_IOREGIONFD_FAILURE) {
		ok = expect_failure(vcpu, PORT, 2, KVM_IOREGIONFD_FAIL_PEER_CLOSED);
		vcpu->run->ioregionfd_failure.data = FIRST_WORD + d.stop_at + exits++;
	}
	ok = ok && guest_done(vcpu);
	pthread_join(d.thread, NULL);
	ksft_test_result(ok && exits == NR_WORDS - d.stop_at && d.got == d.stop_at + 1,
			 "rep insw, device dead after %d words: %d failure exits (%d), %d commands (%d)\n",
			 d.stop_at, NR_WORDS - d.stop_at, exits, d.stop_at + 1, d.got);
	kvm_vm_free(vm);
	close(sv[0]);
}

/*
 * A signal interrupts a rep insw in its fourth word: KVM_RUN returns
 * -EINTR, and the next KVM_RUN goes on with that word, sending no word
 * twice.
 */
static void test_string_pio_interrupted(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct words d = { .stop_at = 3 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int sv[2], go[2], ret, err;
	bool ok;

	sigaction(SIGUSR1, &sa, NULL);
	TEST_ASSERT(!pipe(go), "pipe");
	d.go = go[0];
	vm = setup_words(&vcpu, &d, sv);
	ok = run_bounded(vcpu, &ret, &err) && ret == -1 && err == EINTR;
	if (!ok)
		ksft_print_msg("KVM_RUN: %d errno %d, not EINTR\n", ret, err);
	TEST_ASSERT(write(go[1], "g", 1) == 1, "go");
	ok = !ioregionfd_run(vcpu, NULL) && guest_done(vcpu) && ok;
	kvm_vm_free(vm);
	close(sv[0]);
	pthread_join(d.thread, NULL);
	ksft_test_result(ok && d.got == NR_WORDS,
			 "rep insw interrupted in word %d: resumed, %d commands (%d)\n",
			 d.stop_at + 1, NR_WORDS, d.got);
	close(go[0]);
	close(go[1]);
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_IOREGIONFD));

	ksft_print_header();
	ksft_set_plan(9);
	test_split_failure();
	test_fragment_to_region();
	test_immediate_exit();
	test_empty_record();
	test_group_restart_eof();
	test_string_pio_failure();
	test_string_pio_interrupted();
	ksft_finished();
}
