// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioregionfd: guest MMIO/PIO ranges served by another process through file
 * descriptors, without a return to the VMM.
 *
 * KVM_SET_IOREGION binds a range to a connected AF_UNIX stream or seqpacket
 * socket (read_fd and write_fd name the same socket).  A guest access to
 * the range becomes a struct ioregionfd_cmd written by the vCPU thread; for
 * reads and non-posted writes the vCPU then waits for the struct
 * ioregionfd_resp that carries the same tag (include/uapi/linux/ioregion.h).
 *
 * Where the work happens:
 *  - Posted MMIO writes are sent from the io bus handler, never blocking.
 *  - Everything else, and a posted write that finds the transport full, is
 *    declined by the io bus, so KVM prepares an ordinary KVM_EXIT_MMIO or
 *    KVM_EXIT_IO.  Before that exit reaches userspace the arch code hands it
 *    to kvm_ioregion_io(), which waits for the device outside the io bus and
 *    the emulator, with kvm->srcu dropped, and the arch's usual completion
 *    callback then finishes the instruction.
 *
 * Regions may share a channel (a pair of files).  Each command written to a
 * channel takes the next tag; vCPUs waiting for a response are listed on the
 * channel by tag.  There is no reader thread: a waiting vCPU that finds
 * rx_lock free reads every response available and hands each to its waiter,
 * so responses may come in any order and vCPUs never serialize on a channel.
 * The socket is always used without blocking, whatever its O_NONBLOCK
 * flag; vCPUs sleep on the channel's wait queue, kicked by the socket's own.
 * A kick wakes one waiting vCPU to read, and a response only its own vCPU,
 * so that the vCPUs of one socket are not all woken for every response.
 *
 * A signal interrupts the wait but leaves the waiter queued (vcpu->ioregion):
 * the next KVM_RUN resumes the same access and waits for the same tag.  An
 * error on the transport, an invalid response or a timeout kills the
 * channel: its waiters and all later accesses through it fail.
 *
 * A region's channel is replaced, not modified, when a restarted device
 * brings new files: vCPUs find it under kvm->srcu, and those already waiting
 * on the old channel keep it alive until their answers arrive there.  A
 * channel that serves no region any more fails its waiters and lets its
 * files go at once, so that its device sees end of file even while vCPU
 * scoreboards still point at it.
 *
 * Locking: kvm->slots_lock serializes registration (the region list, the
 * channels' and groups' region counts).  chan->tx_lock orders commands on
 * the socket and is held only around a non-blocking send; chan->rx_lock
 * makes one vCPU the reader and is only ever try-locked; chan->lock (a
 * spinlock) protects the waiter list, err and acked.  A vCPU never waits
 * for the device with kvm->srcu or any of these held.
 *
 * Ordering groups (KVM_CREATE_IOREGION_GROUP) gather the channels of one
 * device.  Each vCPU keeps a scoreboard of the channels where it posted
 * writes to a group that the device may not have applied yet; before a
 * load, or a write that waits, from that group the vCPU sends a fence down
 * each of those channels (but the one the access itself takes, which the
 * device serves in order) and waits for the answers.  A response
 * acknowledges every posted write before it on its channel, so an answered
 * fence or read clears the scoreboard of every vCPU at once.  A group may
 * have a shadow: memory that the device keeps up to date and that answers
 * the loads its access map allows, with no command at all.
 */

#include <kvm/iodev.h>
#include <linux/anon_inodes.h>
#include <linux/ioregion.h>
#include <linux/kvm_host.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/unaligned.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>
#include <net/sock.h>
#include <net/tcp_states.h>
#include <trace/events/kvm.h>

#include "coalesced_mmio.h"

static_assert(sizeof(struct kvm_ioregion) == 72);
static_assert(sizeof(struct kvm_ioregion_group) == 32);
static_assert(sizeof(struct ioregionfd_cmd) == 32);
static_assert(sizeof(struct ioregionfd_resp) == 32);

/* The io bus stores lengths as int; PIO ports are 16 bits. */
#define IOREGION_MAX_SIZE	((u64)INT_MAX)
#define IOREGION_PIO_LIMIT	0x10000

/* Register values and as many bytes of access map: 32 MiB at most. */
#define IOREGION_SHADOW_MAX	SZ_16M
/* Ordering groups a VM may have at once (shadows are charged to its memcg). */
#define IOREGION_MAX_GROUPS	256

/*
 * How long a vCPU waiting for a response polls the channel before it
 * sleeps, in ns, like halt_poll_ns for interrupts: a device that answers
 * in time (one that busy-polls its end, say) then costs no sleep and no
 * wakeup, but the vCPU's CPU stays busy meanwhile.  0 never polls.
 *
 * It is the most a vCPU polls: each channel has its own budget, which grows
 * and shrinks with how long its device takes to answer (see
 * ioregion_poll_adapt()), with the same parameters as halt polling's.
 * ioregion_poll_ns_grow = 0 turns that off: every wait then polls for the
 * whole ioregion_poll_ns.
 */
static unsigned int ioregion_poll_ns;
module_param(ioregion_poll_ns, uint, 0644);
static unsigned int ioregion_poll_ns_grow = 2;
module_param(ioregion_poll_ns_grow, uint, 0644);
static unsigned int ioregion_poll_ns_grow_start = 10000;
module_param(ioregion_poll_ns_grow_start, uint, 0644);
static unsigned int ioregion_poll_ns_shrink = 2;
module_param(ioregion_poll_ns_shrink, uint, 0644);

/*
 * The tag of a new channel's first command.  Only for testing: a test sets
 * it near 2^31 or 2^32 to see the tags wrap without sending billions of
 * commands first (as force_emulation_prefix is for the emulator).
 */
static unsigned int ioregion_first_tag;
module_param(ioregion_first_tag, uint, 0644);

struct ioregion_chan;

/*
 * An ordering group: the channels of one device, and its shadow.  Its file
 * and its channels hold references; it holds none on the VM, so that a
 * device process never keeps one alive.  @kvm is the VM it was made for,
 * only ever compared, never followed: should that VM be gone and another
 * take its address, the group has either never served a region (and is as
 * good as new) or is spent (and refused).
 */
struct ioregion_group {
	struct kref kref;
	const struct kvm *kvm;
	struct ioregion_groups *count;	/* its VM's; holds a reference */
	u8 *shadow;			/* size bytes of values, size of map */
	u64 size;
	int nr_regions;			/* under the VM's slots_lock */
	bool spent;			/* lost its last region: not reusable */
};

/*
 * How many ordering groups a VM has.  The VM and each of its groups hold a
 * reference, so that a group that outlives its VM can still be uncounted.
 */
struct ioregion_groups {
	refcount_t ref;
	atomic_t nr;
};

struct ioregion_chan {
	struct kref kref;
	struct file *file;		/* the socket; NULL once closed */
	struct socket *sock;
	bool record;			/* seqpacket: keeps message boundaries */
	int nr_regions;			/* regions using it, under slots_lock */
	u32 timeout_ms;			/* of all its regions; 0: none */
	struct ioregion_group *group;	/* NULL: none */

	struct mutex tx_lock;		/* orders commands on the socket */
	u64 next_seq;			/* of the next command; its tag: (u32) */

	struct mutex rx_lock;		/* one reader of the socket at a time */
	struct ioregionfd_resp rx_resp;	/* a response being read */
	unsigned int rx_len;

	spinlock_t lock;		/* protects waiters, err, users, retired */
	struct list_head waiters;
	int err;			/* non-zero once the channel is dead */
	atomic64_t acked;		/* writes before this seq are applied */
	int users;			/* accesses in flight (not scoreboards) */
	bool retired;			/* moved off: close when users are done */

	wait_queue_head_t wq;		/* vCPUs waiting for a response or room */
	atomic_t events;		/* wakeups seen on the socket */
	poll_table pt;
	wait_queue_entry_t poll_wait;	/* on the socket's wait queue */
	wait_queue_head_t *poll_head;	/* NULL: not queued */
	unsigned int poll_ns;		/* adaptive budget; racy by design */
};

struct ioregion {
	struct kvm_io_device dev;
	struct list_head list;		/* in kvm->ioregions */
	struct kvm *kvm;
	enum kvm_bus bus_idx;
	u64 paddr;
	u64 size;			/* 0: a doorbell, any access at paddr */
	u64 user_data;
	u32 flags;
	u64 shadow_offset;		/* in the group's shadow, if it has one */
	struct ioregion_chan __rcu *chan;	/* replaced under slots_lock */
};

static const struct kvm_io_device_ops ioregion_ops;

static struct ioregion *to_ioregion(struct kvm_io_device *dev)
{
	return container_of(dev, struct ioregion, dev);
}

/* The channel of @r, for those who may replace it, or at VM teardown. */
static struct ioregion_chan *ioregion_chan_locked(struct ioregion *r)
{
	return rcu_dereference_protected(r->chan,
					 lockdep_is_held(&r->kvm->slots_lock) ||
					 !refcount_read(&r->kvm->users_count));
}

/* Ordering groups */

static void ioregion_groups_put(struct ioregion_groups *count)
{
	if (count && refcount_dec_and_test(&count->ref))
		kfree(count);
}

/* Counts a new group of @kvm: a reference to its count, or an ERR_PTR. */
static struct ioregion_groups *ioregion_groups_add(struct kvm *kvm)
{
	struct ioregion_groups *count;

	guard(mutex)(&kvm->lock);
	count = kvm->ioregion_groups;
	if (!count) {
		count = kzalloc_obj(*count, GFP_KERNEL_ACCOUNT);
		if (!count)
			return ERR_PTR(-ENOMEM);
		refcount_set(&count->ref, 1);
		kvm->ioregion_groups = count;
	}
	if (atomic_read(&count->nr) >= IOREGION_MAX_GROUPS)
		return ERR_PTR(-ENOSPC);
	atomic_inc(&count->nr);
	refcount_inc(&count->ref);
	return count;
}

static void ioregion_groups_del(struct ioregion_groups *count)
{
	atomic_dec(&count->nr);
	ioregion_groups_put(count);
}

void kvm_ioregion_destroy_vm(struct kvm *kvm)
{
	ioregion_groups_put(kvm->ioregion_groups);
	kvm->ioregion_groups = NULL;
}

static void ioregion_group_release(struct kref *kref)
{
	struct ioregion_group *g = container_of(kref, struct ioregion_group,
						kref);

	/* The last reference may go in atomic context (an RCU callback). */
	vfree_atomic(g->shadow);
	ioregion_groups_del(g->count);
	kfree(g);
}

static void ioregion_group_put(struct ioregion_group *g)
{
	if (g)
		kref_put(&g->kref, ioregion_group_release);
}

static int ioregion_group_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct ioregion_group *g = file->private_data;

	if (!g->size)
		return -ENODEV;
	/* The device's stores must reach the shadow KVM reads. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	/* Refuses anything beyond the values and the map. */
	return remap_vmalloc_range(vma, g->shadow, vma->vm_pgoff);
}

static int ioregion_group_file_release(struct inode *inode, struct file *file)
{
	ioregion_group_put(file->private_data);
	return 0;
}

static const struct file_operations ioregion_group_fops = {
	.owner = THIS_MODULE,
	.mmap = ioregion_group_mmap,
	.release = ioregion_group_file_release,
	.llseek = noop_llseek,
};

int kvm_create_ioregion_group(struct kvm *kvm, struct kvm_ioregion_group *args)
{
	struct ioregion_group *g;
	int fd;

	if (args->flags || memchr_inv(args->pad, 0, sizeof(args->pad)) ||
	    !PAGE_ALIGNED(args->shadow_size))
		return -EINVAL;
	if (args->shadow_size > IOREGION_SHADOW_MAX)
		return -E2BIG;

	g = kzalloc_obj(*g, GFP_KERNEL_ACCOUNT);
	if (!g)
		return -ENOMEM;
	g->count = ioregion_groups_add(kvm);
	if (IS_ERR(g->count)) {
		fd = PTR_ERR(g->count);
		kfree(g);
		return fd;
	}
	kref_init(&g->kref);
	g->kvm = kvm;
	g->size = args->shadow_size;
	if (g->size) {
		/*
		 * Zeroed: an empty map sends every load to the device.  Charged
		 * to the VMM's memory cgroup, like the rest of the VM.
		 */
		g->shadow = __vmalloc_node_range(2 * g->size, SHMLBA,
						 VMALLOC_START, VMALLOC_END,
						 GFP_KERNEL_ACCOUNT | __GFP_ZERO,
						 PAGE_KERNEL, VM_USERMAP,
						 NUMA_NO_NODE,
						 __builtin_return_address(0));
		if (!g->shadow) {
			ioregion_groups_del(g->count);
			kfree(g);
			return -ENOMEM;
		}
	}
	fd = anon_inode_getfd("kvm-ioregion-group", &ioregion_group_fops, g,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0)
		ioregion_group_put(g);
	return fd;
}

/* A reference to @kvm's group behind @fd. */
static int ioregion_group_get(struct kvm *kvm, int fd,
			      struct ioregion_group **gp)
{
	CLASS(fd, f)(fd);
	struct ioregion_group *g;

	if (fd_empty(f))
		return -EBADF;
	if (fd_file(f)->f_op != &ioregion_group_fops)
		return -EINVAL;
	g = fd_file(f)->private_data;
	/* Its counts are under its own VM's slots_lock, its shadow its own. */
	if (g->kvm != kvm)
		return -EINVAL;
	kref_get(&g->kref);
	*gp = g;
	return 0;
}

/* Can a region described by @args join @g? */
static int ioregion_group_check(struct ioregion_group *g,
				struct kvm_ioregion *args)
{
	if (!g)
		return 0;
	/* Its shadow may hold a previous device's values. */
	if (g->spent)
		return -ESTALE;
	if (!g->size)
		return args->shadow_offset ? -EINVAL : 0;
	if (args->shadow_offset > g->size ||
	    args->memory_size > g->size - args->shadow_offset)
		return -EINVAL;
	return 0;
}

/* The channel: transport, tags and waiters */

/* The key of a wakeup of chan->wq for the vCPUs waiting for room only. */
static const int ioregion_room;

static int ioregion_poll_wake(wait_queue_entry_t *wait, unsigned int mode,
			      int sync, void *key)
{
	struct ioregion_chan *chan = container_of(wait, struct ioregion_chan,
						  poll_wait);
	__poll_t events = key_to_poll(key);

	atomic_inc(&chan->events);
	/*
	 * Room only (the device read a command): for the vCPUs waiting to
	 * send.  Woken, a vCPU waiting for a response would find none and go
	 * back to sleep, on every access whose command the device reads after
	 * the vCPU went to sleep.
	 */
	if (events && !(events & ~(EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND))) {
		__wake_up(&chan->wq, TASK_NORMAL, 0, (void *)&ioregion_room);
		return 0;
	}
	/* One waiting vCPU to read, and every sender waiting for room. */
	wake_up(&chan->wq);
	return 0;
}

static void ioregion_poll_queue(struct file *file, wait_queue_head_t *head,
				poll_table *pt)
{
	struct ioregion_chan *chan = container_of(pt, struct ioregion_chan, pt);

	/* A socket has one wait queue for both directions. */
	if (chan->poll_head)
		return;
	chan->poll_head = head;
	init_waitqueue_func_entry(&chan->poll_wait, ioregion_poll_wake);
	add_wait_queue(head, &chan->poll_wait);
}

/* Let the socket go; the channel answers nobody from now on. */
static void ioregion_chan_put_file(struct ioregion_chan *chan)
{
	if (!chan->file)
		return;
	if (chan->poll_head)
		remove_wait_queue(chan->poll_head, &chan->poll_wait);
	fput(chan->file);
	chan->file = NULL;
	chan->sock = NULL;
}

static void ioregion_chan_release(struct kref *kref)
{
	struct ioregion_chan *chan = container_of(kref, struct ioregion_chan,
						  kref);

	ioregion_chan_put_file(chan);
	ioregion_group_put(chan->group);
	kfree(chan);
}

static void ioregion_chan_put(struct ioregion_chan *chan)
{
	kref_put(&chan->kref, ioregion_chan_release);
}

/* Takes over the reference to @file, even on failure. */
static struct ioregion_chan *ioregion_chan_create(struct file *file,
						  struct ioregion_group *group,
						  u32 timeout_ms)
{
	struct ioregion_chan *chan;

	chan = kzalloc_obj(*chan, GFP_KERNEL_ACCOUNT);
	if (!chan) {
		fput(file);
		return NULL;
	}
	kref_init(&chan->kref);
	chan->file = file;
	chan->sock = sock_from_file(file);
	chan->record = chan->sock->type == SOCK_SEQPACKET;
	chan->timeout_ms = timeout_ms;
	if (group) {
		kref_get(&group->kref);
		chan->group = group;
	}
	/*
	 * Commands are numbered by a 64-bit sequence that never wraps; the
	 * 32-bit tag on the wire is its low half, and a response is matched
	 * to its waiter's full sequence number, so acked never goes back.
	 */
	chan->next_seq = READ_ONCE(ioregion_first_tag);
	atomic64_set(&chan->acked, chan->next_seq);
	mutex_init(&chan->tx_lock);
	mutex_init(&chan->rx_lock);
	spin_lock_init(&chan->lock);
	INIT_LIST_HEAD(&chan->waiters);
	init_waitqueue_head(&chan->wq);
	init_poll_funcptr(&chan->pt, ioregion_poll_queue);
	vfs_poll(file, &chan->pt);
	return chan;
}

/*
 * A waiter's result goes from 1 (unanswered) to 0 or -errno once, under
 * chan->lock; the vCPU reads it without the lock.
 */
static void ioregion_waiter_complete(struct kvm_ioregion_waiter *w, int result)
{
	list_del_init(&w->list);
	/* Pairs with ioregion_result(): w->data is visible before result. */
	smp_store_release(&w->result, result);
}

static int ioregion_result(struct kvm_ioregion_waiter *w)
{
	/* Pairs with ioregion_waiter_complete(). */
	return smp_load_acquire(&w->result);
}

/* Something happened on the files since @seen, or the channel died. */
static bool ioregion_kicked(struct ioregion_chan *chan, int seen)
{
	return atomic_read(&chan->events) != seen || READ_ONCE(chan->err);
}

/* Fail every waiter, now and later. */
static void ioregion_chan_fail(struct ioregion_chan *chan, int err)
{
	struct kvm_ioregion_waiter *w, *tmp;

	spin_lock(&chan->lock);
	if (!chan->err)
		WRITE_ONCE(chan->err, err);
	list_for_each_entry_safe(w, tmp, &chan->waiters, list)
		ioregion_waiter_complete(w, chan->err);
	spin_unlock(&chan->lock);
	wake_up_all(&chan->wq);
}

/* Fail the channel and let its socket go now, whoever still uses it. */
static void ioregion_chan_close(struct ioregion_chan *chan, int err)
{
	ioregion_chan_fail(chan, err);
	/* Senders and readers check err under these before using the file. */
	mutex_lock(&chan->tx_lock);
	mutex_lock(&chan->rx_lock);
	ioregion_chan_put_file(chan);
	mutex_unlock(&chan->rx_lock);
	mutex_unlock(&chan->tx_lock);
}

/*
 * An access starts on @chan, under kvm->srcu: a channel that its regions
 * leave for another (ioregion_reassign()) keeps serving the accesses that
 * had started on it, and closes once they are done.
 */
static void ioregion_chan_get_user(struct ioregion_chan *chan)
{
	kref_get(&chan->kref);
	spin_lock(&chan->lock);
	chan->users++;
	spin_unlock(&chan->lock);
}

static void ioregion_chan_put_user(struct ioregion_chan *chan)
{
	bool close;

	spin_lock(&chan->lock);
	close = !--chan->users && chan->retired;
	spin_unlock(&chan->lock);
	if (close)
		ioregion_chan_close(chan, -ENOENT);
	ioregion_chan_put(chan);
}

/* Under tx_lock, on a live channel. */
static int ioregion_xmit(struct ioregion_chan *chan,
			 const struct ioregionfd_cmd *cmd)
{
	struct kvec kv = { .iov_base = (void *)cmd, .iov_len = sizeof(*cmd) };
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	int ret;

	ret = kernel_sendmsg(chan->sock, &msg, &kv, 1, sizeof(*cmd));
	if (ret == sizeof(*cmd))
		return 0;
	/* A short write leaves the stream out of step with the device. */
	return ret < 0 ? ret : -EIO;
}

/* Under rx_lock, on a live channel. */
static int ioregion_recv(struct ioregion_chan *chan, void *buf, size_t len)
{
	struct kvec kv = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { };
	int ret;

	ret = kernel_recvmsg(chan->sock, &msg, &kv, 1, len, MSG_DONTWAIT);
	if (ret > 0 && (msg.msg_flags & MSG_TRUNC))
		return -EMSGSIZE;
	/*
	 * Nothing read: the peer is gone, or (seqpacket) it sent an empty
	 * record, which is a malformed response.
	 */
	if (!ret)
		return READ_ONCE(chan->sock->sk->sk_shutdown) & RCV_SHUTDOWN ?
		       -EPIPE : -EBADMSG;
	return ret;
}

/* Every command up to @seq is applied: its response says so. */
static void ioregion_ack(struct ioregion_chan *chan, u64 seq)
{
	lockdep_assert_held(&chan->lock);

	if (seq < atomic64_read(&chan->acked))
		return;
	/* Pairs with ioregion_acked(): the device's stores come first. */
	atomic64_set_release(&chan->acked, seq + 1);
}

static void ioregion_deliver(struct ioregion_chan *chan,
			     const struct ioregionfd_resp *resp)
{
	struct kvm_ioregion_waiter *w;

	if (resp->flags || resp->reserved[0] || resp->reserved[1])
		goto bad;

	spin_lock(&chan->lock);
	list_for_each_entry(w, &chan->waiters, list) {
		if ((u32)w->seq != resp->tag)
			continue;
		w->data = resp->data;
		ioregion_ack(chan, w->seq);
		ioregion_waiter_complete(w, 0);
		spin_unlock(&chan->lock);
		/* Only @w's vCPU (@w is only compared: see ioregion_wake()). */
		__wake_up(&chan->wq, TASK_NORMAL, 1, w);
		return;
	}
	spin_unlock(&chan->lock);
bad:
	/* An unknown tag or a malformed response: the device is broken. */
	ioregion_chan_fail(chan, -EBADMSG);
}

/* Read and deliver every response available. */
static void ioregion_rx(struct ioregion_chan *chan)
{
	const size_t size = sizeof(chan->rx_resp);
	ssize_t ret;

	lockdep_assert_held(&chan->rx_lock);

	while (!READ_ONCE(chan->err)) {
		ret = ioregion_recv(chan, (u8 *)&chan->rx_resp + chan->rx_len,
				    size - chan->rx_len);
		/* Nothing more for now, or a signal for this vCPU: later. */
		if (ret == -EAGAIN || ret == -ERESTARTSYS || ret == -EINTR)
			break;
		if (ret < 0) {
			ioregion_chan_fail(chan, ret);
			break;
		}
		chan->rx_len += ret;
		if (chan->rx_len < size) {
			if (chan->record) {
				ioregion_chan_fail(chan, -EBADMSG);
				break;
			}
			continue;
		}
		chan->rx_len = 0;
		ioregion_deliver(chan, &chan->rx_resp);
	}
}

/*
 * Become the reader if nobody is, and read until no wakeup of the files has
 * gone unanswered: a wakeup that arrives while another vCPU reads is left to
 * that vCPU, which must then look again after dropping rx_lock.
 */
static void ioregion_rx_pump(struct ioregion_chan *chan)
{
	int start;

	while (mutex_trylock(&chan->rx_lock)) {
		start = atomic_read(&chan->events);
		ioregion_rx(chan);
		mutex_unlock(&chan->rx_lock);
		/* Read events again only after the reads of the socket above. */
		smp_mb();
		if (atomic_read(&chan->events) == start)
			break;
	}
}

static long ioregion_time_left(unsigned long deadline)
{
	if (!deadline)
		return MAX_SCHEDULE_TIMEOUT;
	return max_t(long, (long)(deadline - jiffies), 0);
}

/*
 * A waiter that has not been answered keeps its tag for as long as it waits,
 * which may be longer than the 2^32 commands after which the tag comes round
 * again: skip the tags still awaited, so that a response names one waiter.
 * The waiters are listed in the order of their sequence numbers, and only
 * the oldest can be 2^32 behind.
 */
static void ioregion_skip_awaited(struct ioregion_chan *chan)
{
	struct kvm_ioregion_waiter *w;
	bool again;

	lockdep_assert_held(&chan->tx_lock);
	lockdep_assert_held(&chan->lock);

	w = list_first_entry_or_null(&chan->waiters, typeof(*w), list);
	if (likely(!w || chan->next_seq - w->seq < BIT_ULL(32)))
		return;
	do {
		again = false;
		list_for_each_entry(w, &chan->waiters, list) {
			if ((u32)w->seq == (u32)chan->next_seq) {
				chan->next_seq++;
				again = true;
			}
		}
	} while (again);
}

/*
 * Queue @cmd, after listing @w (if any) for its response; @seq is then its
 * sequence number.  Unless @nowait, sleeps while the transport is full.
 * Never leaves half a command behind.
 */
static int ioregion_send(struct ioregion_chan *chan, struct ioregionfd_cmd *cmd,
			 struct kvm_ioregion_waiter *w, unsigned long deadline,
			 bool nowait, u64 *seq)
{
	long left;
	int seen, ret;

	for (;;) {
		seen = atomic_read(&chan->events);
		if (!nowait) {
			if (mutex_lock_interruptible(&chan->tx_lock))
				return -EINTR;
		} else if (!mutex_trylock(&chan->tx_lock)) {
			return -EAGAIN;
		}

		ret = READ_ONCE(chan->err);
		if (!ret) {
			if (w) {
				w->result = 1;
				spin_lock(&chan->lock);
				ioregion_skip_awaited(chan);
				w->seq = chan->next_seq;
				list_add_tail(&w->list, &chan->waiters);
				spin_unlock(&chan->lock);
			}
			cmd->tag = chan->next_seq;
			ret = ioregion_xmit(chan, cmd);
			if (!ret) {
				*seq = chan->next_seq++;
			} else if (w) {
				spin_lock(&chan->lock);
				list_del_init(&w->list);
				spin_unlock(&chan->lock);
			}
		}
		mutex_unlock(&chan->tx_lock);

		/* Interrupted before anything was written: not the device's fault. */
		if (ret == -ERESTARTSYS || ret == -EINTR)
			return -EINTR;
		if (ret != -EAGAIN || nowait)
			break;
		left = ioregion_time_left(deadline);
		if (left)
			left = wait_event_interruptible_timeout(chan->wq,
								ioregion_kicked(chan, seen),
								left);
		if (left < 0)
			return -EINTR;
		if (!left) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (ret && ret != -EAGAIN && ret != READ_ONCE(chan->err))
		ioregion_chan_fail(chan, ret);
	return ret;
}

/*
 * Spin until something happens on the files since @seen or @stop (ns,
 * ktime_get()) passes; false if nothing did.  Nothing is held here.
 */
static bool ioregion_poll(struct ioregion_chan *chan, int seen, u64 stop)
{
	while (ktime_get_ns() < stop) {
		if (ioregion_kicked(chan, seen))
			return true;
		if (need_resched() || signal_pending(current))
			break;
		cpu_relax();
	}
	return false;
}

/*
 * A vCPU sleeping on chan->wq for @w's response.  It sleeps exclusively:
 * a wakeup of the socket wakes one such vCPU to read for all of them, and
 * a response wakes only the vCPU it answers (keyed by its waiter), and
 * room in the socket (keyed by ioregion_room) none of them.  A wakeup with
 * no key (a dead channel) wakes them all.
 */
struct ioregion_wq_entry {
	wait_queue_entry_t wait;
	const struct kvm_ioregion_waiter *w;
};

static int ioregion_wake(wait_queue_entry_t *wait, unsigned int mode,
			 int sync, void *key)
{
	struct ioregion_wq_entry *e = container_of(wait, struct ioregion_wq_entry,
						   wait);

	if (key && key != e->w)
		return 0;
	return autoremove_wake_function(wait, mode, sync, key);
}

/*
 * Sleep until @w is answered, the socket had a wakeup since @seen, a signal
 * or @timeout jiffies; returns what is left of @timeout, or -ERESTARTSYS.
 */
static long ioregion_sleep(struct ioregion_chan *chan,
			   struct kvm_ioregion_waiter *w, int seen, long timeout)
{
	struct ioregion_wq_entry e = { .w = w };

	init_wait_func(&e.wait, ioregion_wake);
	for (;;) {
		prepare_to_wait_exclusive(&chan->wq, &e.wait, TASK_INTERRUPTIBLE);
		if (ioregion_result(w) != 1 || ioregion_kicked(chan, seen))
			break;
		if (signal_pending(current)) {
			timeout = -ERESTARTSYS;
			break;
		}
		timeout = schedule_timeout(timeout);
		if (!timeout)
			break;
	}
	finish_wait(&chan->wq, &e.wait);
	return timeout;
}

/*
 * The budget a wait on @chan polls for, at most @max ns: the channel's own,
 * or @max itself when adapting is off.
 */
static unsigned int ioregion_poll_budget(struct ioregion_chan *chan,
					 unsigned int max)
{
	if (!READ_ONCE(ioregion_poll_ns_grow))
		return max;
	return min(READ_ONCE(chan->poll_ns), max);
}

/*
 * After a wait that polled for @budget and got its response @waited ns
 * after it started, adapt the channel's budget the way halt polling adapts
 * a vCPU's: keep it if the device answered while the vCPU polled; grow it
 * if the device answered within @max, as a longer poll would have caught
 * the response; shrink it if the device took longer than @max, as polling
 * only burnt the CPU then.  The budget belongs to the channel because the
 * time to answer is the device's: a vCPU that uses a fast and a slow device
 * would otherwise see its budget thrash.  vCPUs sharing a channel race on
 * it harmlessly; the last one's view wins.
 */
static void ioregion_poll_adapt(struct ioregion_chan *chan,
				unsigned int budget, u64 waited,
				unsigned int max)
{
	unsigned int grow = READ_ONCE(ioregion_poll_ns_grow);
	unsigned int start = READ_ONCE(ioregion_poll_ns_grow_start);
	unsigned int shrink = READ_ONCE(ioregion_poll_ns_shrink);
	u64 val;

	if (!grow || waited <= budget)
		return;
	if (waited > max) {
		val = shrink ? budget / shrink : 0;
		if (val < start)
			val = 0;
	} else if (budget < max) {
		val = max_t(u64, (u64)budget * grow, start);
		val = min_t(u64, val, max);
	} else {
		return;
	}
	WRITE_ONCE(chan->poll_ns, val);
}

/*
 * Wait for the response to @vcpu's access in flight; 0, -EINTR, or why the
 * channel died.  With @nowait, only take what is there already: -EAGAIN if
 * it is not.
 */
static int ioregion_wait(struct kvm_vcpu *vcpu, bool nowait)
{
	struct kvm_ioregion_waiter *w = &vcpu->ioregion;
	unsigned int max = READ_ONCE(ioregion_poll_ns);
	struct ioregion_chan *chan = w->chan;
	unsigned int budget = 0;
	u64 start = 0, stop = 0, poll_end = 0, now;
	bool polled = false, slept = false;
	int seen, ret;
	long left;

	if (max && !nowait) {
		budget = ioregion_poll_budget(chan, max);
		start = ktime_get_ns();
		stop = start + budget;
	}
	for (;;) {
		seen = atomic_read(&chan->events);
		ioregion_rx_pump(chan);
		ret = ioregion_result(w);
		if (ret != 1)
			break;
		/* A dead channel answers nobody; never spin on it. */
		ret = READ_ONCE(chan->err);
		if (ret)
			return ret;
		if (nowait)
			return -EAGAIN;
		if (budget && !slept) {
			polled = true;
			if (ioregion_poll(chan, seen, stop))
				continue;
			poll_end = ktime_get_ns();
		}

		slept = true;
		left = ioregion_time_left(w->deadline);
		if (left)
			left = ioregion_sleep(chan, w, seen, left);
		if (left < 0) {
			/*
			 * This vCPU may have been the one woken to read for
			 * the others: read before leaving, so that no wakeup
			 * of the socket goes unanswered.
			 */
			ioregion_rx_pump(chan);
			return -EINTR;
		}
		if (!left) {
			/* A device past its deadline is considered hung. */
			ioregion_chan_fail(chan, -ETIMEDOUT);
			return ioregion_result(w);
		}
	}
	if (!start)
		return ret;

	/* Answered (ret 0) or failed: account the poll as halt polling does. */
	now = ktime_get_ns();
	if (polled) {
		++vcpu->stat.generic.ioregion_attempted_poll;
		if (!slept) {
			++vcpu->stat.generic.ioregion_successful_poll;
			vcpu->stat.generic.ioregion_poll_success_ns += now - start;
		} else {
			vcpu->stat.generic.ioregion_poll_fail_ns += poll_end - start;
		}
	}
	if (!ret)
		ioregion_poll_adapt(chan, budget, now - start, max);
	return ret;
}

/* Forget the access in flight; the caller has seen its result. */
static void ioregion_waiter_done(struct kvm_ioregion_waiter *w)
{
	struct ioregion_chan *chan = w->chan;

	spin_lock(&chan->lock);
	list_del_init(&w->list);
	spin_unlock(&chan->lock);
	w->chan = NULL;
	ioregion_chan_put_user(chan);
}

/* The scoreboard: posted writes of this vCPU not yet known applied */

static bool ioregion_acked(struct ioregion_chan *chan, u64 seq)
{
	/* Pairs with ioregion_ack(): the device's stores come first. */
	return atomic64_read_acquire(&chan->acked) > seq;
}

/*
 * Nothing to wait for: the writes are applied, or their channel serves no
 * region any more, so the device behind it is gone from the guest's view.
 */
static bool ioregion_posted_done(struct kvm_ioregion_posted *p)
{
	return ioregion_acked(p->chan, p->seq) ||
	       !READ_ONCE(p->chan->nr_regions);
}

static void ioregion_posted_drop(struct kvm_ioregion_posted *p)
{
	ioregion_chan_put(p->chan);
	p->chan = NULL;
}

/*
 * The channel of @g that @vcpu must fence before an access that waits for
 * the device, sent through @via (NULL: answered from the shadow), or NULL.
 * @via needs no fence: the device answers it after the writes before it.
 */
static struct ioregion_chan *ioregion_sb_fence(struct kvm_vcpu *vcpu,
					       struct ioregion_group *g,
					       struct ioregion_chan *via)
{
	struct kvm_ioregion_posted *p;
	int i;

	for (i = 0; i < KVM_IOREGION_POSTED; i++) {
		p = &vcpu->ioregion_posted[i];
		if (!p->chan || p->chan->group != g)
			continue;
		if (ioregion_posted_done(p))
			ioregion_posted_drop(p);
		else if (p->chan != via)
			return p->chan;
	}
	return NULL;
}

/* Where to note a posted write to @chan; NULL if the scoreboard is full. */
static struct kvm_ioregion_posted *ioregion_sb_slot(struct kvm_vcpu *vcpu,
						    struct ioregion_chan *chan)
{
	struct kvm_ioregion_posted *p, *free = NULL;
	int i;

	for (i = 0; i < KVM_IOREGION_POSTED; i++) {
		p = &vcpu->ioregion_posted[i];
		if (p->chan == chan)
			return p;
		if (p->chan && ioregion_posted_done(p))
			ioregion_posted_drop(p);
		if (!p->chan && !free)
			free = p;
	}
	return free;
}

static void ioregion_sb_record(struct kvm_ioregion_posted *p,
			       struct ioregion_chan *chan, u64 seq)
{
	if (!p->chan) {
		kref_get(&chan->kref);
		p->chan = chan;
	}
	p->seq = seq;
}

/* A fence through @chan is over: nothing of @vcpu's is pending there. */
static void ioregion_sb_fenced(struct kvm_vcpu *vcpu,
			       struct ioregion_chan *chan)
{
	int i;

	for (i = 0; i < KVM_IOREGION_POSTED; i++)
		if (vcpu->ioregion_posted[i].chan == chan)
			ioregion_posted_drop(&vcpu->ioregion_posted[i]);
}

/* The access path */

static u64 ioregion_get_val(const void *val, int len)
{
	switch (len) {
	case 1:
		return *(u8 *)val;
	case 2:
		return get_unaligned((u16 *)val);
	case 4:
		return get_unaligned((u32 *)val);
	case 8:
		return get_unaligned((u64 *)val);
	}
	return 0;
}

static void ioregion_put_val(void *val, int len, u64 data)
{
	switch (len) {
	case 1:
		*(u8 *)val = data;
		break;
	case 2:
		put_unaligned(data, (u16 *)val);
		break;
	case 4:
		put_unaligned(data, (u32 *)val);
		break;
	case 8:
		put_unaligned(data, (u64 *)val);
		break;
	}
}

static bool ioregion_accepts(struct ioregion *r, gpa_t addr, int len)
{
	if (!r->size)
		return addr == r->paddr;
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return false;
	return addr >= r->paddr && addr + len <= r->paddr + r->size;
}

static void ioregion_make_cmd(struct ioregionfd_cmd *cmd, struct ioregion *r,
			      gpa_t addr, int len, bool is_write,
			      const void *val, bool posted)
{
	*cmd = (struct ioregionfd_cmd) {
		.op = is_write ? IOREGIONFD_CMD_WRITE : IOREGIONFD_CMD_READ,
		.size = len,
		.flags = posted ? 0 : IOREGIONFD_CMD_RESPONSE,
		.user_data = r->user_data,
		.offset = addr - r->paddr,
		.data = is_write && val ? ioregion_get_val(val, len) : 0,
	};
}

/* May a load of @r, accepted by it, be answered from @g's shadow? */
static bool ioregion_shadow_ok(struct ioregion *r, struct ioregion_group *g,
			       gpa_t addr, int len)
{
	u64 off = r->shadow_offset + (addr - r->paddr);

	if (!g || !g->size || !r->size)
		return false;
	/*
	 * Binding made sure that the region fits the shadow; the map byte is
	 * the OR of the sizes allowed.  Pairs with the device's release
	 * store of the map after the values.
	 */
	return smp_load_acquire(&g->shadow[g->size + off]) & len;
}

static void ioregion_shadow_load(struct ioregion *r, struct ioregion_group *g,
				 gpa_t addr, int len, void *val)
{
	u64 off = r->shadow_offset + (addr - r->paddr);

	ioregion_put_val(val, len, ioregion_get_val(&g->shadow[off], len));
}

/* Loads from the shadow, straight from the io bus; anything else declines. */
static int ioregion_read(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
			 gpa_t addr, int len, void *val)
{
	struct ioregion *r = to_ioregion(this);
	struct ioregion_group *g;

	/* Like writes, PIO reads take the exit path: see ioregion_write(). */
	if (r->bus_idx == KVM_PIO_BUS || !ioregion_accepts(r, addr, len))
		return -EOPNOTSUPP;
	g = srcu_dereference(r->chan, &vcpu->kvm->srcu)->group;
	if (!ioregion_shadow_ok(r, g, addr, len) ||
	    ioregion_sb_fence(vcpu, g, NULL))
		return -EOPNOTSUPP;
	ioregion_shadow_load(r, g, addr, len, val);
	return 0;
}

/* Posted MMIO writes, straight from the io bus; anything else declines. */
static int ioregion_write(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
			  gpa_t addr, int len, const void *val)
{
	struct ioregion *r = to_ioregion(this);
	struct kvm_ioregion_posted *p = NULL;
	struct ioregion_chan *chan;
	struct ioregionfd_cmd cmd;
	u64 seq;

	/*
	 * String PIO cannot be declined halfway (the emulator would drop the
	 * rest), so PIO always takes the exit path.
	 */
	if (r->bus_idx == KVM_PIO_BUS ||
	    !(r->flags & KVM_IOREGION_POSTED_WRITES) ||
	    !ioregion_accepts(r, addr, len))
		return -EOPNOTSUPP;

	chan = srcu_dereference(r->chan, &vcpu->kvm->srcu);
	if (chan->group) {
		p = ioregion_sb_slot(vcpu, chan);
		if (!p)
			return -EOPNOTSUPP;
	}
	ioregion_make_cmd(&cmd, r, addr, len, true, val, true);
	if (ioregion_send(chan, &cmd, NULL, 0, true, &seq))
		return -EOPNOTSUPP;
	if (p)
		ioregion_sb_record(p, chan, seq);
	trace_kvm_ioregion_cmd(vcpu->vcpu_id, false, r->paddr, addr, len, true,
			       true, cmd.data);
	return 0;
}

/* ioregion_access() sent a fence and got its answer: call it again. */
#define IOREGION_FENCED		1

/*
 * Before an access to a group, the fence it needs (see "The scoreboard"),
 * or NULL; *@shadow: a load the shadow answers, *@p: where a posted write
 * will be noted.
 */
static struct ioregion_chan *ioregion_order(struct kvm_vcpu *vcpu,
					    struct ioregion *r,
					    struct ioregion_chan *chan,
					    gpa_t addr, int len, bool is_write,
					    bool posted, bool *shadow,
					    struct kvm_ioregion_posted **p)
{
	struct ioregion_group *g = chan->group;

	if (posted) {
		*p = ioregion_sb_slot(vcpu, chan);
		/* A full scoreboard: make room. */
		return *p ? NULL : vcpu->ioregion_posted[0].chan;
	}
	*shadow = !is_write && ioregion_shadow_ok(r, g, addr, len);
	return ioregion_sb_fence(vcpu, g, *shadow ? NULL : chan);
}

/*
 * Wait for the answer to the access in flight and complete it, without
 * kvm->srcu.  A KVM_RUN with immediate_exit only takes an answer that is
 * there already (-EAGAIN if none): a VMM pausing the vCPU must not wait
 * for the device.
 */
static int ioregion_finish(struct kvm_vcpu *vcpu, void *val)
{
	struct kvm_ioregion_waiter *w = &vcpu->ioregion;
	int ret;

	ret = ioregion_wait(vcpu, !vcpu->wants_to_run);
	if (ret == -EINTR || ret == -EAGAIN)
		return ret;
	if (w->fence) {
		/* Reported once if it failed; the writes are lost then. */
		ioregion_sb_fenced(vcpu, w->chan);
		if (!ret)
			ret = IOREGION_FENCED;
	} else if (!ret) {
		trace_kvm_ioregion_resp(vcpu->vcpu_id, w->bus_idx == KVM_PIO_BUS,
					w->region, w->addr, w->len, w->is_write,
					false, w->data);
		if (!w->is_write)
			ioregion_put_val(val, w->len, w->data);
	}
	ioregion_waiter_done(w);
	return ret;
}

/* One command of a naturally sized access; see kvm_ioregion_io(). */
static int ioregion_access(struct kvm_vcpu *vcpu, enum kvm_bus bus_idx,
			   gpa_t addr, int len, bool is_write, void *val)
{
	struct kvm_ioregion_waiter *w = &vcpu->ioregion;
	struct ioregion_chan *chan, *fence = NULL;
	struct kvm_ioregion_posted *p = NULL;
	struct kvm_io_device *dev;
	struct ioregionfd_cmd cmd;
	unsigned long deadline = 0;
	bool posted, shadow = false;
	struct ioregion *r;
	u64 seq;
	int ret;

	if (w->chan) {
		if (w->bus_idx == bus_idx && w->addr == addr &&
		    w->len == len && w->is_write == is_write) {
			/* The access a signal interrupted: its answer. */
			kvm_vcpu_srcu_read_unlock(vcpu);
			ret = ioregion_finish(vcpu, val);
			goto out;
		}
		/* Not the access left behind; drop that one. */
		ioregion_waiter_done(w);
	}

	w->user_data = 0;
	w->region = 0;
	dev = kvm_io_bus_find_dev(vcpu->kvm, bus_idx, addr, len, &ioregion_ops);
	if (!dev)
		return -EOPNOTSUPP;
	r = to_ioregion(dev);
	if (!ioregion_accepts(r, addr, len) || (!r->size && !is_write))
		return -EOPNOTSUPP;

	w->user_data = r->user_data;
	w->region = r->paddr;
	posted = is_write && (r->flags & KVM_IOREGION_POSTED_WRITES);
	chan = srcu_dereference(r->chan, &vcpu->kvm->srcu);
	if (chan->group)
		fence = ioregion_order(vcpu, r, chan, addr, len, is_write,
				       posted, &shadow, &p);
	if (shadow && !fence) {
		ioregion_shadow_load(r, chan->group, addr, len, val);
		return 0;
	}
	if (fence) {
		/* Waits as long as an access to @r would. */
		cmd = (struct ioregionfd_cmd) {
			.op = IOREGIONFD_CMD_FENCE,
			.flags = IOREGIONFD_CMD_RESPONSE,
		};
		chan = fence;
		posted = false;
	} else {
		ioregion_make_cmd(&cmd, r, addr, len, is_write, val, posted);
	}
	if (chan->timeout_ms)
		deadline = (jiffies + msecs_to_jiffies(chan->timeout_ms)) ?: 1;
	ioregion_chan_get_user(chan);

	/* r may go away from here on; chan may not. */
	kvm_vcpu_srcu_read_unlock(vcpu);
	if (posted) {
		ret = ioregion_send(chan, &cmd, NULL, deadline, false, &seq);
		if (!ret && p)
			ioregion_sb_record(p, chan, seq);
		ioregion_chan_put_user(chan);
		if (!ret)
			trace_kvm_ioregion_cmd(vcpu->vcpu_id, bus_idx == KVM_PIO_BUS,
					       w->region, addr, len, true, true,
					       cmd.data);
		goto out;
	}

	*w = (struct kvm_ioregion_waiter) {
		.list = LIST_HEAD_INIT(w->list),
		.chan = chan,
		.deadline = deadline,
		.addr = addr,
		.len = len,
		.bus_idx = bus_idx,
		.is_write = is_write,
		.fence = !!fence,
		.user_data = w->user_data,
		.region = w->region,
	};
	ret = ioregion_send(chan, &cmd, w, deadline, false, &seq);
	if (ret) {
		/* Nothing was sent: a resumed KVM_RUN starts over. */
		if (fence && ret != -EINTR)
			ioregion_sb_fenced(vcpu, chan);
		w->chan = NULL;
		ioregion_chan_put_user(chan);
		goto out;
	}
	if (!fence)
		trace_kvm_ioregion_cmd(vcpu->vcpu_id, bus_idx == KVM_PIO_BUS,
				       w->region, addr, len, is_write, false,
				       cmd.data);
	ret = ioregion_finish(vcpu, val);
out:
	kvm_vcpu_srcu_read_lock(vcpu);
	return ret;
}

/*
 * Devices see accesses of 1, 2, 4 or 8 bytes.  KVM hands over other sizes
 * where an access crosses a page (6 + 2 bytes for 8 bytes at 0xffa); send
 * those as naturally aligned pieces, lowest address first.
 */
static int ioregion_piece(gpa_t addr, int len)
{
	int n;

	if (is_power_of_2(len))
		return len;
	for (n = rounddown_pow_of_two(len); addr & (n - 1); n >>= 1)
		;
	return n;
}

static u32 ioregion_fail_reason(int err)
{
	switch (err) {
	case -EPIPE:
	case -ECONNRESET:
		return KVM_IOREGIONFD_FAIL_PEER_CLOSED;
	case -EBADMSG:
	case -EMSGSIZE:
		return KVM_IOREGIONFD_FAIL_BAD_RESPONSE;
	case -ETIMEDOUT:
		return KVM_IOREGIONFD_FAIL_TIMEOUT;
	case -ENOENT:
	case -EOPNOTSUPP:
		return KVM_IOREGIONFD_FAIL_GONE;
	}
	return KVM_IOREGIONFD_FAIL_IO_ERROR;
}

/* Hand the failed piece of an access to userspace; see api.rst. */
static void ioregion_fail_exit(struct kvm_vcpu *vcpu, enum kvm_bus bus_idx,
			       gpa_t addr, int len, bool is_write,
			       const void *val, int err)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_IOREGIONFD_FAILURE;
	memset(&run->ioregionfd_failure, 0, sizeof(run->ioregionfd_failure));
	run->ioregionfd_failure.addr = addr;
	run->ioregionfd_failure.len = len;
	run->ioregionfd_failure.is_write = is_write;
	run->ioregionfd_failure.pio = bus_idx == KVM_PIO_BUS;
	if (is_write)
		run->ioregionfd_failure.data = ioregion_get_val(val, len);
	run->ioregionfd_failure.user_data = vcpu->ioregion.user_data;
	run->ioregionfd_failure.reason = ioregion_fail_reason(err);
	run->ioregionfd_failure.error = -err;
	trace_kvm_ioregion_fail(vcpu->vcpu_id, bus_idx == KVM_PIO_BUS,
				vcpu->ioregion.region, addr, len, is_write,
				run->ioregionfd_failure.reason, err);
}

/*
 * Perform an access that the io bus declined, or resume one that a signal
 * or a failure exit interrupted.  Called with kvm->srcu held (it is dropped
 * while waiting).  Returns 0 (read data in @val), -EOPNOTSUPP if no ioregion
 * takes the access (an ordinary exit to userspace), -EINTR if a signal came
 * first, -EAGAIN if KVM_RUN's immediate_exit stopped the wait, or -EREMOTEIO
 * with a KVM_EXIT_IOREGIONFD_FAILURE prepared.  After -EINTR, -EAGAIN or
 * -EREMOTEIO the caller must retry the same access.  @started: an earlier
 * part of the same instruction went to an ioregion (a string PIO), so none
 * of it may go to userspace as an ordinary exit any more.
 */
int kvm_ioregion_io(struct kvm_vcpu *vcpu, enum kvm_bus bus_idx, gpa_t addr,
		    int len, bool is_write, void *val, bool started)
{
	struct kvm_ioregion_waiter *w = &vcpu->ioregion;
	int done = w->state ? w->done : 0;
	int n = 0, ret = 0;

	if (w->state == KVM_IOREGION_FAILED) {
		/* Userspace performed the failed piece itself. */
		n = ioregion_piece(addr + done, len - done);
		if (!is_write)
			ioregion_put_val(val + done, n,
					 vcpu->run->ioregionfd_failure.data);
		done += n;
	}
	w->state = 0;
	for (; done < len; done += n) {
		n = ioregion_piece(addr + done, len - done);
		do {
			ret = ioregion_access(vcpu, bus_idx, addr + done, n,
					      is_write, val + done);
		} while (ret == IOREGION_FENCED);
		if (ret)
			break;
	}
	w->done = done;
	if (ret == -EINTR || ret == -EAGAIN) {
		w->state = KVM_IOREGION_INTERRUPTED;
	} else if (ret && (ret != -EOPNOTSUPP || done || started)) {
		/* Part of the access is done: userspace must not redo it. */
		ioregion_fail_exit(vcpu, bus_idx, addr + done, n, is_write,
				   val + done, ret);
		w->state = KVM_IOREGION_FAILED;
		ret = -EREMOTEIO;
	}
	return ret;
}

void kvm_ioregion_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	int i;

	if (vcpu->ioregion.chan)
		ioregion_waiter_done(&vcpu->ioregion);
	for (i = 0; i < KVM_IOREGION_POSTED; i++)
		if (vcpu->ioregion_posted[i].chan)
			ioregion_posted_drop(&vcpu->ioregion_posted[i]);
}

/* Registration */

/* @n more (or fewer) regions use @chan.  Under slots_lock. */
static void ioregion_chan_bind(struct ioregion_chan *chan, int n)
{
	WRITE_ONCE(chan->nr_regions, chan->nr_regions + n);
	if (chan->group)
		chan->group->nr_regions += n;
}

/*
 * @n regions left @chan (under slots_lock), for another channel if @moved.
 * A group that lost its last region is spent: a new device must not see
 * this one's shadow.  A channel that serves no region any more lets its
 * socket go, so that its device sees end of file whoever still points at
 * the channel (a vCPU's scoreboard): at once if its regions were removed,
 * failing the accesses waiting there; once those accesses are done if its
 * regions moved to a restarted device.
 */
static void ioregion_chan_unbind(struct ioregion_chan *chan, int n, bool moved)
{
	bool close;

	ioregion_chan_bind(chan, -n);
	if (chan->group && !chan->group->nr_regions)
		chan->group->spent = true;
	if (chan->nr_regions)
		return;
	spin_lock(&chan->lock);
	chan->retired = true;
	close = !moved || !chan->users;
	spin_unlock(&chan->lock);
	if (close)
		ioregion_chan_close(chan, -ENOENT);
}

static void ioregion_free(struct ioregion *r)
{
	struct ioregion_chan *chan = ioregion_chan_locked(r);

	ioregion_chan_unbind(chan, 1, false);
	ioregion_chan_put(chan);
	kfree(r);
}

/*
 * The io bus calls this once @this is off it: on deassign (with slots_lock
 * held; for every device on the bus if the bus could not shrink), and at VM
 * teardown.
 */
static void ioregion_destructor(struct kvm_io_device *this)
{
	struct ioregion *r = to_ioregion(this);

	list_del(&r->list);
	ioregion_free(r);
}

static const struct kvm_io_device_ops ioregion_ops = {
	.read = ioregion_read,
	.write = ioregion_write,
	.destructor = ioregion_destructor,
};

/* @r has exactly this range (a doorbell's fast MMIO twin counts as MMIO). */
static bool ioregion_same_range(struct ioregion *r, u64 paddr, u64 size,
				enum kvm_bus bus_idx)
{
	return r->paddr == paddr && r->size == size &&
	       (r->bus_idx == bus_idx ||
		(r->bus_idx == KVM_FAST_MMIO_BUS && bus_idx == KVM_MMIO_BUS));
}

static bool ioregion_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + max_t(u64, blen, 1) && b < a + max_t(u64, alen, 1);
}

bool kvm_ioregion_collides(struct kvm *kvm, enum kvm_bus bus_idx,
			   gpa_t addr, u64 len)
{
	struct ioregion *r;

	lockdep_assert_held(&kvm->slots_lock);

	if (bus_idx == KVM_FAST_MMIO_BUS)
		bus_idx = KVM_MMIO_BUS;
	list_for_each_entry(r, &kvm->ioregions, list)
		if (r->bus_idx == bus_idx &&
		    ioregion_overlap(r->paddr, r->size, addr, len))
			return true;
	return false;
}

/*
 * The socket behind read_fd and write_fd: both must name the same
 * connected AF_UNIX stream or seqpacket socket.  A reference to its file.
 */
static int ioregion_get_socket(struct kvm_ioregion *args, struct file **filep)
{
	CLASS(fd, rf)(args->read_fd);
	CLASS(fd, wf)(args->write_fd);
	struct socket *sock;

	if (fd_empty(rf) || fd_empty(wf))
		return -EBADF;
	if (!sock_from_file(fd_file(rf)) || !sock_from_file(fd_file(wf)))
		return -ENOTSOCK;
	if (fd_file(rf) != fd_file(wf))
		return -EINVAL;
	sock = sock_from_file(fd_file(rf));
	if (sock->sk->sk_family != AF_UNIX ||
	    (sock->type != SOCK_STREAM && sock->type != SOCK_SEQPACKET))
		return -EINVAL;
	if (READ_ONCE(sock->sk->sk_state) != TCP_ESTABLISHED)
		return -ENOTCONN;
	*filep = get_file(fd_file(rf));
	return 0;
}

/*
 * The channel already serving @file, or a new one in @group.  Takes over
 * the reference to @file, even on failure.
 */
static int ioregion_get_chan(struct kvm *kvm, struct file *file,
			     struct ioregion_group *group, u32 timeout_ms,
			     struct ioregion_chan **chanp)
{
	struct ioregion_chan *chan;
	struct ioregion *r;

	lockdep_assert_held(&kvm->slots_lock);

	list_for_each_entry(r, &kvm->ioregions, list) {
		chan = ioregion_chan_locked(r);
		if (chan->file != file)
			continue;
		fput(file);
		/*
		 * One device's commands cannot be split between ordering
		 * groups, and a timeout fails the whole channel: its regions
		 * share it.
		 */
		if (chan->group != group)
			return -EBUSY;
		if (chan->timeout_ms != timeout_ms)
			return -EINVAL;
		kref_get(&chan->kref);
		*chanp = chan;
		return 0;
	}
	*chanp = ioregion_chan_create(file, group, timeout_ms);
	return *chanp ? 0 : -ENOMEM;
}

static struct ioregion *ioregion_alloc(struct kvm *kvm,
				       struct kvm_ioregion *args,
				       enum kvm_bus bus_idx)
{
	struct ioregion *r = kzalloc_obj(*r, GFP_KERNEL_ACCOUNT);

	if (!r)
		return NULL;
	INIT_LIST_HEAD(&r->list);
	kvm_iodevice_init(&r->dev, &ioregion_ops);
	r->kvm = kvm;
	r->bus_idx = bus_idx;
	r->paddr = args->guest_paddr;
	r->size = args->memory_size;
	r->user_data = args->user_data;
	r->flags = args->flags;
	r->shadow_offset = args->shadow_offset;
	return r;
}

/*
 * Put @r on its io bus with @chan.  The channel is in place before the bus
 * makes @r visible to vCPUs.  On failure nothing is left, not even a spent
 * group.
 */
static int ioregion_register(struct kvm *kvm, struct ioregion *r,
			     struct ioregion_chan *chan)
{
	int ret;

	lockdep_assert_held(&kvm->slots_lock);

	kref_get(&chan->kref);
	ioregion_chan_bind(chan, 1);
	rcu_assign_pointer(r->chan, chan);
	ret = kvm_io_bus_register_dev(kvm, r->bus_idx, r->paddr, r->size,
				      &r->dev);
	if (ret) {
		ioregion_chan_bind(chan, -1);
		ioregion_chan_put(chan);
		return ret;
	}
	list_add_tail(&r->list, &kvm->ioregions);
	return 0;
}

/* The region with exactly this range, if any. */
static struct ioregion *ioregion_find(struct kvm *kvm, u64 paddr, u64 size,
				      enum kvm_bus bus_idx)
{
	struct ioregion *r;

	lockdep_assert_held(&kvm->slots_lock);

	list_for_each_entry(r, &kvm->ioregions, list)
		if (ioregion_same_range(r, paddr, size, bus_idx))
			return r;
	return NULL;
}

/*
 * A restarted device: move @cur, the region @new describes (and its
 * doorbell twin, which shares its fields and channel), to @file, whose
 * reference this takes over, in @group.  No vCPU starts an access on the
 * old channel once this returns; vCPUs already waiting there keep it until
 * they have their answers, or it fails them.
 */
static int ioregion_reassign(struct kvm *kvm, struct ioregion *cur,
			     struct ioregion *new, struct file *file,
			     struct ioregion_group *group, u32 timeout_ms)
{
	struct ioregion_chan *chan, *old = ioregion_chan_locked(cur);
	struct ioregion *r;
	int i, n = 0, ret;

	lockdep_assert_held(&kvm->slots_lock);

	/* Only the socket may change. */
	if (cur->user_data != new->user_data || cur->flags != new->flags ||
	    old->timeout_ms != timeout_ms ||
	    cur->shadow_offset != new->shadow_offset) {
		fput(file);
		return -EEXIST;
	}
	ret = ioregion_get_chan(kvm, file, group, timeout_ms, &chan);
	if (ret || old == chan)
		goto out;

	list_for_each_entry(r, &kvm->ioregions, list) {
		if (!ioregion_same_range(r, new->paddr, new->size, new->bus_idx))
			continue;
		ioregion_chan_bind(chan, 1);
		kref_get(&chan->kref);
		rcu_assign_pointer(r->chan, chan);
		n++;
	}
	synchronize_srcu_expedited(&kvm->srcu);
	ioregion_chan_unbind(old, n, true);
	for (i = 0; i < n; i++)
		ioregion_chan_put(old);
out:
	if (!ret)
		ioregion_chan_put(chan);
	return ret;
}

static int ioregion_assign(struct kvm *kvm, struct kvm_ioregion *args,
			   enum kvm_bus bus_idx)
{
	struct ioregion *r, *cur, *doorbell = NULL;
	struct ioregion_group *group = NULL;
	struct ioregion_chan *chan;
	struct file *file = NULL;
	bool fresh;
	int ret;

	if (!args->memory_size &&
	    (bus_idx != KVM_MMIO_BUS ||
	     !(args->flags & KVM_IOREGION_POSTED_WRITES)))
		return -EINVAL;
	if (args->memory_size > IOREGION_MAX_SIZE)
		return -EINVAL;
	if (bus_idx == KVM_PIO_BUS &&
	    args->guest_paddr + args->memory_size > IOREGION_PIO_LIMIT)
		return -EINVAL;

	if (args->flags & KVM_IOREGION_GROUP) {
		ret = ioregion_group_get(kvm, args->group_fd, &group);
		if (ret)
			return ret;
	}
	ret = ioregion_get_socket(args, &file);
	if (ret)
		goto out_put_group;

	ret = -ENOMEM;
	r = ioregion_alloc(kvm, args, bus_idx);
	if (!r)
		goto out_put_file;
	if (!args->memory_size) {
		/* Like ioeventfd: the fast MMIO bus sees doorbells first. */
		doorbell = ioregion_alloc(kvm, args, KVM_FAST_MMIO_BUS);
		if (!doorbell)
			goto out_free;
	}

	mutex_lock(&kvm->slots_lock);
	ret = ioregion_group_check(group, args);
	if (ret)
		goto out_unlock;
	cur = ioregion_find(kvm, r->paddr, r->size, r->bus_idx);
	if (cur) {
		ret = ioregion_reassign(kvm, cur, r, file, group,
					args->timeout_ms);
		file = NULL;
		goto out_unlock;
	}
	ret = -EEXIST;
	if (kvm_ioregion_collides(kvm, bus_idx, r->paddr, r->size) ||
	    kvm_ioeventfd_collides(kvm, bus_idx, r->paddr, r->size) ||
	    kvm_coalesced_mmio_collides(kvm, bus_idx, r->paddr, r->size))
		goto out_unlock;

	/* From here on the channel holds the file reference. */
	ret = ioregion_get_chan(kvm, file, group, args->timeout_ms, &chan);
	file = NULL;
	if (ret)
		goto out_unlock;

	fresh = group && !group->nr_regions;
	ret = ioregion_register(kvm, r, chan);
	if (ret)
		goto out_put_chan;
	if (doorbell) {
		ret = ioregion_register(kvm, doorbell, chan);
		if (ret) {
			/* The bus frees @r.  Undone, not gone: a fresh group stays fresh. */
			kvm_io_bus_unregister_dev(kvm, r->bus_idx, &r->dev);
			if (fresh)
				group->spent = false;
			r = NULL;
			goto out_put_chan;
		}
	}
	ioregion_chan_put(chan);
	mutex_unlock(&kvm->slots_lock);
	ioregion_group_put(group);
	return 0;

out_put_chan:
	ioregion_chan_put(chan);
out_unlock:
	mutex_unlock(&kvm->slots_lock);
out_free:
	kfree(doorbell);
	kfree(r);
out_put_file:
	if (file)
		fput(file);
out_put_group:
	ioregion_group_put(group);
	return ret;
}

static int ioregion_deassign(struct kvm *kvm, struct kvm_ioregion *args,
			     enum kvm_bus bus_idx)
{
	struct ioregion *r;
	int ret = -ENOENT;

	mutex_lock(&kvm->slots_lock);
	/*
	 * A doorbell has a twin on the fast MMIO bus.  Look again after each:
	 * a bus that cannot shrink frees every region on it and fails.
	 */
	while ((r = ioregion_find(kvm, args->guest_paddr, args->memory_size,
				  bus_idx))) {
		/* On success, the bus frees @r (ioregion_destructor()). */
		ret = kvm_io_bus_unregister_dev(kvm, r->bus_idx, &r->dev);
		if (ret)
			break;
	}
	mutex_unlock(&kvm->slots_lock);
	return ret;
}

int kvm_set_ioregion(struct kvm *kvm, struct kvm_ioregion *args)
{
	enum kvm_bus bus_idx;
	u64 end;

	if (args->flags & ~KVM_IOREGION_VALID_FLAGS)
		return -EINVAL;
	if (memchr_inv(args->pad, 0, sizeof(args->pad)) || args->pad1)
		return -EINVAL;
	if (!(args->flags & KVM_IOREGION_GROUP) &&
	    (args->group_fd || args->shadow_offset))
		return -EINVAL;
	/*
	 * The io bus compares the ends of ranges, so the end (the address
	 * after the last byte, a doorbell's one byte included) must fit in 64
	 * bits: nothing may cover the last byte of the address space.
	 */
	if (check_add_overflow(args->guest_paddr,
			       max_t(u64, args->memory_size, 1), &end))
		return -EINVAL;
	if (!kvm_arch_ioregion_allowed(kvm))
		return -EOPNOTSUPP;

	bus_idx = args->flags & KVM_IOREGION_PIO ? KVM_PIO_BUS : KVM_MMIO_BUS;
	if (args->flags & KVM_IOREGION_DEASSIGN)
		return ioregion_deassign(kvm, args, bus_idx);
	return ioregion_assign(kvm, args, bus_idx);
}
