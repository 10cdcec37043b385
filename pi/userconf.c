// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * userconf: "user:password" becomes "user:$6$salt$hash" (libcrypt, SHA-512,
 * a fresh random salt), the line Raspberry Pi OS's first boot reads from
 * userconf.txt. A line whose password is already a hash is kept. The
 * plaintext lives only in wiped memory. For images set up by cloud-init,
 * the same user goes into user-data.
 */
#include "userconf.h"
#include "../common/log.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_MAX 32
/* libxcrypt hashes passphrases of at most 512 bytes with the NUL. */
#define PASSWORD_MAX 511

static int refuse(const char *why)
{
	rpifs_log(RPIFS_WARN, "userconf: %s; write user:password", why);
	return -EINVAL;
}

/* Debian's rule for user names: ^[a-z][-a-z0-9_]*$, 32 at most. */
static bool valid_user(const char *u, size_t len)
{
	if (len == 0 || len > USER_MAX || u[0] < 'a' || u[0] > 'z')
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = u[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/*
 * A hash the guest's libcrypt takes: one of these methods, well formed.
 * (libxcrypt calls sha256crypt legacy; Raspberry Pi OS still accepts it.)
 */
static bool known_hash(const char *h, size_t len)
{
	static const char *const prefixes[] = {
		"$6$", "$5$", "$y$", "$gy$", "$7$", "$2b$", "$2y$",
	};
	char copy[512];
	int ok;

	if (len >= sizeof(copy))
		return false;
	memcpy(copy, h, len);
	copy[len] = '\0';
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (strncmp(copy, prefixes[i], strlen(prefixes[i])) != 0)
			continue;
		ok = crypt_checksalt(copy);
		return ok == CRYPT_SALT_OK || ok == CRYPT_SALT_METHOD_LEGACY;
	}
	return false;
}

/* The line without its final newline; the user and password parts. */
static int split(const struct buf *in, size_t *user_len, const char **pass,
		 size_t *pass_len)
{
	const char *p = (const char *)in->data;
	size_t len = in->len;
	const char *colon;

	/* One line: a final newline is fine, a second line is not. */
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (memchr(p, '\n', len))
		return refuse("more than one line");
	if (memchr(p, '\0', len))
		return refuse("a NUL byte in the line");
	colon = memchr(p, ':', len);
	if (!colon)
		return refuse("no ':' between user and password");
	*user_len = (size_t)(colon - p);
	*pass = colon + 1;
	*pass_len = len - *user_len - 1;
	if (*user_len == 0)
		return refuse("the user name is empty");
	if (!valid_user(p, *user_len))
		return refuse("the user name must be lower case letters, "
			      "digits, '-' or '_', start with a letter, and be "
			      "at most 32 characters");
	if (*pass_len == 0)
		return refuse("the password is empty");
	if (*pass_len > PASSWORD_MAX && (*pass)[0] != '$')
		return refuse("the password is longer than the 511 characters "
			      "crypt takes");
	if ((*pass)[0] == '$' && !known_hash(*pass, *pass_len))
		return refuse("the password starts with '$' but is not a hash "
			      "rpifs takes ($6$, $5$, $y$, ...)");
	return 0;
}

int userconf_check(const struct buf *in)
{
	const char *nl = memchr(in->data, '\n', in->len);
	struct buf line = *in;
	const char *pass;
	size_t user_len, pass_len;

	if (!nl) {
		/* Unfinished: refuse early what can only get longer. */
		const char *colon = memchr(in->data, ':', in->len);

		if (in->len > USERCONF_MAX)
			return refuse("the line is longer than 4096 bytes");
		if (colon &&
		    in->len - (size_t)(colon + 1 - (const char *)in->data) >
			    PASSWORD_MAX &&
		    colon[1] != '$')
			return refuse("the password is longer than the 511 "
				      "characters crypt takes");
		return 0;
	}
	if ((size_t)(nl - (const char *)in->data) + 1 < in->len)
		return refuse("more than one line");
	line.len = (size_t)(nl - (const char *)in->data) + 1;
	return split(&line, &user_len, &pass, &pass_len);
}

int userconf_make(const struct buf *in, char **line)
{
	const char *p = (const char *)in->data;
	size_t user_len, pass_len;
	const char *pass;
	struct crypt_data *cd = NULL;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	char *secret = NULL, *out = NULL;
	int ret;

	*line = NULL;
	ret = split(in, &user_len, &pass, &pass_len);
	if (ret)
		return ret;

	secret = malloc(pass_len + 1);
	if (!secret)
		return -ENOMEM;
	memcpy(secret, pass, pass_len);
	secret[pass_len] = '\0';

	if (secret[0] == '$') {
		/* Already a hash (split() checked it): stored as is. */
		ret = asprintf(&out, "%.*s:%s\n", (int)user_len, p, secret) < 0
			      ? -ENOMEM
			      : 0;
		goto out;
	}
	if (!crypt_gensalt_rn("$6$", 0, NULL, 0, setting, sizeof(setting))) {
		rpifs_log(RPIFS_ERR, "userconf: no random salt: %s",
			  strerror(errno));
		ret = -EIO;
		goto out;
	}
	cd = calloc(1, sizeof(*cd));
	if (!cd) {
		ret = -ENOMEM;
		goto out;
	}
	if (!crypt_r(secret, setting, cd) || cd->output[0] != '$') {
		rpifs_log(RPIFS_ERR, "userconf: hashing failed");
		ret = -EIO;
		goto out;
	}
	ret = asprintf(&out, "%.*s:%s\n", (int)user_len, p, cd->output) < 0
		      ? -ENOMEM
		      : 0;
out:
	explicit_bzero(secret, pass_len);
	free(secret);
	if (cd) {
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
	}
	*line = ret ? NULL : out;
	if (ret)
		free(out);
	return ret;
}

void userconf_user(const char *line, char *user, size_t size)
{
	size_t len = strcspn(line, ":\n");

	snprintf(user, size, "%.*s", (int)len, line);
}

#define BEGIN "# rpifs: the user from userconf (begin)"
#define USER_GROUPS                                                            \
	"users,adm,dialout,audio,netdev,video,plugdev,cdrom,games,input,gpio," \
	"spi,i2c,render,sudo"
#define END "# rpifs: the user from userconf (end)"

/* A top-level "users:" line: 1 with a block value, -1 inline, 0 not. */
static int users_key(const char *line, size_t len)
{
	if (len < 6 || strncmp(line, "users:", 6) != 0)
		return 0;
	for (size_t i = 6; i < len; i++) {
		if (line[i] == '#' || line[i] == '\n')
			return 1;
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return -1; /* users: [default] */
	}
	return 1;
}

/* user-data without rpifs's earlier block, and where a new one goes. */
struct user_data {
	struct buf text;
	size_t insert_at; /* after the users: line */
	bool have_key;
	bool indent_known;
	char indent[16]; /* of the users: list's items */
};

static int end_line(struct buf *b)
{
	return b->len && b->data[b->len - 1] != '\n' ? buf_append(b, "\n", 1)
						     : 0;
}

/* One line of the old text: copied, unless it is part of our old block. */
static int scan_line(struct user_data *ud, const char *p, size_t n,
		     bool *skipping)
{
	size_t ind = strspn(p, " ");
	int key, ret;

	if (*skipping) {
		if (strncmp(p, END, strlen(END)) == 0)
			*skipping = false;
		return 0;
	}
	if (strncmp(p, BEGIN, strlen(BEGIN)) == 0) {
		*skipping = true;
		return 0;
	}
	key = users_key(p, n);
	if (key < 0)
		return -ENOTSUP;
	ret = buf_append(&ud->text, p, n);
	if (ret)
		return ret;
	if (key > 0 && !ud->have_key) {
		ud->have_key = true;
		ret = end_line(&ud->text);
		ud->insert_at = ud->text.len;
	} else if (ud->have_key && !ud->indent_known && ind < n &&
		   p[ind] != '#' && p[ind] != '\n') {
		/* The list's own indentation, to match it. */
		ud->indent_known = true;
		if (p[ind] == '-' && ind < sizeof(ud->indent)) {
			memset(ud->indent, ' ', ind);
			ud->indent[ind] = '\0';
		}
	}
	return ret;
}

static int scan(struct user_data *ud, const char *old, size_t len)
{
	const char *p = old, *end = old + len;
	bool skipping = false;
	int ret = 0;

	while (p < end && !ret) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		ret = scan_line(ud, p, n, &skipping);
		p += n;
	}
	return ret;
}

static void user_block(const struct user_data *ud, const char *user,
		       const char *hash, char *block, size_t size)
{
	const char *in = ud->indent;

	if (ud->have_key)
		snprintf(block, size,
			 "%s\n%s- name: %s\n%s  groups: " USER_GROUPS "\n"
			 "%s  shell: /bin/bash\n%s  lock_passwd: false\n"
			 "%s  passwd: %s\n%s  sudo: ALL=(ALL) "
			 "NOPASSWD:ALL\n%s\n",
			 BEGIN, in, user, in, in, in, in, hash, in, END);
	else
		snprintf(block, size,
			 "%s\nusers:\n  - name: %s\n    groups: " USER_GROUPS
			 "\n"
			 "    shell: /bin/bash\n    lock_passwd: false\n"
			 "    passwd: %s\n    sudo: ALL=(ALL) "
			 "NOPASSWD:ALL\n%s\n",
			 BEGIN, user, hash, END);
}

int userconf_cloud_init(const char *old, size_t len, const char *user,
			const char *hash, char **out)
{
	struct user_data ud = {.indent = "  "};
	struct buf result = {0};
	char block[1024];
	int ret = scan(&ud, old, len);

	*out = NULL;
	if (!ret && hash && !ud.have_key) {
		ret = end_line(&ud.text);
		ud.insert_at = ud.text.len;
	}
	if (!ret && hash) {
		user_block(&ud, user, hash, block, sizeof(block));
		if ((ret = buf_append(&result, ud.text.data, ud.insert_at)) ==
			    0 &&
		    (ret = buf_append(&result, block, strlen(block))) == 0)
			ret = buf_append(&result, ud.text.data + ud.insert_at,
					 ud.text.len - ud.insert_at);
	} else if (!ret) {
		ret = buf_append(&result, ud.text.data, ud.text.len);
	}
	/* NUL-terminated, also when empty. */
	if (!ret)
		ret = buf_append(&result, "", 1);
	buf_free(&ud.text);
	if (ret) {
		buf_free(&result);
		return ret;
	}
	*out = (char *)result.data;
	return 0;
}
