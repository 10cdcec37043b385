// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of fat/'s pure parts: boot sector decoding and its checks,
 * names (UTF-8/UTF-16, 8.3 display, checksums, comparison, refusals),
 * timestamps and chain maps. No image, no FUSE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../fat/fat_internal.h"

/* A valid FAT32 boot sector for a 64 MiB volume, 512-byte clusters. */
static void make_fat32(struct fat_boot_disk *bs)
{
	memset(bs, 0, sizeof(*bs));
	bs->jump[0] = 0xeb;
	bs->jump[1] = 0x58;
	bs->jump[2] = 0x90;
	memcpy(bs->oem_name, "mkfs.fat", 8);
	put_le16(&bs->bytes_per_sector, 512);
	bs->sectors_per_cluster = 1;
	put_le16(&bs->reserved_sectors, 32);
	bs->fat_count = 2;
	bs->media = 0xf8;
	put_le32(&bs->total_sectors32, 131072);
	put_le32(&bs->ext.fat32.fat_size32, 1009);
	put_le32(&bs->ext.fat32.root_cluster, 2);
	put_le16(&bs->ext.fat32.fsinfo_sector, 1);
	put_le16(&bs->ext.fat32.backup_boot, 6);
	bs->ext.fat32.signature = 0x29;
	put_le32(&bs->ext.fat32.volume_id, 0x5eedc0de);
	memcpy(bs->ext.fat32.label, "BOOTFS     ", 11);
	bs->boot_signature[0] = 0x55;
	bs->boot_signature[1] = 0xaa;
}

/* A valid FAT16 boot sector for 32 MiB, 2 KiB clusters. */
static void make_fat16(struct fat_boot_disk *bs)
{
	memset(bs, 0, sizeof(*bs));
	bs->jump[0] = 0xeb;
	put_le16(&bs->bytes_per_sector, 512);
	bs->sectors_per_cluster = 4;
	put_le16(&bs->reserved_sectors, 4);
	bs->fat_count = 2;
	put_le16(&bs->root_entries, 512);
	bs->media = 0xf8;
	put_le32(&bs->total_sectors32, 65536);
	put_le16(&bs->fat_size16, 64);
	bs->ext.fat16.signature = 0x29;
	memcpy(bs->ext.fat16.label, "NO NAME    ", 11);
}

static void test_bpb_fat32(void **state)
{
	struct fat_boot_disk bs;
	struct fat_bpb bpb;
	char why[200];

	(void)state;
	make_fat32(&bs);
	assert_int_equal(fat_bpb_decode(&bs, 64 << 20, &bpb, why, sizeof(why)),
			 0);
	assert_int_equal(bpb.type, FAT32);
	assert_int_equal(bpb.cluster_size, 512);
	assert_int_equal(bpb.root_cluster, 2);
	assert_int_equal(bpb.fat_offset, 32 * 512);
	assert_int_equal(bpb.data_offset, (32 + 2 * 1009) * 512);
	assert_int_equal(bpb.cluster_count, 131072 - 32 - 2018);
	assert_int_equal(bpb.volume_id, 0x5eedc0de);
	assert_string_equal(bpb.label, "BOOTFS");
	assert_int_equal(bpb.fsinfo_sector, 1);
	assert_true(bpb.mirror);
	assert_int_equal(bpb.state_offset, 0x41);
}

static void test_bpb_fat16_and_12(void **state)
{
	struct fat_boot_disk bs;
	struct fat_bpb bpb;
	char why[200];

	(void)state;
	make_fat16(&bs);
	assert_int_equal(fat_bpb_decode(&bs, 32 << 20, &bpb, why, sizeof(why)),
			 0);
	assert_int_equal(bpb.type, FAT16);
	assert_int_equal(bpb.root_bytes, 512 * 32);
	assert_int_equal(bpb.root_offset, (4 + 128) * 512);
	assert_int_equal(bpb.state_offset, 0x25);
	assert_string_equal(bpb.label, ""); /* NO NAME means none */

	/* The same layout with fewer clusters is FAT12, by cluster count. */
	put_le32(&bs.total_sectors32, 0);
	put_le16(&bs.total_sectors16, 16384);
	put_le16(&bs.fat_size16, 12);
	assert_int_equal(fat_bpb_decode(&bs, 8 << 20, &bpb, why, sizeof(why)),
			 0);
	assert_int_equal(bpb.type, FAT12);
	assert_true(bpb.cluster_count < 4085);
}

struct bad_field {
	const char *what;
	void (*poke)(struct fat_boot_disk *bs);
	int err;
	const char *says;
};

static void bad_jump(struct fat_boot_disk *bs)
{
	bs->jump[0] = 0;
}
static void bad_bps(struct fat_boot_disk *bs)
{
	put_le16(&bs->bytes_per_sector, 300);
}
static void big_bps(struct fat_boot_disk *bs)
{
	put_le16(&bs->bytes_per_sector, 8192);
}
static void bad_spc(struct fat_boot_disk *bs)
{
	bs->sectors_per_cluster = 3;
}
static void zero_spc(struct fat_boot_disk *bs)
{
	bs->sectors_per_cluster = 0;
}
static void no_reserved(struct fat_boot_disk *bs)
{
	put_le16(&bs->reserved_sectors, 0);
}
static void no_fats(struct fat_boot_disk *bs)
{
	bs->fat_count = 0;
}
static void many_fats(struct fat_boot_disk *bs)
{
	bs->fat_count = 9;
}
static void bad_media(struct fat_boot_disk *bs)
{
	bs->media = 0x12;
}
static void no_total(struct fat_boot_disk *bs)
{
	put_le32(&bs->total_sectors32, 0);
}
static void too_big(struct fat_boot_disk *bs)
{
	put_le32(&bs->total_sectors32, 1u << 30);
}
static void no_fat_size(struct fat_boot_disk *bs)
{
	put_le32(&bs->ext.fat32.fat_size32, 0);
}
static void small_fat(struct fat_boot_disk *bs)
{
	put_le32(&bs->ext.fat32.fat_size32, 10);
}
static void huge_fat(struct fat_boot_disk *bs)
{
	put_le32(&bs->ext.fat32.fat_size32, 200000);
}
static void bad_root(struct fat_boot_disk *bs)
{
	put_le32(&bs->ext.fat32.root_cluster, 1);
}
static void far_root(struct fat_boot_disk *bs)
{
	put_le32(&bs->ext.fat32.root_cluster, 999999);
}
static void root_entries32(struct fat_boot_disk *bs)
{
	put_le16(&bs->root_entries, 512);
}
static void bad_version(struct fat_boot_disk *bs)
{
	put_le16(&bs->ext.fat32.version, 1);
}
static void bad_active(struct fat_boot_disk *bs)
{
	put_le16(&bs->ext.fat32.ext_flags, 0x80 | 5);
}

static void test_bpb_refusals(void **state)
{
	static const struct bad_field cases[] = {
		{"jump", bad_jump, -EINVAL, "no FAT boot sector"},
		{"bytes per sector", bad_bps, -EINVAL,
		 "bytes per sector is 300"},
		{"bytes per sector 8192", big_bps, -EINVAL, "bytes per sector"},
		{"sectors per cluster", bad_spc, -EINVAL, "power of two"},
		{"sectors per cluster 0", zero_spc, -EINVAL, "power of two"},
		{"reserved", no_reserved, -EUCLEAN, "reserved"},
		{"fat count 0", no_fats, -EUCLEAN, "FAT copies"},
		{"fat count 9", many_fats, -EUCLEAN, "FAT copies"},
		{"media", bad_media, -EUCLEAN, "media byte 0x12"},
		{"total 0", no_total, -EUCLEAN, "total sectors is 0"},
		{"total past partition", too_big, -EUCLEAN, "partition holds"},
		{"fat size 0", no_fat_size, -EUCLEAN, "FAT size is 0"},
		{"fat too small", small_fat, -EUCLEAN, "too small"},
		{"fats fill the volume", huge_fat, -EUCLEAN,
		 "fill the whole volume"},
		{"root cluster 1", bad_root, -EUCLEAN,
		 "root directory cluster"},
		{"root cluster far", far_root, -EUCLEAN,
		 "root directory cluster"},
		{"fat32 root entries", root_entries32, -EUCLEAN,
		 "root entries"},
		{"fat32 version", bad_version, -EUCLEAN, "version"},
		{"active fat", bad_active, -EUCLEAN, "active FAT"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fat_boot_disk bs;
		struct fat_bpb bpb;
		char why[200] = "";
		int ret;

		make_fat32(&bs);
		cases[i].poke(&bs);
		ret = fat_bpb_decode(&bs, 64 << 20, &bpb, why, sizeof(why));
		if (ret != cases[i].err || !strstr(why, cases[i].says))
			fail_msg("%s: got %d '%s', want %d '%s'", cases[i].what,
				 ret, why, cases[i].err, cases[i].says);
	}
}

static void test_bpb_fat16_too_many_clusters(void **state)
{
	struct fat_boot_disk bs;
	struct fat_bpb bpb;
	char why[200];

	(void)state;
	make_fat16(&bs);
	/* 70000 clusters need FAT32, but the layout is FAT16. */
	put_le32(&bs.total_sectors32, 4 * 70000 + 4 + 2 * 300 + 32);
	put_le16(&bs.fat_size16, 300);
	assert_int_equal(
		fat_bpb_decode(&bs, 1ull << 30, &bpb, why, sizeof(why)),
		-EUCLEAN);
	assert_non_null(strstr(why, "too many for FAT16"));
}

static void test_lfn_checksum(void **state)
{
	(void)state;
	/* Expected values from an independent implementation. */
	assert_int_equal(fat_lfn_checksum((const uint8_t *)"CONFIG  TXT"),
			 fat_lfn_checksum((const uint8_t *)"CONFIG  TXT"));
	assert_int_not_equal(fat_lfn_checksum((const uint8_t *)"CONFIG  TXT"),
			     fat_lfn_checksum((const uint8_t *)"CONFIG  TXU"));
	assert_int_equal(fat_lfn_checksum((const uint8_t *)"           "),
			 0xf7);
	assert_int_equal(fat_lfn_checksum((const uint8_t *)"A          "),
			 0x80);
	assert_int_equal(fat_lfn_checksum((const uint8_t *)"CONFIG  TXT"),
			 0x39);
}

static void test_sfn_format(void **state)
{
	char out[40];

	(void)state;
	fat_sfn_format((const uint8_t *)"CONFIG  TXT", 0, out, sizeof(out));
	assert_string_equal(out, "CONFIG.TXT");
	fat_sfn_format((const uint8_t *)"CONFIG  TXT",
		       CASE_LOWER_BASE | CASE_LOWER_EXT, out, sizeof(out));
	assert_string_equal(out, "config.txt");
	fat_sfn_format((const uint8_t *)"README  TXT", CASE_LOWER_EXT, out,
		       sizeof(out));
	assert_string_equal(out, "README.txt");
	fat_sfn_format((const uint8_t *)"OVERLAYS   ", CASE_LOWER_BASE, out,
		       sizeof(out));
	assert_string_equal(out, "overlays");
	fat_sfn_format((const uint8_t *)"\x05"
					"ABC    TXT",
		       0, out, sizeof(out));
	assert_string_equal(out, "\xcf\x83"
				 "ABC.TXT"); /* 0xe5 in CP437: σ */
	fat_sfn_format((const uint8_t *)"\x81"
					"BER    TXT",
		       0, out, sizeof(out));
	assert_string_equal(out, "\xc3\xbc"
				 "BER.TXT"); /* ü */
}

static void test_utf(void **state)
{
	uint16_t u[300];
	char s[800];

	(void)state;
	/* A character outside the BMP takes a surrogate pair. */
	assert_int_equal(fat_utf8_to_utf16("a\xf0\x9f\x8d\x93z", u, 300), 4);
	assert_int_equal(u[1], 0xd83c);
	assert_int_equal(u[2], 0xdf53);
	assert_int_equal(fat_utf16_to_utf8(u, 4, s, sizeof(s)), 6);
	assert_string_equal(s, "a\xf0\x9f\x8d\x93z");
	/* Lone surrogates, overlong and invalid UTF-8 are refused. */
	u[0] = 0xd800;
	u[1] = 'a';
	assert_int_equal(fat_utf16_to_utf8(u, 2, s, sizeof(s)), -EILSEQ);
	u[0] = 0xdc00;
	assert_int_equal(fat_utf16_to_utf8(u, 1, s, sizeof(s)), -EILSEQ);
	assert_int_equal(fat_utf8_to_utf16("\xc0\xaf", u, 300), -EILSEQ);
	assert_int_equal(fat_utf8_to_utf16("\xed\xa0\x80", u, 300), -EILSEQ);
	assert_int_equal(fat_utf8_to_utf16("\xff", u, 300), -EILSEQ);
	assert_int_equal(fat_utf8_to_utf16("abc", u, 2), -ENAMETOOLONG);
	assert_int_equal(fat_utf8_to_utf16("Grüße", u, 300), 5);
}

static void test_name_equal(void **state)
{
	(void)state;
	assert_true(fat_name_equal("config.txt", "CONFIG.TXT"));
	assert_true(fat_name_equal("Grüße", "GRÜSSE") == false);
	assert_true(fat_name_equal("grüße", "GRÜßE"));
	assert_true(fat_name_equal("Ωmega", "ωMEGA"));
	assert_true(fat_name_equal("Привет", "ПРИВЕТ"));
	assert_false(fat_name_equal("config.txt", "config.tx"));
	assert_false(fat_name_equal("a", "b"));
}

/*
 * fat_dir_find() compares names only where their hashes match: names
 * fat_name_equal() finds equal must hash the same, whatever their case,
 * script or stray bytes.
 */
static void test_name_hash(void **state)
{
	static const char *const pieces[][2] = {
		{"a", "A"},
		{"z", "Z"},
		{"\xc3\xa4", "\xc3\x84"},
		{"\xce\xb1", "\xce\x91"},
		{"\xd0\xbf", "\xd0\x9f"},
		{".", "."},
		{"\xff", "\xff"},
		{"\xc3", "\xc3"},
		{"7", "7"},
		{"\xc5\x82", "\xc5\x81"},
		{"~", "~"},
		{" ", " "},
	};
	const size_t np = sizeof(pieces) / sizeof(pieces[0]);
	uint32_t seed = 12345;
	unsigned equal = 0;

	(void)state;
	assert_int_equal(fat_name_hash("config.txt"),
			 fat_name_hash("CONFIG.TXT"));
	assert_int_equal(fat_name_hash("Привет"), fat_name_hash("ПРИВЕТ"));
	assert_int_not_equal(fat_name_hash("config.txt"),
			     fat_name_hash("config.tx"));
	for (int round = 0; round < 20000; round++) {
		char x[64] = "", y[64] = "";
		int len = 1 + round % 7;

		for (int i = 0; i < len; i++) {
			size_t k;

			seed = seed * 1103515245u + 12345u;
			k = (seed >> 8) % np;
			strcat(x, pieces[k][(seed >> 20) & 1]);
			/* y: the same piece in either case, or now and then
			   another piece */
			if ((seed >> 24) % 8 == 0)
				k = (k + 1) % np;
			strcat(y, pieces[k][(seed >> 22) & 1]);
		}
		if (fat_name_equal(x, y)) {
			equal++;
			assert_int_equal(fat_name_hash(x), fat_name_hash(y));
		}
	}
	assert_true(equal > 1000); /* the check ran on many equal pairs */
}

static void test_name_checks(void **state)
{
	char long_name[300];

	(void)state;
	assert_int_equal(fat_name_check("config.txt"), 0);
	assert_int_equal(fat_name_check("Grüße aus München.txt"), 0);
	assert_int_equal(fat_name_check("a\xf0\x9f\x8d\x93"), 0);
	assert_int_equal(fat_name_check("a:b"), -EINVAL);
	assert_int_equal(fat_name_check("a*b"), -EINVAL);
	assert_int_equal(fat_name_check("a?b"), -EINVAL);
	assert_int_equal(fat_name_check("a\\b"), -EINVAL);
	assert_int_equal(fat_name_check("a|b"), -EINVAL);
	assert_int_equal(fat_name_check("a\"b"), -EINVAL);
	assert_int_equal(fat_name_check("a<b>"), -EINVAL);
	assert_int_equal(fat_name_check("a\tb"), -EINVAL);
	assert_int_equal(fat_name_check("trailing."), -EINVAL);
	assert_int_equal(fat_name_check("trailing "), -EINVAL);
	assert_int_equal(fat_name_check("\xff"), -EINVAL);
	memset(long_name, 'x', 255);
	long_name[255] = '\0';
	assert_int_equal(fat_name_check(long_name), 0);
	long_name[255] = 'x';
	long_name[256] = '\0';
	assert_int_equal(fat_name_check(long_name), -ENAMETOOLONG);

	assert_true(fat_name_safe("ok name"));
	assert_false(fat_name_safe("a/b"));
	assert_false(fat_name_safe(".."));
	assert_false(fat_name_safe("."));
	assert_false(fat_name_safe(""));
	assert_false(fat_name_safe("bell\a"));
}

static void test_time_roundtrip(void **state)
{
	struct timespec ts = {.tv_sec = 1700000001, .tv_nsec = 550000000}, back;
	uint16_t date, time;
	uint8_t cs;

	(void)state;
	fat_time_from_timespec(&ts, &date, &time, &cs);
	fat_time_to_timespec(date, time, cs, &back);
	assert_int_equal(back.tv_sec, 1700000001);
	assert_int_equal(back.tv_nsec, 550000000);
	/* Without centiseconds: two-second resolution, rounded down. */
	fat_time_to_timespec(date, time, 0, &back);
	assert_int_equal(back.tv_sec, 1700000000);
	/* Before 1980 clamps to the first FAT date. */
	ts.tv_sec = 0;
	fat_time_from_timespec(&ts, &date, &time, &cs);
	assert_int_equal(date, (1 << 5) | 1);
	/* No date stored reads as the epoch. */
	fat_time_to_timespec(0, 0, 0, &back);
	assert_int_equal(back.tv_sec, 0);
}

/*
 * FAT's local time read back as mktime() would, in zones with and without
 * daylight saving (Lord Howe's is 30 minutes), every 7 h 13 min from 1980
 * to 2107; local times that do not exist or exist twice (the hour a clock
 * change skips or repeats) only have to land within that hour.
 */
static bool same_local(time_t t, const struct tm *want)
{
	struct tm lt;

	return localtime_r(&t, &lt) && lt.tm_year == want->tm_year &&
	       lt.tm_mon == want->tm_mon && lt.tm_mday == want->tm_mday &&
	       lt.tm_hour == want->tm_hour && lt.tm_min == want->tm_min &&
	       lt.tm_sec == want->tm_sec;
}

static void test_time_zones(void **state)
{
	static const char *const zones[] = {
		"UTC", "Europe/Berlin", "America/New_York",
		"Australia/Lord_Howe", "Asia/Kolkata"};
	char *saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	int checked = 0, ambiguous = 0;

	(void)state;
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		char path[128];

		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s",
			 zones[z]);
		if (access(path, R_OK) != 0 && strcmp(zones[z], "UTC") != 0)
			continue;
		setenv("TZ", zones[z], 1);
		tzset();
		for (int64_t t = 315532800 + 86400; t < 4354819200;
		     t += 25980) {
			struct timespec ts = {.tv_sec = (time_t)t}, back;
			struct tm tm, orig;
			uint16_t date, time;
			time_t want;

			fat_time_from_timespec(&ts, &date, &time, NULL);
			fat_time_to_timespec(date, time, 0, &back);
			memset(&tm, 0, sizeof(tm));
			tm.tm_year = 80 + (date >> 9);
			tm.tm_mon = ((date >> 5) & 0x0f) - 1;
			tm.tm_mday = date & 0x1f;
			tm.tm_hour = time >> 11;
			tm.tm_min = (time >> 5) & 0x3f;
			tm.tm_sec = (time & 0x1f) * 2;
			tm.tm_isdst = -1;
			orig = tm;
			want = mktime(&tm);
			/* Another answer than mktime's only where the local
			 * time is the same (a repeated hour) or exists neither
			 * way (a skipped one). */
			if (back.tv_sec != want &&
			    (same_local(back.tv_sec, &orig) !=
				     same_local(want, &orig) ||
			     llabs((long long)(back.tv_sec - want)) > 3600))
				fail_msg("%s: %lld read back as %lld, mktime "
					 "says %lld",
					 zones[z], (long long)t,
					 (long long)back.tv_sec,
					 (long long)want);
			/* Even seconds of the same local time, but for a
			 * repeated hour, which reads as one of the two. */
			if (back.tv_sec != t && back.tv_sec != t - 1)
				ambiguous++;
			checked++;
		}
	}
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
	assert_true(checked > 100000);
	assert_true(ambiguous < checked / 1000);
}

static void test_map(void **state)
{
	struct fat_map map = {0};
	uint32_t left;

	(void)state;
	assert_int_equal(fat_map_append(&map, 10, 3), 0);
	assert_int_equal(fat_map_append(&map, 13, 2), 0); /* merges */
	assert_int_equal(map.run_count, 1);
	assert_int_equal(fat_map_append(&map, 100, 1), 0);
	assert_int_equal(fat_map_append(&map, 50, 4), 0);
	assert_int_equal(map.run_count, 3);
	assert_int_equal(map.clusters, 10);
	assert_int_equal(fat_map_lookup(&map, 0, &left), 10);
	assert_int_equal(left, 5);
	assert_int_equal(fat_map_lookup(&map, 4, &left), 14);
	assert_int_equal(left, 1);
	assert_int_equal(fat_map_lookup(&map, 5, &left), 100);
	assert_int_equal(fat_map_lookup(&map, 9, &left), 53);
	assert_int_equal(fat_map_last(&map), 53);
	fat_map_truncate(&map, 6);
	assert_int_equal(map.clusters, 6);
	assert_int_equal(map.run_count, 2);
	assert_int_equal(fat_map_last(&map), 100);
	fat_map_truncate(&map, 2);
	assert_int_equal(map.run_count, 1);
	assert_int_equal(fat_map_last(&map), 11);
	fat_map_truncate(&map, 0);
	assert_int_equal(map.run_count, 0);
	assert_int_equal(fat_map_last(&map), 0);
	fat_map_free(&map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bpb_fat32),
		cmocka_unit_test(test_bpb_fat16_and_12),
		cmocka_unit_test(test_bpb_refusals),
		cmocka_unit_test(test_bpb_fat16_too_many_clusters),
		cmocka_unit_test(test_lfn_checksum),
		cmocka_unit_test(test_sfn_format),
		cmocka_unit_test(test_utf),
		cmocka_unit_test(test_name_equal),
		cmocka_unit_test(test_name_hash),
		cmocka_unit_test(test_name_checks),
		cmocka_unit_test(test_time_roundtrip),
		cmocka_unit_test(test_time_zones),
		cmocka_unit_test(test_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
