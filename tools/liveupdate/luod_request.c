// SPDX-License-Identifier: GPL-2.0
/*
 * Requests: decode one complete message of a client, act on it and put
 * the reply in the client's output buffer (see luod.h for the protocol).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "luod_internal.h"

void reply(struct luod_client *c, uint16_t op, int err, const void *payload,
	   size_t len, int fd)
{
	struct luod_hdr hdr = {
		.magic = LUOD_MAGIC, .version = LUOD_PROTO_VERSION,
		.opcode = op, .length = len, .error = err,
	};

	memcpy(c->out, &hdr, sizeof(hdr));
	if (len)
		memcpy(c->out + sizeof(hdr), payload, len);
	c->out_len = sizeof(hdr) + len;
	c->out_off = 0;
	c->out_fd = fd;
}

static int parse_session_req(const void *p, size_t len, bool create,
			     struct luod_session_req *req)
{
	if (len != sizeof(*req))
		return -EINVAL;
	memcpy(req, p, sizeof(*req));
	if (req->reserved || (req->flags & ~(create ? LUOD_SESSION_ATTACH : 0)))
		return -EINVAL;
	if (!name_valid(req->name, sizeof(req->name)))
		return -EINVAL;
	if (!strcmp(req->name, LUOD_SESSION))
		return -EPERM;
	return 0;
}

static int count_sessions(void)
{
	int nr = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(luod.sessions); i++)
		nr += luod.sessions[i].used;
	return nr;
}

static int op_create(struct luod_client *c, const void *p, size_t len)
{
	struct luod_session_req req;
	struct luod_session *s;
	int ret, fd = -1;

	ret = parse_session_req(p, len, true, &req);
	if (ret)
		return ret;
	s = session_find(req.name, LUOD_SESSION_OUT);
	if (s) {
		if (!(req.flags & LUOD_SESSION_ATTACH))
			return -EEXIST;
		c->cur = s->id;
		return 0;
	}
	if (count_sessions() >= LUOD_MAX_SESSIONS)
		return -ENOSPC;
	if (!luod.no_device) {
		fd = libluo_create_session(luod.luo, req.name);
		if (fd < 0)
			return fd;
	}
	s = session_add(req.name, LUOD_SESSION_OUT, fd);
	if (!s) {
		if (fd >= 0)
			close(fd);
		return -ENOSPC;
	}
	c->cur = s->id;
	state_save();
	msg("pid %d created session '%s'", c->pid, s->name);
	return 0;
}

static int op_retrieve_session(struct luod_client *c, const void *p, size_t len)
{
	struct luod_session_req req;
	struct luod_session *s;
	int ret, fd;

	ret = parse_session_req(p, len, false, &req);
	if (ret)
		return ret;
	s = session_find(req.name, LUOD_SESSION_IN);
	if (!s && luod.no_device) {
		/* Testing: a session made in this run stands in for one. */
		s = session_find(req.name, LUOD_SESSION_OUT);
		if (!s)
			return -ENOENT;
	}
	if (!s) {
		if (count_sessions() >= LUOD_MAX_SESSIONS)
			return -ENOSPC;
		fd = libluo_retrieve_session(luod.luo, req.name);
		if (fd < 0)
			return fd;
		s = session_add(req.name, LUOD_SESSION_IN, fd);
		if (!s) {
			close(fd);
			return -ENOSPC;
		}
		msg("pid %d retrieved session '%s'", c->pid, s->name);
	}
	c->cur = s->id;
	return 0;
}

static int parse_token(const void *p, size_t len, uint64_t *token)
{
	struct luod_token_req req;

	if (len != sizeof(req))
		return -EINVAL;
	memcpy(&req, p, sizeof(req));
	*token = req.token;
	return 0;
}

static int op_preserve(struct luod_client *c, const void *p, size_t len,
		       int fd)
{
	struct luod_session *s = session_by_id(c->cur);
	uint64_t token;
	int ret;

	ret = parse_token(p, len, &token);
	if (ret)
		return ret;
	if (!s)
		return -ENOENT;
	if (s->state != LUOD_SESSION_OUT)
		return -EINVAL;
	if (c->nr_preserved >= luod.max_fds)
		return -EMFILE;
	if (session_file(s, token))
		return -EEXIST;
	if (!luod.no_device) {
		ret = libluo_preserve_fd(s->fd, fd, token);
		if (ret)
			return ret;
	}
	if (!session_file_add(s, token, luod.no_device ? fd : -1)) {
		/* Out of memory: LUO holds it, but we cannot count it. */
		return -ENOMEM;
	}
	c->nr_preserved++;
	state_save();
	return luod.no_device ? 1 : 0;	/* 1: the fd is kept */
}

static int op_retrieve(struct luod_client *c, const void *p, size_t len,
		       int *fd_out)
{
	struct luod_session *s = session_by_id(c->cur);
	struct luod_file *f;
	uint64_t token;
	int ret, fd;

	ret = parse_token(p, len, &token);
	if (ret)
		return ret;
	if (!s)
		return -ENOENT;
	f = session_file(s, token);
	if (f && f->fd >= 0) {
		*fd_out = f->fd;
		return 0;
	}
	/* --no-device keeps every preserved fd, so only real ones get here. */
	if (s->state != LUOD_SESSION_IN || s->fd < 0)
		return s->state == LUOD_SESSION_IN ? -ENOENT : -EINVAL;
	fd = libluo_retrieve_fd(s->fd, token);
	if (fd < 0)
		return fd;
	f = session_file_add(s, token, fd);
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	*fd_out = fd;
	return 0;
}

static int op_finish(struct luod_client *c, size_t len)
{
	struct luod_session *s = session_by_id(c->cur);
	int ret;

	if (len)
		return -EINVAL;
	if (!s)
		return -ENOENT;
	/* Testing: --no-device finishes (drops) a session made in this run. */
	if (s->state != LUOD_SESSION_IN && !luod.no_device)
		return -EINVAL;
	if (s->fd >= 0) {
		ret = libluo_finish(s->fd);
		if (ret)
			return ret;
	}
	msg("pid %d finished session '%s'", c->pid, s->name);
	session_del(s);
	c->cur = 0;
	state_save();
	return 0;
}

static size_t op_list(struct luod_session_info *info)
{
	size_t i, nr = 0;

	for (i = 0; i < ARRAY_SIZE(luod.sessions); i++) {
		struct luod_session *s = &luod.sessions[i];

		if (!s->used)
			continue;
		memset(&info[nr], 0, sizeof(info[nr]));
		memcpy(info[nr].name, s->name, sizeof(info[nr].name));
		info[nr].state = s->state;
		info[nr].nr_files = s->state == LUOD_SESSION_IN ?
				    s->nr_handed : s->nr_files;
		nr++;
	}
	return nr * sizeof(*info);
}

static int op_log(struct luod_client *c, const char *p, size_t len)
{
	char line[LUOD_LOG_LINE_MAX + 64];
	size_t n, i;

	if (!len || len > LUOD_LOG_LINE_MAX)
		return -EINVAL;
	kmsg_drain();	/* keep the kernel's lines before this one */
	timestamp(line, sizeof(line));
	n = strlen(line);
	n += snprintf(line + n, sizeof(line) - n, "pid %d: ", c->pid);
	for (i = 0; i < len; i++)
		line[n++] = (p[i] < ' ' || p[i] == 0x7f) ? '?' : p[i];
	line[n++] = '\n';
	ring_append(&luod.ring, line, n);
	return 0;
}

static int op_get_log(const void *p, size_t len, size_t *off, size_t *n)
{
	struct luod_get_log_req req;

	if (len != sizeof(req))
		return -EINVAL;
	memcpy(&req, p, sizeof(req));
	if (!luod.prev_log)
		return -ENOENT;
	if (req.offset > luod.prev_log_len)
		return -EINVAL;
	*off = req.offset;
	*n = luod.prev_log_len - req.offset;
	if (*n > LUOD_MAX_REPLY)
		*n = LUOD_MAX_REPLY;
	return 0;
}

void dispatch(struct luod_client *c)
{
	static struct luod_session_info info[LUOD_MAX_SESSIONS];
	struct luod_hdr hdr;
	const uint8_t *p = c->in + sizeof(hdr);
	int ret = 0, fd_out = -1, fd_in = -1;
	size_t len, off = 0, n = 0;

	memcpy(&hdr, c->in, sizeof(hdr));
	len = hdr.length;

	/* An fd may come with PRESERVE only, and then exactly one. */
	if (c->fd_error || c->nr_fds > 1 ||
	    (hdr.opcode != LUOD_OP_PRESERVE && c->nr_fds)) {
		client_close_fds(c);
		reply(c, hdr.opcode, EINVAL, NULL, 0, -1);
		return;
	}
	if (hdr.opcode == LUOD_OP_PRESERVE) {
		if (!c->nr_fds) {
			reply(c, hdr.opcode, EBADF, NULL, 0, -1);
			return;
		}
		fd_in = c->fds[0];
		c->nr_fds = 0;
	}

	switch (hdr.opcode) {
	case LUOD_OP_CREATE_SESSION:
		ret = op_create(c, p, len);
		break;
	case LUOD_OP_RETRIEVE_SESSION:
		ret = op_retrieve_session(c, p, len);
		break;
	case LUOD_OP_PRESERVE:
		ret = op_preserve(c, p, len, fd_in);
		if (ret == 1) {
			fd_in = -1;	/* kept */
			ret = 0;
		}
		break;
	case LUOD_OP_RETRIEVE:
		ret = op_retrieve(c, p, len, &fd_out);
		break;
	case LUOD_OP_FINISH:
		ret = op_finish(c, len);
		break;
	case LUOD_OP_LIST:
		if (len) {
			ret = -EINVAL;
			break;
		}
		reply(c, hdr.opcode, 0, info, op_list(info), -1);
		return;
	case LUOD_OP_LOG:
		ret = op_log(c, (const char *)p, len);
		break;
	case LUOD_OP_GET_LOG:
		ret = op_get_log(p, len, &off, &n);
		if (!ret) {
			reply(c, hdr.opcode, 0, luod.prev_log + off, n, -1);
			return;
		}
		break;
	default:
		ret = -EOPNOTSUPP;
		break;
	}
	if (fd_in >= 0)
		close(fd_in);
	reply(c, hdr.opcode, -ret, NULL, 0, ret ? -1 : fd_out);
}
