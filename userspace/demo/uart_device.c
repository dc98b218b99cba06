// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The demo's UART device process; see uart_device.h.
 *
 * Two threads share the UART under a mutex: the main one serves commands
 * (the guest's register accesses) and writes what the guest transmitted
 * to out_fd once per round, so a burst of posted THR writes costs one
 * write(2); the other waits on resamplefd and in_fd.
 */
#include "uart_device.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "uart16550.h"

struct uart_state {
	pthread_mutex_t lock;
	struct uart16550 uart;
	const struct uart_device *cfg;
	bool raised;		/* written to irq_fd since the last resample */
	int err;		/* the first failure of either thread */
	atomic_bool stop;
	uint8_t out[4096];
	size_t nout;
	uint64_t lsr_reads;	/* that reached the device */
};

#define COM_LSR		5

/*
 * Called under s->lock after anything that may change LSR.  Its error
 * bits clear on read, which a shadow load would not do: while one is set,
 * the map sends LSR loads to the device (and the value left there never
 * has them, so a load racing with this sees LSR from before the error).
 */
static void publish_lsr(struct uart_state *s)
{
	uint8_t lsr = uart16550_lsr(&s->uart);

	if (s->cfg->shadow)
		ioregion_shadow_set(s->cfg->shadow, COM_LSR, 1,
				    lsr & ~s->uart.lsr_err, s->uart.lsr_err ? 0 : 1);
}

static void fail(struct uart_state *s, int err)
{
	if (!s->err)
		s->err = err;
}

static void raise_line(struct uart_state *s)
{
	uint64_t one = 1;

	if (write(s->cfg->irq_fd, &one, sizeof(one)) != sizeof(one))
		fail(s, -errno);
	s->raised = true;
}

/* Called under s->lock, by the UART model. */
static void on_irq(void *opaque, bool level)
{
	struct uart_state *s = opaque;

	/* A lowered line is KVM's business: it deasserts at EOI. */
	if (level && !s->raised)
		raise_line(s);
}

static void flush_out(struct uart_state *s)
{
	size_t done = 0;
	ssize_t n;

	while (done < s->nout) {
		n = write(s->cfg->out_fd, s->out + done, s->nout - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fail(s, n < 0 ? -errno : -EIO);
			break;
		}
		done += n;
	}
	s->nout = 0;
}

static void on_tx(void *opaque, uint8_t byte)
{
	struct uart_state *s = opaque;

	if (s->nout == sizeof(s->out))
		flush_out(s);
	s->out[s->nout++] = byte;
}

static uint64_t reg_read(void *opaque, uint64_t ud, uint64_t off, unsigned int size)
{
	struct uart_state *s = opaque;
	uint8_t v;

	pthread_mutex_lock(&s->lock);
	v = uart16550_read(&s->uart, off);
	if (off == COM_LSR)
		s->lsr_reads++;
	publish_lsr(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

static void reg_write(void *opaque, uint64_t ud, uint64_t off, unsigned int size,
		      uint64_t data)
{
	struct uart_state *s = opaque;

	pthread_mutex_lock(&s->lock);
	uart16550_write(&s->uart, off, data);
	publish_lsr(s);
	if (s->cfg->regs)
		uart16550_save(&s->uart, s->cfg->regs);
	pthread_mutex_unlock(&s->lock);
}

static const struct ioregion_ops uart_ops = { .read = reg_read, .write = reg_write };

/* Resamples and input; polls with a timeout to see stop, or FIFO room. */
static void *aux_thread(void *arg)
{
	struct uart_state *s = arg;
	struct pollfd p[2] = { { s->cfg->resample_fd, POLLIN, 0 } };
	int in_fd = s->cfg->in_fd;
	uint8_t buf[UART_FIFO_SIZE];
	unsigned int room;
	uint64_t n;
	ssize_t len;

	while (!atomic_load(&s->stop)) {
		pthread_mutex_lock(&s->lock);
		room = UART_FIFO_SIZE - s->uart.rx_count;
		pthread_mutex_unlock(&s->lock);
		/* Input waits where it is until the guest makes room. */
		p[1] = (struct pollfd){ room ? in_fd : -1, POLLIN, 0 };
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		if ((p[0].revents & POLLIN) &&
		    read(s->cfg->resample_fd, &n, sizeof(n)) == sizeof(n)) {
			pthread_mutex_lock(&s->lock);
			s->raised = false;
			if (s->uart.irq)
				raise_line(s);
			pthread_mutex_unlock(&s->lock);
		}
		if (p[1].fd < 0 || !(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		len = read(in_fd, buf, room);
		if (len <= 0) {
			in_fd = -1;	/* end of input: the line stays quiet */
			continue;
		}
		pthread_mutex_lock(&s->lock);
		uart16550_receive(&s->uart, buf, len);
		publish_lsr(s);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int uart_device_run(const struct uart_device *cfg)
{
	struct ioregion_region com = { .user_data = cfg->user_data, .size = 8 };
	struct uart_state s = { .lock = PTHREAD_MUTEX_INITIALIZER, .cfg = cfg };
	IOREGION_DEV_OPTS(opts, .engine = cfg->engine);
	IOREGION_STATS(st);
	struct ioregion_dev *dev;
	pthread_t aux;
	int ret;

	uart16550_init(&s.uart, on_tx, on_irq, &s);
	/* A restarted device: carry on as the guest's driver left it. */
	if (cfg->regs && cfg->regs->magic == UART16550_REGS_MAGIC) {
		uart16550_restore(&s.uart, cfg->regs);
		fprintf(stderr, "uart device: took over COM1 as its predecessor left it (IER 0x%x, LCR 0x%x, MCR 0x%x)\n",
			cfg->regs->ier, cfg->regs->lcr, cfg->regs->mcr);
	}
	publish_lsr(&s);
	ret = ioregion_dev_create(&dev, &uart_ops, &s, &opts);
	if (ret)
		return ret;
	ret = ioregion_dev_add_region(dev, &com);
	if (!ret)
		ret = ioregion_dev_add_fds(dev, cfg->sock, cfg->sock);
	if (!ret)
		ret = -pthread_create(&aux, NULL, aux_thread, &s);
	if (ret) {
		ioregion_dev_destroy(dev);
		return ret;
	}
	/* Every thread exists now: confine them all. */
	if (cfg->sandbox)
		ret = ioregion_sandbox(cfg->sandbox);
	while (!ret && (ret = ioregion_serve(dev, -1)) >= 0) {
		pthread_mutex_lock(&s.lock);
		flush_out(&s);
		ret = s.err;
		pthread_mutex_unlock(&s.lock);
	}
	atomic_store(&s.stop, true);
	pthread_join(aux, NULL);
	flush_out(&s);
	ioregion_dev_stats(dev, &st);
	fprintf(stderr, "uart device: served %llu commands, %llu of them LSR reads%s\n",
		(unsigned long long)st.commands, (unsigned long long)s.lsr_reads,
		cfg->shadow ? " (the rest of LSR from the shadow)" : "");
	ioregion_dev_destroy(dev);
	/* KVM closing its end is how a device's work ends. */
	if (ret == -EPIPE)
		ret = 0;
	return ret ? ret : s.err;
}
