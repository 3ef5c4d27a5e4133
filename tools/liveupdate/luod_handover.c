// SPDX-License-Identifier: GPL-2.0
/*
 * The handover: the state memfd (token 1 of the session "luod") that
 * names the sessions luod hands over, and the session "luod" itself, made
 * at startup and taken over from the previous luod after an update.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "luod_internal.h"

static uint32_t fnv1a(uint32_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len--) {
		h ^= *p++;
		h *= 16777619U;
	}
	return h;
}

/* ---- the state ---- */

static size_t state_serialize(uint8_t *slot, uint64_t seq)
{
	struct luod_state_hdr *hdr = (struct luod_state_hdr *)slot;
	struct luod_state_entry *ent = (void *)(slot + sizeof(*hdr));
	uint32_t nr = 0, h;
	size_t i;

	memset(slot, 0, LUOD_STATE_SLOT);
	for (i = 0; i < ARRAY_SIZE(luod.sessions); i++) {
		struct luod_session *s = &luod.sessions[i];

		if (!s->used || s->state != LUOD_SESSION_OUT)
			continue;
		memcpy(ent[nr].name, s->name, sizeof(ent[nr].name));
		ent[nr].nr_files = s->nr_files;
		nr++;
	}
	hdr->magic = LUOD_STATE_MAGIC;
	hdr->version = LUOD_STATE_VERSION;
	hdr->hdr_size = sizeof(*hdr);
	hdr->seq = seq;
	hdr->nr_sessions = nr;
	hdr->entry_size = sizeof(*ent);
	h = fnv1a(2166136261U, slot, sizeof(*hdr) + nr * sizeof(*ent));
	hdr->csum = h;
	return sizeof(*hdr) + nr * sizeof(*ent);
}

/* Write the slot not holding the newest state; then it is the newest. */
int state_save(void)
{
	static uint8_t slot[LUOD_STATE_SLOT];
	size_t len;
	off_t off;

	if (luod.state_fd < 0)
		return 0;
	luod.state_seq++;
	len = state_serialize(slot, luod.state_seq);
	off = (luod.state_seq & 1) * LUOD_STATE_SLOT;
	if (pwrite(luod.state_fd, slot, len, off) != (ssize_t)len) {
		msg("writing the state memfd failed: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Check one slot; return 0, -ENOENT (empty), -EOPNOTSUPP or -EINVAL. */
static int state_check_slot(const uint8_t *slot, const char **why)
{
	struct luod_state_hdr hdr;
	uint32_t csum;

	memcpy(&hdr, slot, sizeof(hdr));
	if (hdr.magic == 0 && hdr.seq == 0)
		return -ENOENT;
	if (hdr.magic != LUOD_STATE_MAGIC) {
		*why = "bad magic";
		return -EINVAL;
	}
	if (hdr.version != LUOD_STATE_VERSION) {
		*why = "unknown format version";
		return -EOPNOTSUPP;
	}
	if (hdr.hdr_size != sizeof(hdr) ||
	    hdr.entry_size != sizeof(struct luod_state_entry) ||
	    hdr.nr_sessions > LUOD_MAX_SESSIONS) {
		*why = "bad header";
		return -EINVAL;
	}
	csum = hdr.csum;
	hdr.csum = 0;
	if (fnv1a(fnv1a(2166136261U, &hdr, sizeof(hdr)), slot + sizeof(hdr),
		  hdr.nr_sessions * sizeof(struct luod_state_entry)) != csum) {
		*why = "bad checksum";
		return -EINVAL;
	}
	return 0;
}

/*
 * Read the state the previous luod left in @fd: the valid slot with the
 * higher sequence number. Entries go to @ent (LUOD_MAX_SESSIONS of them).
 * Return the number of entries, or -errno with @why set.
 */
int state_load(int fd, struct luod_state_entry *ent, uint64_t *seq,
	       const char **why)
{
	static uint8_t buf[LUOD_STATE_SIZE];
	const struct luod_state_hdr *hdr;
	int ret[2], best = -1, i;
	uint32_t j, nr;

	*why = "empty";
	if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
		*why = "short state file";
		return -EINVAL;
	}
	for (i = 0; i < 2; i++) {
		const char *w = NULL;

		ret[i] = state_check_slot(buf + i * LUOD_STATE_SLOT, &w);
		if (ret[i] == -EOPNOTSUPP) {
			*why = w;
			return -EOPNOTSUPP;
		}
		if (ret[i] == -EINVAL)
			*why = w;
		if (ret[i])
			continue;
		hdr = (const void *)(buf + i * LUOD_STATE_SLOT);
		if (best < 0 || hdr->seq >
		    ((const struct luod_state_hdr *)(buf + best * LUOD_STATE_SLOT))->seq)
			best = i;
	}
	if (best < 0)
		return ret[0] == -ENOENT && ret[1] == -ENOENT ? -ENOENT : -EINVAL;
	hdr = (const void *)(buf + best * LUOD_STATE_SLOT);
	nr = hdr->nr_sessions;
	memcpy(ent, buf + best * LUOD_STATE_SLOT + sizeof(*hdr),
	       nr * sizeof(*ent));
	for (j = 0; j < nr; j++)
		ent[j].name[LUOD_NAME_MAX] = '\0';
	*seq = hdr->seq;
	*why = NULL;
	return nr;
}

/* ---- handover ---- */

/* Take over what the previous luod handed over, if anything. */
void handover_in(void)
{
	static struct luod_state_entry ent[LUOD_MAX_SESSIONS];
	int sfd, state_fd = -1, log_fd = -1, nr, i, ret;
	const char *why;
	struct stat st;
	uint64_t seq;
	void *map;

	sfd = libluo_retrieve_session(luod.luo, LUOD_SESSION);
	if (sfd == -ENOENT) {
		msg("no session '%s' from a previous kernel: starting fresh",
		    LUOD_SESSION);
		return;
	}
	if (sfd < 0) {
		msg("retrieving session '%s' failed: %s", LUOD_SESSION,
		    strerror(-sfd));
		return;
	}
	state_fd = libluo_retrieve_fd(sfd, LUOD_TOKEN_STATE);
	if (state_fd < 0)
		msg("retrieving the previous state failed: %s",
		    strerror(-state_fd));
	log_fd = libluo_retrieve_fd(sfd, LUOD_TOKEN_LOG);
	if (log_fd < 0)
		msg("retrieving the previous log failed: %s", strerror(-log_fd));

	if (log_fd >= 0 && !fstat(log_fd, &st) && st.st_size > 0) {
		map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, log_fd, 0);
		if (map == MAP_FAILED) {
			msg("mapping the previous log failed: %s",
			    strerror(errno));
		} else {
			ret = ring_extract(map, st.st_size, &luod.prev_log,
					   &luod.prev_log_len, &why);
			if (ret)
				msg("refusing the previous log: %s (this luod reads log format %d)",
				    why ? why : strerror(-ret), LUOD_LOG_VERSION);
			munmap(map, st.st_size);
		}
	}

	if (state_fd >= 0) {
		nr = state_load(state_fd, ent, &seq, &why);
		if (nr == -EOPNOTSUPP)
			msg("refusing the previous state: %s (this luod reads state format %d); %s",
			    why, LUOD_STATE_VERSION,
			    "its sessions are not taken over");
		else if (nr < 0)
			msg("refusing the previous state: %s", why);
		for (i = 0; i < nr; i++) {
			struct luod_session *s;
			int fd;

			fd = libluo_retrieve_session(luod.luo, ent[i].name);
			if (fd < 0) {
				msg("session '%s' of the previous luod: retrieve failed: %s",
				    ent[i].name, strerror(-fd));
				continue;
			}
			s = session_add(ent[i].name, LUOD_SESSION_IN, fd);
			if (!s) {
				close(fd);
				continue;
			}
			s->nr_handed = ent[i].nr_files;
			msg("took over session '%s' (%u files)", s->name,
			    s->nr_handed);
		}
	}
	if (state_fd >= 0)
		close(state_fd);
	if (log_fd >= 0)
		close(log_fd);
	ret = libluo_finish(sfd);
	if (ret)
		msg("finishing session '%s' failed: %s", LUOD_SESSION,
		    strerror(-ret));
	close(sfd);
}

/* Make this luod's state and log memfds, and preserve them. */
int handover_out_setup(void)
{
	int log_fd, ret;

	luod.state_fd = memfd_create("luod-state", MFD_CLOEXEC);
	log_fd = memfd_create("luod-log", MFD_CLOEXEC);
	if (luod.state_fd < 0 || log_fd < 0)
		return -errno;
	if (ftruncate(luod.state_fd, LUOD_STATE_SIZE))
		return -errno;
	ret = ring_init(&luod.ring, log_fd, LUOD_LOG_SIZE);
	if (ret)
		return ret;
	state_save();
	if (luod.no_device) {
		close(log_fd);
		return 0;
	}
	luod.own_session = libluo_create_session(luod.luo, LUOD_SESSION);
	if (luod.own_session < 0)
		return luod.own_session;
	ret = libluo_preserve_fd(luod.own_session, luod.state_fd,
				 LUOD_TOKEN_STATE);
	if (!ret)
		ret = libluo_preserve_fd(luod.own_session, log_fd,
					 LUOD_TOKEN_LOG);
	close(log_fd);
	return ret;
}
