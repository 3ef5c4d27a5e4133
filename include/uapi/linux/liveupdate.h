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
 * A size smaller than the struct's last mandatory field is ``EINVAL``.
 *
 * Errors:
 *
 * - ``ENOTTY``: unknown ioctl
 * - ``E2BIG``: non-zero bytes beyond what the kernel knows
 * - ``EOPNOTSUPP``: a value this kernel does not support (a file type
 *   no handler preserves, a format from the previous kernel it cannot
 *   read)
 * - ``EINVAL``: a bad field (size, name, reserved not zero), or an
 *   operation in the wrong state (a session retrieved twice)
 * - ``ENOENT``: no such session or token
 * - ``EEXIST``: the session name or token is taken
 * - ``ENOMEM``: out of memory
 * - ``EOVERFLOW``: a value does not fit
 * - ``EBUSY``: /dev/liveupdate is open already; a file is in a session
 *   already; finishing is refused because a file is still in use; the
 *   sessions were handed over already (a kexec reboot is under way)
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

#endif /* _UAPI_LINUX_LIVEUPDATE_H */
