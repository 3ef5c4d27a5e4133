// SPDX-License-Identifier: GPL-2.0
/*
 * Clients: the connections to luod's socket. Each is read one message at
 * a time, with the descriptors that come with it, and written back one
 * reply at a time; a client that goes leaves its sessions with luod.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "luod_internal.h"

void client_close_fds(struct luod_client *c)
{
	while (c->nr_fds)
		close(c->fds[--c->nr_fds]);
	c->fd_error = false;
}

void client_drop(unsigned int i)
{
	struct luod_client *c = luod.clients[i];

	client_close_fds(c);
	close(c->sock);
	free(c);
	luod.clients[i] = luod.clients[--luod.nr_clients];
}

void client_accept(void)
{
	struct luod_client *c;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int sock;

	for (;;) {
		sock = accept4(luod.listen_fd, NULL, NULL,
			       SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (sock < 0)
			return;
		if (luod.nr_clients >= luod.max_clients) {
			close(sock);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(sock);
			return;
		}
		c->sock = sock;
		c->out_fd = -1;
		c->pid = -1;
		if (!getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
			c->pid = cred.pid;
		luod.clients[luod.nr_clients++] = c;
	}
}

/* Return false when the client must go. */
bool client_write(struct luod_client *c)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = {
		c->out + c->out_off, c->out_len - c->out_off,
	};
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;
	ssize_t n;

	while (c->out_off < c->out_len) {
		if (c->out_fd >= 0) {
			m.msg_control = cbuf;
			m.msg_controllen = sizeof(cbuf);
			cmsg = CMSG_FIRSTHDR(&m);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cmsg), &c->out_fd, sizeof(int));
		}
		n = sendmsg(c->sock, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->out_fd = -1;		/* held by luod; sent once */
		m.msg_control = NULL;
		m.msg_controllen = 0;
		c->out_off += n;
		iov.iov_base = c->out + c->out_off;
		iov.iov_len = c->out_len - c->out_off;
	}
	c->out_len = 0;
	c->out_off = 0;
	return !c->close_after;
}

static void client_take_fds(struct luod_client *c, struct msghdr *m)
{
	struct cmsghdr *cm;
	size_t i, nr;
	int fd;

	if (m->msg_flags & MSG_CTRUNC)
		c->fd_error = true;
	for (cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			c->fd_error = true;
			continue;
		}
		nr = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nr; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c->nr_fds < LUOD_PENDING_FDS) {
				c->fds[c->nr_fds++] = fd;
			} else {
				close(fd);
				c->fd_error = true;
			}
		}
	}
}

/* Check a complete header; on a framing error, answer and hang up. */
static bool header_ok(struct luod_client *c)
{
	struct luod_hdr hdr;
	int err = 0;

	memcpy(&hdr, c->in, sizeof(hdr));
	if (hdr.magic != LUOD_MAGIC)
		err = EPROTO;
	else if (hdr.version != LUOD_PROTO_VERSION)
		err = EPROTONOSUPPORT;
	else if (hdr.length > LUOD_MAX_REQUEST)
		err = EMSGSIZE;
	else if (hdr.error)
		err = EINVAL;
	if (!err)
		return true;
	client_close_fds(c);
	reply(c, hdr.opcode, err, NULL, 0, -1);
	c->close_after = true;
	return false;
}

/* Read one message at most; return false when the client must go. */
bool client_read(struct luod_client *c)
{
	char cbuf[CMSG_SPACE(sizeof(int) * LUOD_PENDING_FDS)];
	struct luod_hdr hdr;
	struct iovec iov;
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	size_t want;
	ssize_t n;

	if (c->in_len < sizeof(hdr)) {
		want = sizeof(hdr) - c->in_len;
	} else {
		memcpy(&hdr, c->in, sizeof(hdr));
		want = sizeof(hdr) + hdr.length - c->in_len;
	}
	iov.iov_base = c->in + c->in_len;
	iov.iov_len = want;
	n = recvmsg(c->sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;	/* gone; its sessions stay with luod */
	client_take_fds(c, &m);
	c->in_len += n;
	if (c->in_len == sizeof(hdr) && !header_ok(c))
		return true;
	memcpy(&hdr, c->in, sizeof(hdr));
	if (c->in_len == sizeof(hdr) + hdr.length) {
		dispatch(c);
		c->in_len = 0;
	}
	return true;
}
