// SPDX-License-Identifier: GPL-2.0
/*
 * libluod: the client side of the luod protocol (see luod.h). Calls are
 * blocking, with a receive and send timeout, and not thread-safe on one
 * connection.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "luod.h"

#define LUOD_CLIENT_TIMEOUT_SEC	10

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

int luod_connect(const char *path)
{
	struct timeval tv = { .tv_sec = LUOD_CLIENT_TIMEOUT_SEC };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int sock, ret;

	if (!path)
		path = LUOD_SOCKET_PATH;
	ret = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (ret < 0 || (size_t)ret >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(sock, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = -errno;
		close(sock);
		return ret;
	}
	return sock;
}

/* Send all of @iov; @fd_in (if >= 0) rides on the first byte. */
static int send_all(int sock, struct iovec *iov, int iovcnt, int fd_in)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = iovcnt };
	struct cmsghdr *cmsg;
	ssize_t n;

	if (fd_in >= 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd_in, sizeof(int));
	}
	while (msg.msg_iovlen) {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		while (msg.msg_iovlen && (size_t)n >= msg.msg_iov->iov_len) {
			n -= msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + n;
			msg.msg_iov->iov_len -= n;
		}
	}
	return 0;
}

static void close_fds(struct msghdr *msg)
{
	struct cmsghdr *c;
	size_t i, nr;
	int fd;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nr = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nr; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

/* Receive exactly @len bytes; collect at most one fd into *@fd. */
static int recv_all(int sock, void *buf, size_t len, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		struct iovec iov = { (char *)buf + done, len - done };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *c;

		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		c = CMSG_FIRSTHDR(&msg);
		if (c && c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)) && fd && *fd < 0 &&
		    !CMSG_NXTHDR(&msg, c)) {
			memcpy(fd, CMSG_DATA(c), sizeof(int));
		} else if (c) {
			close_fds(&msg);
			return -EPROTO;
		}
		done += n;
	}
	return 0;
}

/* Read and drop @len bytes of a reply too long for the caller. */
static int recv_discard(int sock, size_t len)
{
	char buf[512];
	int ret;

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		ret = recv_all(sock, buf, n, NULL);
		if (ret)
			return ret;
		len -= n;
	}
	return 0;
}

/**
 * luod_request - send one request and wait for its reply
 * @sock: from luod_connect()
 * @op: enum luod_op
 * @payload: @len bytes of request payload
 * @len: at most LUOD_MAX_REQUEST
 * @fd_in: a file descriptor to pass, or -1
 * @reply: buffer for the reply's payload, or NULL
 * @reply_max: its size
 * @reply_len: set to the reply payload's length, or NULL
 * @fd_out: set to a received file descriptor, or -1; or NULL
 *
 * Return: 0, the negative errno of luod's reply, or a local -errno
 * (-EPROTO for a reply that breaks the protocol, -EMSGSIZE for a reply
 * longer than @reply_max).
 */
int luod_request(int sock, uint16_t op, const void *payload, size_t len,
		 int fd_in, void *reply, size_t reply_max, size_t *reply_len,
		 int *fd_out)
{
	struct luod_hdr hdr = {
		.magic = LUOD_MAGIC, .version = LUOD_PROTO_VERSION,
		.opcode = op, .length = len,
	};
	struct iovec iov[2] = {
		{ &hdr, sizeof(hdr) }, { (void *)payload, len },
	};
	int ret, fd = -1;

	if (fd_out)
		*fd_out = -1;
	if (reply_len)
		*reply_len = 0;
	if (len > LUOD_MAX_REQUEST)
		return -EMSGSIZE;
	ret = send_all(sock, iov, len ? 2 : 1, fd_in);
	if (ret)
		return ret;
	ret = recv_all(sock, &hdr, sizeof(hdr), &fd);
	if (ret)
		goto out;
	if (hdr.magic != LUOD_MAGIC || hdr.version != LUOD_PROTO_VERSION ||
	    hdr.opcode != op || hdr.length > LUOD_MAX_REPLY || hdr.error < 0) {
		ret = -EPROTO;
		goto out;
	}
	if (hdr.length > reply_max || (hdr.length && !reply)) {
		ret = recv_discard(sock, hdr.length);
		if (!ret)
			ret = -EMSGSIZE;
		goto out;
	}
	ret = recv_all(sock, reply, hdr.length, &fd);
	if (ret)
		goto out;
	if (reply_len)
		*reply_len = hdr.length;
	ret = -hdr.error;
	if (!ret && fd >= 0 && fd_out) {
		*fd_out = fd;
		fd = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int session_req(int sock, uint16_t op, const char *name, uint32_t flags)
{
	struct luod_session_req req = { .flags = flags };
	size_t len = strlen(name);

	if (!len || len > LUOD_NAME_MAX)
		return -EINVAL;
	memcpy(req.name, name, len);
	return luod_request(sock, op, &req, sizeof(req), -1, NULL, 0, NULL,
			    NULL);
}

int luod_create_session(int sock, const char *name, uint32_t flags)
{
	return session_req(sock, LUOD_OP_CREATE_SESSION, name, flags);
}

int luod_retrieve_session(int sock, const char *name)
{
	return session_req(sock, LUOD_OP_RETRIEVE_SESSION, name, 0);
}

int luod_preserve_fd(int sock, int fd, uint64_t token)
{
	struct luod_token_req req = { .token = token };

	if (fd < 0)
		return -EBADF;
	return luod_request(sock, LUOD_OP_PRESERVE, &req, sizeof(req), fd,
			    NULL, 0, NULL, NULL);
}

int luod_retrieve_fd(int sock, uint64_t token)
{
	struct luod_token_req req = { .token = token };
	int ret, fd;

	ret = luod_request(sock, LUOD_OP_RETRIEVE, &req, sizeof(req), -1,
			   NULL, 0, NULL, &fd);
	if (ret)
		return ret;
	return fd < 0 ? -EPROTO : fd;
}

int luod_finish(int sock)
{
	return luod_request(sock, LUOD_OP_FINISH, NULL, 0, -1, NULL, 0, NULL,
			    NULL);
}

int luod_log(int sock, const char *line)
{
	size_t len = strlen(line);

	if (!len || len > LUOD_LOG_LINE_MAX)
		return -EINVAL;
	return luod_request(sock, LUOD_OP_LOG, line, len, -1, NULL, 0, NULL,
			    NULL);
}

/* Return: the number of bytes read into @buf (0 at the end), or -errno. */
ssize_t luod_get_log(int sock, uint64_t offset, void *buf, size_t len)
{
	struct luod_get_log_req req = { .offset = offset };
	size_t got;
	int ret;

	ret = luod_request(sock, LUOD_OP_GET_LOG, &req, sizeof(req), -1, buf,
			   len, &got, NULL);
	return ret ? ret : (ssize_t)got;
}

/* Return: the number of sessions written to @info, or -errno. */
int luod_list(int sock, struct luod_session_info *info, size_t max)
{
	size_t got, i;
	int ret;

	ret = luod_request(sock, LUOD_OP_LIST, NULL, 0, -1, info,
			   max * sizeof(*info), &got, NULL);
	if (ret)
		return ret;
	if (got % sizeof(*info))
		return -EPROTO;
	for (i = 0; i < got / sizeof(*info); i++)
		info[i].name[LUOD_NAME_MAX] = '\0';
	return got / sizeof(*info);
}

const char *luod_op_name(unsigned int op)
{
	static const char * const names[] = {
		[LUOD_OP_CREATE_SESSION] = "CREATE_SESSION",
		[LUOD_OP_RETRIEVE_SESSION] = "RETRIEVE_SESSION",
		[LUOD_OP_PRESERVE] = "PRESERVE",
		[LUOD_OP_RETRIEVE] = "RETRIEVE",
		[LUOD_OP_FINISH] = "FINISH",
		[LUOD_OP_LIST] = "LIST",
		[LUOD_OP_LOG] = "LOG",
		[LUOD_OP_GET_LOG] = "GET_LOG",
	};

	if (op < ARRAY_SIZE(names) && names[op])
		return names[op];
	return "UNKNOWN";
}

const char *luod_state_name(unsigned int state)
{
	switch (state) {
	case LUOD_SESSION_OUT:
		return "outgoing";
	case LUOD_SESSION_IN:
		return "incoming";
	default:
		return "unknown";
	}
}
