/* SPDX-License-Identifier: GPL-2.0 */
/*
 * luod: the live update daemon. Its wire protocol and the client library
 * (libluod.c) that services use to keep files across a live update.
 *
 * Protocol, version 1. A Unix stream socket carries messages; each is a
 * struct luod_hdr followed by hdr.length bytes of payload. All integers
 * are in host byte order (the socket is local). A request gets exactly
 * one reply with the same opcode; a reply's error is 0 or a positive
 * errno. A file descriptor travels as SCM_RIGHTS ancillary data on the
 * first byte of a PRESERVE request or of a RETRIEVE reply, never on
 * another message. luod handles one request a client at a time.
 *
 * Framing errors (bad magic, unsupported version, a length above
 * LUOD_MAX_REQUEST) are answered and the connection is then closed, as
 * the byte stream cannot be trusted any more; any other bad request is
 * answered with an error and the connection stays usable.
 */
#ifndef _LUOD_H
#define _LUOD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LUOD_SOCKET_PATH	"/run/luod.sock"

#define LUOD_MAGIC		0x444f554cU	/* "LUOD" */
#define LUOD_PROTO_VERSION	1

/* Longest session name, without its NUL (as LIVEUPDATE_SESSION_NAME_LENGTH - 1). */
#define LUOD_NAME_MAX		63
/* Longest payload of a request, and of a reply. */
#define LUOD_MAX_REQUEST	4096
#define LUOD_MAX_REPLY		32768
/* Longest LOG line, without its NUL. */
#define LUOD_LOG_LINE_MAX	1024
/* Most sessions luod holds at a time (in and out together). */
#define LUOD_MAX_SESSIONS	256

enum luod_op {
	LUOD_OP_CREATE_SESSION = 1,	/* struct luod_session_req */
	LUOD_OP_RETRIEVE_SESSION = 2,	/* struct luod_session_req */
	LUOD_OP_PRESERVE = 3,		/* struct luod_token_req + 1 fd */
	LUOD_OP_RETRIEVE = 4,		/* struct luod_token_req; reply: 1 fd */
	LUOD_OP_FINISH = 5,		/* empty */
	LUOD_OP_LIST = 6,		/* empty; reply: struct luod_session_info[] */
	LUOD_OP_LOG = 7,		/* text, 1..LUOD_LOG_LINE_MAX bytes, no NUL */
	LUOD_OP_GET_LOG = 8,		/* struct luod_get_log_req; reply: bytes */
	LUOD_OP_MAX = LUOD_OP_GET_LOG,
};

/**
 * struct luod_hdr - the fixed header of every message
 * @magic: LUOD_MAGIC
 * @version: LUOD_PROTO_VERSION
 * @opcode: enum luod_op
 * @length: bytes of payload that follow
 * @error: replies: 0 or a positive errno; requests: 0
 */
struct luod_hdr {
	uint32_t	magic;
	uint16_t	version;
	uint16_t	opcode;
	uint32_t	length;
	int32_t		error;
};

/* CREATE_SESSION: with this flag, a session luod holds already is taken. */
#define LUOD_SESSION_ATTACH	0x1U

/**
 * struct luod_session_req - CREATE_SESSION and RETRIEVE_SESSION
 * @flags: LUOD_SESSION_ATTACH (CREATE_SESSION only), else 0
 * @reserved: 0
 * @name: NUL-terminated, 1..LUOD_NAME_MAX printable characters other
 *	  than space and '/', zero after the NUL
 *
 * Either makes the session the connection's current one, which PRESERVE,
 * RETRIEVE and FINISH act on. Sessions belong to luod, not to the client:
 * they stay when the client disconnects.
 */
struct luod_session_req {
	uint32_t	flags;
	uint32_t	reserved;
	char		name[LUOD_NAME_MAX + 1];
};

/**
 * struct luod_token_req - PRESERVE and RETRIEVE
 * @token: the file's token within the current session
 */
struct luod_token_req {
	uint64_t	token;
};

/**
 * struct luod_get_log_req - GET_LOG
 * @offset: byte offset into the previous boot's log
 *
 * The reply holds up to LUOD_MAX_REPLY bytes from @offset; an empty
 * reply is the end. ENOENT: there is no previous log.
 */
struct luod_get_log_req {
	uint64_t	offset;
};

enum luod_session_state {
	LUOD_SESSION_OUT = 1,	/* created; handed over at the next update */
	LUOD_SESSION_IN = 2,	/* from the previous kernel; not finished */
};

/**
 * struct luod_session_info - one entry of a LIST reply
 * @name: NUL-terminated
 * @state: enum luod_session_state
 * @nr_files: files preserved (out) or handed over (in)
 */
struct luod_session_info {
	char		name[LUOD_NAME_MAX + 1];
	uint32_t	state;
	uint32_t	nr_files;
};

/* Client library: each call returns 0 (or an fd) on success, else -errno. */
int luod_connect(const char *path);
int luod_request(int sock, uint16_t op, const void *payload, size_t len,
		 int fd_in, void *reply, size_t reply_max, size_t *reply_len,
		 int *fd_out);
int luod_create_session(int sock, const char *name, uint32_t flags);
int luod_retrieve_session(int sock, const char *name);
int luod_preserve_fd(int sock, int fd, uint64_t token);
int luod_retrieve_fd(int sock, uint64_t token);
int luod_finish(int sock);
int luod_log(int sock, const char *line);
ssize_t luod_get_log(int sock, uint64_t offset, void *buf, size_t len);
int luod_list(int sock, struct luod_session_info *info, size_t max);
const char *luod_op_name(unsigned int op);
const char *luod_state_name(unsigned int state);

#endif /* _LUOD_H */
