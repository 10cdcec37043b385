/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * On-disk integers: little-endian (FAT, ext4) and big-endian (the JBD2
 * journal). On-disk structures hold these byte-array wrappers, never native
 * integers, so a structure has no padding, no alignment needs and cannot be
 * read without a conversion.
 */
#ifndef RPIFS_ENDIAN_H
#define RPIFS_ENDIAN_H

#include <stdint.h>

typedef struct {
	uint8_t b[2];
} le16_t;

typedef struct {
	uint8_t b[4];
} le32_t;

typedef struct {
	uint8_t b[8];
} le64_t;

static inline uint16_t get_le16(le16_t v)
{
	return (uint16_t)(v.b[0] | v.b[1] << 8);
}

static inline uint32_t get_le32(le32_t v)
{
	return (uint32_t)v.b[0] | (uint32_t)v.b[1] << 8 |
	       (uint32_t)v.b[2] << 16 | (uint32_t)v.b[3] << 24;
}

static inline uint64_t get_le64(le64_t v)
{
	uint64_t r = 0;

	for (int i = 7; i >= 0; i--)
		r = r << 8 | v.b[i];
	return r;
}

static inline void put_le16(le16_t *p, uint16_t v)
{
	p->b[0] = (uint8_t)v;
	p->b[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(le32_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p->b[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_le64(le64_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p->b[i] = (uint8_t)(v >> (8 * i));
}

/* Helpers for byte buffers that are not described by a structure. */
static inline uint16_t load_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void store_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void store_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Big-endian wrappers, for the JBD2 journal. */
typedef struct {
	uint8_t b[2];
} be16_t;

typedef struct {
	uint8_t b[4];
} be32_t;

typedef struct {
	uint8_t b[8];
} be64_t;

static inline uint16_t get_be16(be16_t v)
{
	return (uint16_t)(v.b[0] << 8 | v.b[1]);
}

static inline uint32_t get_be32(be32_t v)
{
	return load_be32(v.b);
}

static inline uint64_t get_be64(be64_t v)
{
	uint64_t r = 0;

	for (int i = 0; i < 8; i++)
		r = r << 8 | v.b[i];
	return r;
}

static inline void put_be16(be16_t *p, uint16_t v)
{
	p->b[0] = (uint8_t)(v >> 8);
	p->b[1] = (uint8_t)v;
}

static inline void put_be32(be32_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p->b[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline void put_be64(be64_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p->b[i] = (uint8_t)(v >> (56 - 8 * i));
}

#endif
