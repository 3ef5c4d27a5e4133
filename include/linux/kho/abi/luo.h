/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live Update Orchestrator (LUO) wire format.
 */
#ifndef _LINUX_KHO_ABI_LUO_H
#define _LINUX_KHO_ABI_LUO_H

#include <linux/build_bug.h>
#include <linux/types.h>

/**
 * DOC: LUO wire format
 *
 * A contract between a kernel and the next: changing anything here means
 * bumping the version in %LUO_FDT_COMPATIBLE. A kernel that finds a
 * version it does not know refuses all incoming sessions with one log
 * line; their memory stays reserved.
 *
 * LUO hands over one KHO subtree named %LUO_FDT_NAME::
 *
 *   / {
 *           compatible = "luo-v1";
 *           live-updates = <u64: live updates since the last cold boot>;
 *           state = <struct kho_vmalloc: the state area>;
 *           state-size = <u64: bytes used in the state area>;
 *   };
 *
 * The state area, a preserved vmalloc area, holds a &struct luo_state_ser,
 * then for each session a &struct luo_session_ser followed by its files,
 * each a &struct luo_file_ser, then the global objects those files hold,
 * each a &struct luo_global_ser. LUO writes it inside reboot(), after
 * every file is frozen.
 */

#define LUO_FDT_NAME			"LUO"
#define LUO_FDT_COMPATIBLE		"luo-v1"
#define LUO_FDT_PROP_UPDATES		"live-updates"
#define LUO_FDT_PROP_STATE		"state"
#define LUO_FDT_PROP_STATE_SIZE		"state-size"

#define LUO_NAME_LENGTH			64
#define LUO_COMPAT_LENGTH		48

/**
 * struct luo_state_ser - head of the state area
 * @nr_sessions: sessions that follow
 * @nr_files: files in all of them
 * @nr_globals: global objects after the sessions
 *
 * Wire format: changing it means bumping %LUO_FDT_COMPATIBLE.
 */
struct luo_state_ser {
	u64 nr_sessions;
	u64 nr_files;
	u64 nr_globals;
} __packed;

/**
 * struct luo_session_ser - one session
 * @name: its name, NUL-terminated
 * @nr_files: files that follow
 *
 * Wire format: changing it means bumping %LUO_FDT_COMPATIBLE.
 */
struct luo_session_ser {
	u8 name[LUO_NAME_LENGTH];
	u64 nr_files;
} __packed;

/**
 * struct luo_file_ser - one file
 * @compatible: its handler's compatible, NUL-terminated
 * @token: the token user space preserved it under
 * @data: the handler's serialized data
 *
 * Wire format: changing it means bumping %LUO_FDT_COMPATIBLE.
 */
struct luo_file_ser {
	u8 compatible[LUO_COMPAT_LENGTH];
	u64 token;
	u64 data;
} __packed;

/**
 * struct luo_global_ser - one global object shared by files
 * @compatible: its compatible, NUL-terminated
 * @data: what its preserve returned
 * @users: how many handed-over files hold it
 *
 * Wire format: changing it means bumping %LUO_FDT_COMPATIBLE.
 */
struct luo_global_ser {
	u8 compatible[LUO_COMPAT_LENGTH];
	u64 data;
	u64 users;
} __packed;

static_assert(sizeof(struct luo_session_ser) == 72);
static_assert(sizeof(struct luo_file_ser) == 64);

#endif /* _LINUX_KHO_ABI_LUO_H */
