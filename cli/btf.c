/* SPDX-License-Identifier: MIT */
/*
 * btf.c -- `ringbuf tail --btf FILE --type NAME`: records decoded as the C
 * struct they are, from the BTF of a BPF object or of the kernel
 * (/sys/kernel/btf/vmlinux), with libbpf's BTF API.  Only the command uses
 * libbpf; the library stays free of it.
 *
 * A record shorter than the type is reported, never read past: every
 * access below is checked against the record's size.  Text: `field=value`
 * separated by spaces, nested structs in braces, arrays in brackets, char
 * arrays as quoted strings (escaped), enums by name; jsonl: one JSON object
 * per record with the decoded struct under the type's name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifdef RINGBUF_HAVE_BTF
#include <bpf/btf.h>

struct btf_dec {
	struct btf *btf;
	uint32_t id;   /* the record's type */
	uint32_t size; /* its size */
	const char *name;
};

static struct btf_dec g_dec;
static const unsigned char *g_end; /* the end of the record being printed */

bool btf_available(void)
{
	return true;
}

/* Open @file's BTF and find @type (a struct, union or typedef of one);
 * exits with a clear message on failure. */
void btf_open(const char *file, const char *type)
{
	int id;
	long size;

	errno = 0;
	g_dec.btf = btf__parse(file, NULL);
	if (!g_dec.btf || (uintptr_t)g_dec.btf >= (uintptr_t)-4095) {
		int e = errno ? errno : EINVAL;

		die(e == ENOENT ? EX_NOENT : EX_USAGE, "--btf %s: no BTF read (%s)", file,
		    strerror(e));
	}
	id = btf__find_by_name_kind(g_dec.btf, type, BTF_KIND_STRUCT);
	if (id < 0)
		id = btf__find_by_name_kind(g_dec.btf, type, BTF_KIND_UNION);
	if (id < 0)
		id = btf__find_by_name_kind(g_dec.btf, type, BTF_KIND_TYPEDEF);
	if (id < 0)
		die(EX_USAGE, "--type %s: no struct, union or typedef of that name in %s", type,
		    file);
	size = btf__resolve_size(g_dec.btf, (uint32_t)id);
	if (size <= 0)
		die(EX_USAGE, "--type %s: a type of no size", type);
	g_dec.id = (uint32_t)id;
	g_dec.size = (uint32_t)size;
	g_dec.name = type;
}

/* The type behind typedefs and qualifiers. */
static const struct btf_type *skip_mods(uint32_t *id)
{
	const struct btf_type *t = btf__type_by_id(g_dec.btf, *id);

	while (t && (btf_is_typedef(t) || btf_is_const(t) || btf_is_volatile(t) ||
		     btf_is_restrict(t) || btf_kind(t) == BTF_KIND_TYPE_TAG)) {
		*id = t->type;
		t = btf__type_by_id(g_dec.btf, *id);
	}
	return t;
}

/* @n bytes at @p as an unsigned little-endian (native) integer. */
static uint64_t load_u(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	if (n > 8)
		n = 8;
	if (p + n > g_end)
		return 0; /* a BTF that lies about its sizes: nothing past the record */
	memcpy(&v, p, n);
	return v;
}

static void put_str(const unsigned char *p, size_t n, bool json)
{
	putchar('"');
	for (size_t i = 0; i < n && p + i < g_end && p[i]; i++) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20 || c >= 0x7f)
			printf(json ? "\\u%04x" : "\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void put_value(uint32_t id, const unsigned char *p, uint32_t bit_off, uint32_t bits,
		      bool json, int depth);

static void put_members(const struct btf_type *t, const unsigned char *p, bool json, int depth)
{
	const struct btf_member *m = btf_members(t);
	bool braces = json || depth > 0; /* text: the record's own fields bare */

	if (braces)
		putchar('{');
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *name = btf__name_by_offset(g_dec.btf, m->name_off);
		uint32_t off = btf_member_bit_offset(t, (uint32_t)i);
		uint32_t bits = btf_member_bitfield_size(t, (uint32_t)i);

		if (i)
			fputs(json ? "," : " ", stdout);
		if (json)
			printf("\"%s\":", name && *name ? name : "_");
		else
			printf("%s=", name && *name ? name : "_");
		put_value(m->type, p + off / 8, off % 8, bits, json, depth + 1);
	}
	if (braces)
		putchar('}');
}

static void put_value(uint32_t id, const unsigned char *p, uint32_t bit_off, uint32_t bits,
		      bool json, int depth)
{
	const struct btf_type *t = skip_mods(&id);

	if (!t || depth > 16) {
		fputs("null", stdout);
		return;
	}
	if (btf_is_int(t)) {
		uint32_t enc = btf_int_encoding(t);
		uint32_t nbits = bits ? bits : btf_int_bits(t);
		uint64_t v = load_u(p, t->size);

		v >>= bit_off + btf_int_offset(t);
		if (nbits < 64)
			v &= (1ull << nbits) - 1;
		if (enc & BTF_INT_BOOL)
			fputs(v ? "true" : "false", stdout);
		else if ((enc & BTF_INT_SIGNED) && nbits < 64 && (v >> (nbits - 1)))
			printf("%" PRId64, (int64_t)(v | ~((1ull << nbits) - 1)));
		else if (enc & BTF_INT_SIGNED)
			printf("%" PRId64, (int64_t)v);
		else
			printf("%" PRIu64, v);
	} else if (btf_is_enum(t) || btf_is_enum64(t)) {
		uint64_t v = load_u(p, t->size);
		const char *name = NULL;

		if (t->size < 8)
			v &= (1ull << (8 * t->size)) - 1;
		for (int i = 0; i < btf_vlen(t) && !name; i++) {
			uint64_t ev = btf_is_enum(t) ? (uint32_t)btf_enum(t)[i].val
						     : btf_enum64_value(&btf_enum64(t)[i]);

			if (ev == v)
				name = btf__name_by_offset(g_dec.btf, btf_is_enum(t)
									 ? btf_enum(t)[i].name_off
									 : btf_enum64(t)[i].name_off);
		}
		if (name)
			printf(json ? "\"%s\"" : "%s", name);
		else
			printf("%" PRIu64, v);
	} else if (btf_is_ptr(t)) {
		printf(json ? "\"0x%" PRIx64 "\"" : "0x%" PRIx64, load_u(p, sizeof(void *)));
	} else if (btf_is_array(t)) {
		const struct btf_array *a = btf_array(t);
		uint32_t eid = a->type;
		const struct btf_type *e = skip_mods(&eid);
		long esz = btf__resolve_size(g_dec.btf, eid);

		if (e && btf_is_int(e) && e->size == 1 && !(btf_int_encoding(e) & BTF_INT_BOOL)) {
			put_str(p, a->nelems, json); /* a char array: a string */
		} else {
			putchar('[');
			for (uint32_t i = 0; i < a->nelems && esz > 0; i++) {
				if (i)
					putchar(',');
				put_value(a->type, p + (size_t)i * (size_t)esz, 0, 0, json, depth + 1);
			}
			putchar(']');
		}
	} else if (btf_is_struct(t) || btf_is_union(t)) {
		put_members(t, p, json, depth);
	} else if (btf_is_float(t)) {
		if ((const unsigned char *)p + t->size > g_end) {
			fputs("null", stdout);
		} else if (t->size == 4) {
			float f;

			memcpy(&f, p, 4);
			printf("%g", (double)f);
		} else if (t->size == 8) {
			double d;

			memcpy(&d, p, 8);
			printf("%g", d);
		} else {
			fputs("null", stdout);
		}
	} else {
		fputs("null", stdout);
	}
}

/* Print record @seq (@size bytes at @data) decoded; jsonl carries @meta
 * (its seq, size, recv_ns and source members, without braces). */
void btf_print(const void *data, size_t size, bool json, const char *meta, uint64_t seq)
{
	if (size < g_dec.size) {
		/* never a read past the record */
		if (json)
			printf("{%s,\"error\":\"%zu bytes, shorter than %s (%u bytes)\"}\n", meta, size,
			       g_dec.name, g_dec.size);
		else
			printf("record %" PRIu64 ": error: %zu bytes, shorter than %s (%u bytes)\n",
			       seq, size, g_dec.name, g_dec.size);
		return;
	}
	g_end = (const unsigned char *)data + size;
	if (json)
		printf("{%s,\"%s\":", meta, g_dec.name);
	put_value(g_dec.id, data, 0, 0, json, 0);
	fputs(json ? "}\n" : "\n", stdout);
}

#else /* !RINGBUF_HAVE_BTF */

bool btf_available(void)
{
	return false;
}

void btf_open(const char *file, const char *type)
{
	(void)file;
	(void)type;
	die(EX_UNSUPPORTED, "--btf: this ringbuf was built without libbpf (Debian: libbpf-dev)");
}

void btf_print(const void *data, size_t size, bool json, const char *meta, uint64_t seq)
{
	(void)data;
	(void)size;
	(void)json;
	(void)meta;
	(void)seq;
}

#endif
