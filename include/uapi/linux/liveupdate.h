/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Live Update Orchestrator (LUO) user space interface: /dev/liveupdate.
 *
 * Byte-compatible with the interface of the same name in upstream Linux:
 * the same device, ioctl type and numbers, and argument layouts.
 */
#ifndef _UAPI_LINUX_LIVEUPDATE_H
#define _UAPI_LINUX_LIVEUPDATE_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * DOC: General ioctl format
 *
 * Every ioctl takes a pointer to a struct whose first member is
 * ``__u32 size``, which user space sets to the size of the struct it was
 * built with. The kernel reads the fields it knows; bytes beyond them
 * must be zero (else ``E2BIG``), which is how a struct grows compatibly.
 * A size smaller than the struct's last mandatory field is ``EINVAL``;
 * one larger than 4096 bytes is ``E2BIG`` whatever the bytes are.
 *
 * Errors:
 *
 * - ``ENOTTY``: unknown ioctl
 * - ``E2BIG``: non-zero bytes beyond what the kernel knows
 * - ``EOPNOTSUPP``: a value this kernel does not support (a format from
 *   the previous kernel it cannot read)
 * - ``EINVAL``: a bad field (size, name, reserved not zero), or an
 *   operation on the wrong kind of session (a session being created
 *   accepts only PRESERVE_FD and GET_NAME, a retrieved one only
 *   RETRIEVE_FD, FINISH and GET_NAME; this is checked before the
 *   argument), or a session retrieved twice; for RETRIEVE_FD, a record
 *   of the file from the previous kernel that is malformed
 * - ``EIO``: RETRIEVE_FD of a file whose record from the previous kernel
 *   names memory that kernel did not preserve (a corrupt handover)
 * - ``ENOENT``: no such session or token (also after FINISH released
 *   the session's files); a file no handler preserves
 * - ``EEXIST``: the session name or token is taken
 * - ``EACCES``: a memfd open for reading or writing only: it would come
 *   back readable and writable
 * - ``ENOMEM``: out of memory
 * - ``EOVERFLOW``: a value does not fit
 * - ``EBUSY``: /dev/liveupdate is open already; a file is in a session
 *   already; finishing is refused because a file is still in use; the
 *   sessions were handed over already (a kexec reboot is under way)
 *
 * A RETRIEVE_FD that fails once the file's handler has taken over its
 * record is final: the file's memory is given back (once no device kept
 * running through the update may write it), and retrieving it again
 * fails the same way. One that fails before (``EOPNOTSUPP``; or
 * ``ENOMEM``, ``ENFILE`` or ``ENOSPC`` allocating or accounting for the
 * file before any of its memory is taken over: a strict overcommit
 * limit, say) may be retried, and finds the file intact.
 *
 * These are the errors upstream Linux returns, with four exceptions
 * made on purpose: a memfd not open for both reading and writing is
 * ``EACCES``, where upstream gives it back writable; an ioctl number
 * this kernel does not know is
 * ``ENOTTY``, as documented above, where upstream's code returns
 * ``EINVAL`` for numbers beyond its table; a non-zero ``reserved`` field
 * of LIVEUPDATE_SESSION_FINISH is ``EINVAL``, as "must be zero" means,
 * where upstream ignores it (so that the field can be given a meaning
 * later); and a size over 4096 bytes is ``E2BIG`` unread, where upstream
 * scans any size for zeroes.
 */

/* The ioctl type of /dev/liveupdate and of session file descriptors. */
#define LIVEUPDATE_IOCTL_TYPE		0xBA

/* Longest session name, including its terminating NUL. */
#define LIVEUPDATE_SESSION_NAME_LENGTH	64

/* The ioctl command numbers of /dev/liveupdate. */
enum {
	LIVEUPDATE_CMD_BASE = 0x00,
	LIVEUPDATE_CMD_CREATE_SESSION = LIVEUPDATE_CMD_BASE,
	LIVEUPDATE_CMD_RETRIEVE_SESSION = 0x01,
};

/* The ioctl command numbers of a session file descriptor. */
enum {
	LIVEUPDATE_CMD_SESSION_BASE = 0x40,
	LIVEUPDATE_CMD_SESSION_PRESERVE_FD = LIVEUPDATE_CMD_SESSION_BASE,
	LIVEUPDATE_CMD_SESSION_RETRIEVE_FD = 0x41,
	LIVEUPDATE_CMD_SESSION_FINISH = 0x42,
	LIVEUPDATE_CMD_SESSION_GET_NAME = 0x43,
};

/**
 * struct liveupdate_ioctl_create_session - LIVEUPDATE_IOCTL_CREATE_SESSION
 * @size: sizeof(struct liveupdate_ioctl_create_session)
 * @fd: output; the new session's file descriptor (close-on-exec)
 * @name: input; the session's name, NUL-terminated, unique among the
 *	  sessions this kernel will hand over
 *
 * Create a session whose files are handed over to the next kernel.
 * Closing its file descriptor before the reboot unpreserves them all.
 */
struct liveupdate_ioctl_create_session {
	__u32		size;
	__s32		fd;
	__u8		name[LIVEUPDATE_SESSION_NAME_LENGTH];
};

#define LIVEUPDATE_IOCTL_CREATE_SESSION					\
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_CREATE_SESSION)

/**
 * struct liveupdate_ioctl_retrieve_session - LIVEUPDATE_IOCTL_RETRIEVE_SESSION
 * @size: sizeof(struct liveupdate_ioctl_retrieve_session)
 * @fd: output; the session's file descriptor (close-on-exec)
 * @name: input; the name the previous kernel's session had
 *
 * Take a session the previous kernel handed over. Each session can be
 * retrieved once.
 */
struct liveupdate_ioctl_retrieve_session {
	__u32		size;
	__s32		fd;
	__u8		name[LIVEUPDATE_SESSION_NAME_LENGTH];
};

#define LIVEUPDATE_IOCTL_RETRIEVE_SESSION				\
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_RETRIEVE_SESSION)

/**
 * struct liveupdate_session_preserve_fd - LIVEUPDATE_SESSION_PRESERVE_FD
 * @size: sizeof(struct liveupdate_session_preserve_fd)
 * @fd: input; the file descriptor to preserve
 * @token: input; the caller's name for it, unique within the session
 *
 * Preserve a file in a session being created. The next kernel gives it
 * back for @token with LIVEUPDATE_SESSION_RETRIEVE_FD.
 */
struct liveupdate_session_preserve_fd {
	__u32		size;
	__s32		fd;
	__aligned_u64	token;
};

#define LIVEUPDATE_SESSION_PRESERVE_FD					\
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_PRESERVE_FD)

/**
 * struct liveupdate_session_retrieve_fd - LIVEUPDATE_SESSION_RETRIEVE_FD
 * @size: sizeof(struct liveupdate_session_retrieve_fd)
 * @fd: output; a new file descriptor (close-on-exec) for the file
 * @token: input; the token the file was preserved under
 *
 * Take a file back from a retrieved session, in any order.
 */
struct liveupdate_session_retrieve_fd {
	__u32		size;
	__s32		fd;
	__aligned_u64	token;
};

#define LIVEUPDATE_SESSION_RETRIEVE_FD					\
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_RETRIEVE_FD)

/**
 * struct liveupdate_session_finish - LIVEUPDATE_SESSION_FINISH
 * @size: sizeof(struct liveupdate_session_finish)
 * @reserved: must be zero
 *
 * End a retrieved session: every file, retrieved or not, is asked
 * whether it can finish, and if all can, all are finished and whatever
 * nobody retrieved is released.
 */
struct liveupdate_session_finish {
	__u32		size;
	__u32		reserved;
};

#define LIVEUPDATE_SESSION_FINISH					\
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_FINISH)

/**
 * struct liveupdate_session_get_name - LIVEUPDATE_SESSION_GET_NAME
 * @size: sizeof(struct liveupdate_session_get_name)
 * @reserved: must be zero
 * @name: output; the session's name, NUL-terminated and zero-padded
 *
 * Give the name of the session this file descriptor is, outgoing or
 * retrieved: a program that inherited the descriptor can tell which
 * session it holds (/proc/PID/fd shows it too, but may shorten it).
 */
struct liveupdate_session_get_name {
	__u32		size;
	__u32		reserved;
	__u8		name[LIVEUPDATE_SESSION_NAME_LENGTH];
};

#define LIVEUPDATE_SESSION_GET_NAME					\
	_IO(LIVEUPDATE_IOCTL_TYPE, LIVEUPDATE_CMD_SESSION_GET_NAME)

#endif /* _UAPI_LINUX_LIVEUPDATE_H */
