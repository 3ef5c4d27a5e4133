// SPDX-License-Identifier: GPL-2.0
/*
 * libluo: the /dev/liveupdate ioctls, one call each (see libluo.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <linux/liveupdate.h>

#include "libluo.h"

int libluo_open(void)
{
	int fd = open(LUO_DEVICE, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int libluo_create_session(int luo, const char *name)
{
	struct liveupdate_ioctl_create_session arg = { .size = sizeof(arg) };

	snprintf((char *)arg.name, sizeof(arg.name), "%s", name);
	if (ioctl(luo, LIVEUPDATE_IOCTL_CREATE_SESSION, &arg))
		return -errno;
	return arg.fd;
}

int libluo_retrieve_session(int luo, const char *name)
{
	struct liveupdate_ioctl_retrieve_session arg = { .size = sizeof(arg) };

	snprintf((char *)arg.name, sizeof(arg.name), "%s", name);
	if (ioctl(luo, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &arg))
		return -errno;
	return arg.fd;
}

int libluo_preserve_fd(int session, int fd, uint64_t token)
{
	struct liveupdate_session_preserve_fd arg = {
		.size = sizeof(arg), .fd = fd, .token = token,
	};

	return ioctl(session, LIVEUPDATE_SESSION_PRESERVE_FD, &arg) ? -errno : 0;
}

int libluo_retrieve_fd(int session, uint64_t token)
{
	struct liveupdate_session_retrieve_fd arg = {
		.size = sizeof(arg), .token = token,
	};

	if (ioctl(session, LIVEUPDATE_SESSION_RETRIEVE_FD, &arg))
		return -errno;
	return arg.fd;
}

int libluo_finish(int session)
{
	struct liveupdate_session_finish arg = { .size = sizeof(arg) };

	return ioctl(session, LIVEUPDATE_SESSION_FINISH, &arg) ? -errno : 0;
}

int libluo_get_session_name(int session, char *buf, size_t len)
{
	struct liveupdate_session_get_name arg = { .size = sizeof(arg) };

	if (ioctl(session, LIVEUPDATE_SESSION_GET_NAME, &arg))
		return -errno;
	snprintf(buf, len, "%.*s", (int)sizeof(arg.name), (char *)arg.name);
	return 0;
}
