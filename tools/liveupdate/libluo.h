/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libluo: thin wrappers of the /dev/liveupdate ioctls (<linux/liveupdate.h>).
 * Each fills the ioctl's argument struct, sizes it and makes the call; it
 * returns a file descriptor or 0 on success and a negative errno on
 * failure, never -1 with errno set. luod and the live update selftests
 * share them.
 *
 * The errnos each call lists are its own; every ioctl can also fail with
 * -EBADF (a descriptor that is not open) and -ENOTTY (one of another
 * kind), and the "General ioctl format" of <linux/liveupdate.h> has the
 * rest.
 */
#ifndef _LIBLUO_H
#define _LIBLUO_H

#include <stddef.h>
#include <stdint.h>

#define LUO_DEVICE	"/dev/liveupdate"

/**
 * libluo_open() - open /dev/liveupdate
 *
 * Opens the device read-write and close-on-exec. It has one opener at a
 * time; sessions are made and retrieved through that descriptor.
 *
 * Return: the descriptor; -ENOENT if there is no device (a kernel without
 * CONFIG_LIVEUPDATE, or not booted with liveupdate=on); -EBUSY if it is
 * open already; -EACCES without the privilege; another -errno of open(2).
 */
int libluo_open(void);

/**
 * libluo_create_session() - LIVEUPDATE_IOCTL_CREATE_SESSION
 * @luo: the descriptor of /dev/liveupdate
 * @name: the session's name; cut to LIVEUPDATE_SESSION_NAME_LENGTH - 1
 *	  bytes if longer
 *
 * Return: the new session's descriptor (close-on-exec); -EEXIST if the
 * name is taken; -EBUSY once the sessions were handed over (a kexec
 * reboot is under way); -EINVAL for a bad name; -ENOMEM.
 */
int libluo_create_session(int luo, const char *name);

/**
 * libluo_retrieve_session() - LIVEUPDATE_IOCTL_RETRIEVE_SESSION
 * @luo: the descriptor of /dev/liveupdate
 * @name: the name the previous kernel's session had; cut as for
 *	  libluo_create_session()
 *
 * Return: the session's descriptor (close-on-exec); -ENOENT if the
 * previous kernel handed over no such session; -EINVAL if it was
 * retrieved already; -ENOMEM.
 */
int libluo_retrieve_session(int luo, const char *name);

/**
 * libluo_preserve_fd() - LIVEUPDATE_SESSION_PRESERVE_FD
 * @session: the descriptor of a session being created
 * @fd: the file to preserve
 * @token: the caller's name for it, unique within the session
 *
 * Return: 0; -EEXIST if @token is taken; -EBADF if @fd is not open;
 * -EBUSY if the file is in a session already, or the sessions were
 * handed over; -ENOENT if no handler preserves such a file; -EACCES for
 * a memfd not open for both reading and writing; -EINVAL on a retrieved
 * session; -ENOMEM; or the handler's own error.
 */
int libluo_preserve_fd(int session, int fd, uint64_t token);

/**
 * libluo_retrieve_fd() - LIVEUPDATE_SESSION_RETRIEVE_FD
 * @session: the descriptor of a retrieved session
 * @token: the token the file was preserved under
 *
 * Return: a new descriptor (close-on-exec) of the file; -ENOENT if there
 * is no such token, or the session was finished; -EBUSY if the file was
 * retrieved already; -EINVAL on a session being created.
 */
int libluo_retrieve_fd(int session, uint64_t token);

/**
 * libluo_finish() - LIVEUPDATE_SESSION_FINISH
 * @session: the descriptor of a retrieved session
 *
 * Finishes every file of the session and releases those not retrieved.
 * Finishing a finished session again does nothing and returns 0.
 *
 * Return: 0; -EBUSY if a file is still in use and the session cannot
 * finish yet; -EINVAL on a session being created.
 */
int libluo_finish(int session);

/**
 * libluo_get_session_name() - LIVEUPDATE_SESSION_GET_NAME
 * @session: the descriptor of a session, being created or retrieved
 * @buf: where to put the name, NUL-terminated
 * @len: the size of @buf; a longer name is cut to fit
 *
 * Return: 0, or only the errors every ioctl can have.
 */
int libluo_get_session_name(int session, char *buf, size_t len);

#endif /* _LIBLUO_H */
