// SPDX-License-Identifier: GPL-2.0
/*
 * mpqemu_run: the orchestrator multi-process QEMU needs (see QEMU's
 * docs/system/multi-process.rst).  Creates the socket pair of the proxy
 * channel, starts the remote process and the main QEMU with one end each -
 * "@FD@" in a command line becomes that end's number - and waits for the
 * main QEMU; then stops the remote process.
 *
 *   mpqemu_run [-t SECONDS] [-p PIDFILE] REMOTE... -- MAIN...
 *
 * -t: kill both after SECONDS and exit 124 (a hang is a failure, not a
 * wait); -p: write the remote process's pid there, for tests that kill it.
 * Exits with the main QEMU's status (128 + signal when killed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t spawn(char **argv, int keep, int drop)
{
	char num[16];
	pid_t pid;
	int i;

	snprintf(num, sizeof(num), "%d", keep);
	for (i = 0; argv[i]; i++) {
		char *at = strstr(argv[i], "@FD@");

		if (at) {
			char *s = malloc(strlen(argv[i]) + sizeof(num));

			sprintf(s, "%.*s%s%s", (int)(at - argv[i]), argv[i], num,
				at + 4);
			argv[i] = s;
		}
	}
	pid = fork();
	if (pid == 0) {
		close(drop);
		execvp(argv[0], argv);
		fprintf(stderr, "mpqemu_run: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static int status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	int opt, sv[2], st, rst = 0, timeout = 0;
	const char *pidfile = NULL;
	pid_t remote, qemu, pid;
	char **main_argv = NULL;
	time_t deadline;
	int i;

	while ((opt = getopt(argc, argv, "+t:p:")) != -1) {
		switch (opt) {
		case 't':
			timeout = atoi(optarg);
			break;
		case 'p':
			pidfile = optarg;
			break;
		default:
			goto usage;
		}
	}
	for (i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			argv[i] = NULL;
			main_argv = &argv[i + 1];
			break;
		}
	}
	if (!main_argv || !main_argv[0] || optind >= argc || !argv[optind])
		goto usage;

	/* Not close-on-exec: each child keeps its end across exec. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		perror("mpqemu_run: socketpair");
		return 1;
	}
	remote = spawn(&argv[optind], sv[0], sv[1]);
	qemu = spawn(main_argv, sv[1], sv[0]);
	close(sv[0]);
	close(sv[1]);
	if (remote < 0 || qemu < 0) {
		perror("mpqemu_run: fork");
		return 1;
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (f) {
			fprintf(f, "%d\n", remote);
			fclose(f);
		}
	}

	deadline = time(NULL) + timeout;
	for (;;) {
		pid = waitpid(qemu, &st, timeout ? WNOHANG : 0);
		if (pid == qemu)
			break;
		if (pid < 0 && errno != EINTR) {
			perror("mpqemu_run: waitpid");
			return 1;
		}
		if (timeout && time(NULL) >= deadline) {
			fprintf(stderr, "mpqemu_run: QEMU still running after %d s: "
				"killing it and the remote process\n", timeout);
			kill(qemu, SIGKILL);
			kill(remote, SIGKILL);
			waitpid(qemu, NULL, 0);
			waitpid(remote, NULL, 0);
			return 124;
		}
		usleep(100 * 1000);
	}
	/* The remote process ends when the channel closes; make sure. */
	for (i = 0; i < 50 && waitpid(remote, &rst, WNOHANG) == 0; i++)
		usleep(100 * 1000);
	if (i == 50) {
		kill(remote, SIGKILL);
		waitpid(remote, &rst, 0);
	}
	fprintf(stderr, "mpqemu_run: QEMU exited with %d, the remote process "
		"with %d\n", status_code(st), status_code(rst));
	return status_code(st);

usage:
	fprintf(stderr, "usage: mpqemu_run [-t SECONDS] [-p PIDFILE] "
		"REMOTE... -- MAIN...\n");
	return 2;
}
