// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * POSIX ACLs as the kernel's ext4 keeps them, for a FUSE mount on which
 * the kernel leaves them to the file system: an access ACL and the mode
 * bits are two views of one thing (setting an ACL sets the mode; an ACL
 * the mode says all of is not stored; chmod rewrites the ACL's owner,
 * mask and other entries), and a directory's default ACL becomes a new
 * file's access ACL (and a new directory's default) in place of the
 * umask. ACLs travel in the xattr form (version 2, entries of tag, perm,
 * id); libext2fs stores them in ext4's own form.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ACL_ACCESS	"system.posix_acl_access"
#define ACL_DEFAULT	"system.posix_acl_default"
#define ACL_VERSION	2
#define ACL_MAX_ENTRIES 64

enum {
	TAG_USER_OBJ = 0x01,
	TAG_USER = 0x02,
	TAG_GROUP_OBJ = 0x04,
	TAG_GROUP = 0x08,
	TAG_MASK = 0x10,
	TAG_OTHER = 0x20,
};

struct acl_header_disk {
	le32_t version;
};
static_assert(sizeof(struct acl_header_disk) == 4, "ACL header");

struct acl_entry_disk {
	le16_t tag;
	le16_t perm;
	le32_t id;
};
static_assert(sizeof(struct acl_entry_disk) == 8, "ACL entry");

struct acl {
	int count;
	struct {
		uint16_t tag, perm;
		uint32_t id;
	} e[ACL_MAX_ENTRIES];
};

bool ext4_acl_name(const char *name)
{
	return strcmp(name, ACL_ACCESS) == 0 || strcmp(name, ACL_DEFAULT) == 0;
}

/* Parse and check: one each of USER_OBJ, GROUP_OBJ, OTHER; a MASK when
   there are named entries. */
static int parse(const void *value, size_t size, struct acl *a)
{
	const struct acl_header_disk *h = value;
	const struct acl_entry_disk *d = (const struct acl_entry_disk *)(h + 1);
	int user_obj = 0, group_obj = 0, other = 0, mask = 0, named = 0;

	if (size < sizeof(*h) || (size - sizeof(*h)) % sizeof(*d) ||
	    get_le32(h->version) != ACL_VERSION)
		return -EINVAL;
	a->count = (int)((size - sizeof(*h)) / sizeof(*d));
	if (a->count > ACL_MAX_ENTRIES)
		return -EINVAL;
	for (int i = 0; i < a->count; i++) {
		a->e[i].tag = get_le16(d[i].tag);
		a->e[i].perm = get_le16(d[i].perm);
		a->e[i].id = get_le32(d[i].id);
		if (a->e[i].perm & ~7u)
			return -EINVAL;
		switch (a->e[i].tag) {
		case TAG_USER_OBJ:
			user_obj++;
			break;
		case TAG_GROUP_OBJ:
			group_obj++;
			break;
		case TAG_OTHER:
			other++;
			break;
		case TAG_MASK:
			mask++;
			break;
		case TAG_USER:
		case TAG_GROUP:
			named++;
			break;
		default:
			return -EINVAL;
		}
	}
	if (user_obj != 1 || group_obj != 1 || other != 1 || mask > 1 ||
	    (named && !mask))
		return -EINVAL;
	return 0;
}

static size_t encode(const struct acl *a, uint8_t *out)
{
	struct acl_header_disk *h = (struct acl_header_disk *)out;
	struct acl_entry_disk *d = (struct acl_entry_disk *)(h + 1);

	put_le32(&h->version, ACL_VERSION);
	for (int i = 0; i < a->count; i++) {
		put_le16(&d[i].tag, a->e[i].tag);
		put_le16(&d[i].perm, a->e[i].perm);
		put_le32(&d[i].id, a->e[i].id);
	}
	return sizeof(*h) + (size_t)a->count * sizeof(*d);
}

static int find(const struct acl *a, uint16_t tag)
{
	for (int i = 0; i < a->count; i++)
		if (a->e[i].tag == tag)
			return i;
	return -1;
}

/* The mode bits an ACL stands for: the group's are the mask's if any. */
static mode_t mode_of(const struct acl *a)
{
	int g = find(a, TAG_MASK);

	if (g < 0)
		g = find(a, TAG_GROUP_OBJ);
	return (mode_t)(a->e[find(a, TAG_USER_OBJ)].perm << 6 |
			a->e[g].perm << 3 | a->e[find(a, TAG_OTHER)].perm);
}

/* The ACL's owner, mask (or group) and other entries from @mode. */
static void apply_mode(struct acl *a, mode_t mode)
{
	int g = find(a, TAG_MASK);

	if (g < 0)
		g = find(a, TAG_GROUP_OBJ);
	a->e[find(a, TAG_USER_OBJ)].perm = (mode >> 6) & 7;
	a->e[g].perm = (mode >> 3) & 7;
	a->e[find(a, TAG_OTHER)].perm = mode & 7;
}

static bool minimal(const struct acl *a)
{
	return a->count == 3;
}

int ext4_acl_set_access(const void *value, size_t size, mode_t *mode,
			bool *store)
{
	struct acl a;
	int ret = parse(value, size, &a);

	if (ret)
		return ret;
	*mode = (*mode & ~(mode_t)0777) | mode_of(&a);
	*store = !minimal(&a);
	return 0;
}

/* An ACL of @ino (a raw xattr value), or -ENODATA. */
static int read_acl(struct ext4_vol *vol, uint64_t ino, const char *name,
		    struct acl *a)
{
	uint8_t value[sizeof(struct acl_header_disk) +
		      ACL_MAX_ENTRIES * sizeof(struct acl_entry_disk)];
	ssize_t n = ext4_xattr_get_raw(vol, ino, name, value, sizeof(value));

	return n < 0 ? (int)n : parse(value, (size_t)n, a);
}

static int write_acl(struct ext4_vol *vol, uint64_t ino, const char *name,
		     const struct acl *a)
{
	uint8_t value[sizeof(struct acl_header_disk) +
		      ACL_MAX_ENTRIES * sizeof(struct acl_entry_disk)];

	return ext4_xattr_set_raw(vol, ino, name, value, encode(a, value));
}

int ext4_acl_chmod(struct ext4_vol *vol, uint64_t ino, mode_t mode)
{
	struct acl a;
	int ret = read_acl(vol, ino, ACL_ACCESS, &a);

	if (ret == -ENODATA || ret == -EOPNOTSUPP)
		return 0;
	if (ret)
		return ret;
	apply_mode(&a, mode);
	return write_acl(vol, ino, ACL_ACCESS, &a);
}

int ext4_acl_inherit(struct ext4_vol *vol, uint64_t dir, uint64_t ino,
		     mode_t *mode, mode_t umask)
{
	struct acl def, acc;
	int ret = read_acl(vol, dir, ACL_DEFAULT, &def);

	if (ret == -ENODATA || ret == -EOPNOTSUPP || ret == -EINVAL) {
		/* No default ACL: the umask does its work. */
		*mode &= ~umask | ~(mode_t)0777;
		return 0;
	}
	if (ret)
		return ret;
	if (S_ISDIR(*mode) && (ret = write_acl(vol, ino, ACL_DEFAULT, &def)))
		return ret;
	/* The new file's ACL: the default one, as the create mode allows. */
	acc = def;
	for (int i = 0; i < acc.count; i++) {
		uint16_t allow = acc.e[i].tag == TAG_USER_OBJ ? (*mode >> 6) & 7
				 : acc.e[i].tag == TAG_OTHER  ? *mode & 7
				 : acc.e[i].tag == TAG_MASK   ? (*mode >> 3) & 7
				 : acc.e[i].tag == TAG_GROUP_OBJ &&
						 find(&acc, TAG_MASK) < 0
					 ? (*mode >> 3) & 7
					 : 7;

		acc.e[i].perm &= allow;
	}
	*mode = (*mode & ~(mode_t)0777) | mode_of(&acc);
	return minimal(&acc) ? 0 : write_acl(vol, ino, ACL_ACCESS, &acc);
}
