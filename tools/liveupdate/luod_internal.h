/* SPDX-License-Identifier: GPL-2.0 */
/*
 * luod internals: what the daemon's files share. The protocol and the
 * client library are in luod.h, the /dev/liveupdate ioctls in libluo.h;
 * this header is for luod itself only.
 *
 *   luod.c		startup, the poll loop, the command line
 *   luod_log.c		luod's messages, the log ring, /dev/kmsg
 *   luod_session.c	the session table
 *   luod_handover.c	the state memfd and the session "luod"
 *   luod_request.c	decoding and answering requests
 *   luod_client.c	connections: accept, read, write, drop
 *
 * luod is single-threaded: everything below is touched from the poll loop
 * only, so nothing here is locked.
 */
#ifndef _LUOD_INTERNAL_H
#define _LUOD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libluo.h"
#include "luod.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define LUOD_SESSION		"luod"
#define LUOD_TOKEN_STATE	1
#define LUOD_TOKEN_LOG		2
#define LUOD_TICK_MS		200
#define LUOD_DEFAULT_MAX_FDS	1024
#define LUOD_DEFAULT_MAX_CLIENTS 64
#define LUOD_PENDING_FDS	4
#define LUOD_KMSG_TAIL		8
#define LUOD_KMSG_BUDGET	1024

/* The state memfd: two slots, each a header and the session entries. */
#define LUOD_STATE_MAGIC	0x5344554cU	/* "LUDS" */
#define LUOD_STATE_VERSION	1
#define LUOD_STATE_SLOT		32768
#define LUOD_STATE_SIZE		(2 * LUOD_STATE_SLOT)

struct luod_state_hdr {
	uint32_t	magic;
	uint16_t	version;
	uint16_t	hdr_size;
	uint64_t	seq;
	uint32_t	nr_sessions;
	uint32_t	entry_size;
	uint32_t	csum;		/* FNV-1a of header (csum 0) and entries */
	uint32_t	reserved;
};

struct luod_state_entry {
	char		name[LUOD_NAME_MAX + 1];
	uint32_t	nr_files;
	uint32_t	flags;
};

/* The log memfd: a header and a ring of text. */
#define LUOD_LOG_MAGIC		0x4c44554cU	/* "LUDL" */
#define LUOD_LOG_VERSION	1
#define LUOD_LOG_SIZE		(256 * 1024)

struct luod_log_hdr {
	uint32_t	magic;
	uint16_t	version;
	uint16_t	hdr_size;
	uint32_t	data_size;
	uint32_t	reserved;
	uint64_t	head;		/* bytes ever written; data at head % size */
};

struct luod_file {
	uint64_t	token;
	int		fd;		/* held: retrieved, or (--no-device) kept */
};

struct luod_session {
	bool		used;
	char		name[LUOD_NAME_MAX + 1];
	uint32_t	state;		/* enum luod_session_state */
	uint64_t	id;
	int		fd;		/* the LUO session, -1 with --no-device */
	uint32_t	nr_handed;	/* files the previous luod preserved */
	struct luod_file *files;
	size_t		nr_files;
	size_t		cap_files;
};

struct luod_client {
	int		sock;
	pid_t		pid;
	uint64_t	cur;		/* id of the current session, 0: none */
	unsigned int	nr_preserved;
	uint8_t		in[sizeof(struct luod_hdr) + LUOD_MAX_REQUEST];
	size_t		in_len;
	int		fds[LUOD_PENDING_FDS];
	int		nr_fds;
	bool		fd_error;
	uint8_t		out[sizeof(struct luod_hdr) + LUOD_MAX_REPLY];
	size_t		out_len;
	size_t		out_off;
	int		out_fd;
	bool		close_after;
};

struct luod_ring {
	uint8_t		*map;
	size_t		size;		/* of the whole mapping */
};

/* The daemon: its options and everything it holds. */
struct luod_daemon {
	const char	*socket_path;
	const char	*prev_log_file;
	unsigned int	max_fds;
	unsigned int	max_clients;
	bool		no_device;
	bool		no_kmsg;
	int		luo;
	int		own_session;
	int		state_fd;
	uint64_t	state_seq;
	struct luod_ring ring;
	int		kmsg;
	char		*prev_log;
	size_t		prev_log_len;
	struct luod_session sessions[LUOD_MAX_SESSIONS];
	uint64_t	next_id;
	struct luod_client **clients;
	unsigned int	nr_clients;
	int		listen_fd;
};

extern struct luod_daemon luod;

/* luod_log.c */
void timestamp(char *buf, size_t len);
void msg(const char *fmt, ...);
int ring_init(struct luod_ring *ring, int fd, size_t size);
void ring_append(struct luod_ring *ring, const char *buf, size_t len);
int ring_extract(const uint8_t *map, size_t size, char **text,
		 size_t *text_len, const char **why);
void kmsg_drain(void);
void kmsg_replay(void);

/* luod_session.c */
bool name_valid(const char *name, size_t size);
struct luod_session *session_find(const char *name, uint32_t state);
struct luod_session *session_by_id(uint64_t id);
struct luod_session *session_add(const char *name, uint32_t state, int fd);
void session_del(struct luod_session *s);
struct luod_file *session_file(struct luod_session *s, uint64_t token);
struct luod_file *session_file_add(struct luod_session *s, uint64_t token,
				   int fd);

/* luod_handover.c */
int state_save(void);
int state_load(int fd, struct luod_state_entry *ent, uint64_t *seq,
	       const char **why);
void handover_in(void);
int handover_out_setup(void);

/* luod_request.c */
void reply(struct luod_client *c, uint16_t op, int err, const void *payload,
	   size_t len, int fd);
void dispatch(struct luod_client *c);

/* luod_client.c */
void client_close_fds(struct luod_client *c);
void client_drop(unsigned int i);
void client_accept(void);
bool client_write(struct luod_client *c);
bool client_read(struct luod_client *c);

#endif /* _LUOD_INTERNAL_H */
