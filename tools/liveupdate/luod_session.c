// SPDX-License-Identifier: GPL-2.0
/*
 * The sessions luod holds, in and out, and the files kept in them. The
 * /dev/liveupdate ioctls that make, retrieve, fill and finish them are
 * libluo's (libluo.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "luod_internal.h"

bool name_valid(const char *name, size_t size)
{
	size_t len = strnlen(name, size), i;

	if (!len || len >= size || len > LUOD_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~' || name[i] == '/')
			return false;
	for (i = len; i < size; i++)
		if (name[i])
			return false;
	return true;
}

struct luod_session *session_find(const char *name, uint32_t state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(luod.sessions); i++)
		if (luod.sessions[i].used && luod.sessions[i].state == state &&
		    !strcmp(luod.sessions[i].name, name))
			return &luod.sessions[i];
	return NULL;
}

struct luod_session *session_by_id(uint64_t id)
{
	size_t i;

	if (!id)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(luod.sessions); i++)
		if (luod.sessions[i].used && luod.sessions[i].id == id)
			return &luod.sessions[i];
	return NULL;
}

struct luod_session *session_add(const char *name, uint32_t state, int fd)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(luod.sessions); i++) {
		struct luod_session *s = &luod.sessions[i];

		if (s->used)
			continue;
		memset(s, 0, sizeof(*s));
		s->used = true;
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->state = state;
		s->fd = fd;
		s->id = luod.next_id++;
		return s;
	}
	return NULL;
}

void session_del(struct luod_session *s)
{
	size_t i;

	for (i = 0; i < s->nr_files; i++)
		if (s->files[i].fd >= 0)
			close(s->files[i].fd);
	free(s->files);
	if (s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof(*s));
}

struct luod_file *session_file(struct luod_session *s, uint64_t token)
{
	size_t i;

	for (i = 0; i < s->nr_files; i++)
		if (s->files[i].token == token)
			return &s->files[i];
	return NULL;
}

struct luod_file *session_file_add(struct luod_session *s, uint64_t token,
				   int fd)
{
	if (s->nr_files == s->cap_files) {
		size_t cap = s->cap_files ? 2 * s->cap_files : 8;
		struct luod_file *f = realloc(s->files, cap * sizeof(*f));

		if (!f)
			return NULL;
		s->files = f;
		s->cap_files = cap;
	}
	s->files[s->nr_files].token = token;
	s->files[s->nr_files].fd = fd;
	return &s->files[s->nr_files++];
}
