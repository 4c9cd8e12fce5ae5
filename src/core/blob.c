/*
 * blob.c - encode / decode the weight blob (see blob.h, models/FORMAT.md).
 */
#include "blob.h"
#include "arch.h"

#include <string.h>
#include <zlib.h>

#include "simd.h"
#include "ss_alloc.h"

#define HEADER_FIXED 36			/* magic + 8 u32 fields */

/*
 * CRC-32 (IEEE 802.3, the one of zip and PNG) by zlib, whose crc32_z is
 * several times faster than a byte-wise table (5 ms instead of 30 ms for a
 * 10 MB model on the development machine) and is in every Debian system.
 */
uint32_t
ss_crc32(const uint8_t *data, size_t len)
{
	return (uint32_t) crc32_z(0L, data, len);
}

static size_t
header_size(const ss_dims *d)
{
	/* fixed part, emb_dim[0..F], feature_vocab[F], n_params (u64) */
	return HEADER_FIXED + 4 * (size_t) (d->n_features + 1) + 4 * (size_t) d->n_features + 8;
}

size_t
ss_blob_size(const ss_dims *d)
{
	return header_size(d) + 4 * (size_t) ss_param_count(d) + 4;
}

static uint8_t *
put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
	return p + 4;
}

void
ss_blob_encode(const ss_dims *d, const float *params, uint8_t *out)
{
	uint8_t    *p = out;
	uint64_t	n = (uint64_t) ss_param_count(d);

	memcpy(p, SS_BLOB_MAGIC, 4);
	p += 4;
	p = put_u32(p, SS_BLOB_VERSION);
	p = put_u32(p, ss_arch_of(d)->blob_id);
	p = put_u32(p, (uint32_t) d->n_classes);
	p = put_u32(p, (uint32_t) d->n_features);
	p = put_u32(p, (uint32_t) d->n_numeric);
	p = put_u32(p, (uint32_t) d->hidden);
	p = put_u32(p, (uint32_t) d->layers);
	p = put_u32(p, (uint32_t) d->attn);
	for (int j = 0; j <= d->n_features; j++)
		p = put_u32(p, (uint32_t) d->emb_dim[j]);
	for (int j = 0; j < d->n_features; j++)
		p = put_u32(p, (uint32_t) d->feature_vocab[j]);
	memcpy(p, &n, 8);
	p += 8;
	memcpy(p, params, 4 * n);
	p += 4 * n;
	put_u32(p, ss_crc32(out, (size_t) (p - out)));
}

static uint32_t
get_u32(const uint8_t *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return v;
}

static const char *
decode(const uint8_t *blob, size_t len, ss_dims *d, float **params, int in_place)
{
	const uint8_t *p = blob;
	uint32_t	version,
				arch,
				f[6];
	uint64_t	n;
	int			D;

	*params = NULL;
	memset(d, 0, sizeof(*d));
	if (len < HEADER_FIXED)
		return "weight blob is truncated (shorter than its header)";
	if (memcmp(p, SS_BLOB_MAGIC, 4) != 0)
		return "weight blob has a wrong magic number (not a seqsales model)";
	version = get_u32(p + 4);
	if (version != SS_BLOB_VERSION)
		return "weight blob has an unsupported format version";
	arch = get_u32(p + 8);
	if (ss_arch_by_blob_id(arch, &d->arch) == NULL)
		return "weight blob has an unknown architecture";
	for (int i = 0; i < 6; i++)
		f[i] = get_u32(p + 12 + 4 * i);
	if (f[0] < 1 || f[0] > 1000000 || f[1] > SS_MAX_FEATURES || f[2] > SS_MAX_NUMERIC ||
		f[3] < 1 || f[3] > 4096 || f[4] < 1 || f[4] > SS_MAX_LAYERS ||
		f[5] < 1 || f[5] > 4096)
		return "weight blob has a dimension out of range";
	d->n_classes = (int) f[0];
	d->n_features = (int) f[1];
	d->n_numeric = (int) f[2];
	d->hidden = (int) f[3];
	d->layers = (int) f[4];
	d->attn = (int) f[5];
	if (len < header_size(d) + 4)
		return "weight blob is truncated (shorter than its header)";
	p += HEADER_FIXED;
	D = d->n_numeric;
	for (int j = 0; j <= d->n_features; j++, p += 4)
	{
		uint32_t	e = get_u32(p);

		if (e < 1 || e > 800)
			return "weight blob has an embedding size out of range";
		d->emb_dim[j] = (int) e;
		D += (int) e;
	}
	for (int j = 0; j < d->n_features; j++, p += 4)
	{
		uint32_t	v = get_u32(p);

		if (v > 10000000)
			return "weight blob has a vocabulary size out of range";
		d->feature_vocab[j] = (int) v;
	}
	d->input_dim = D + ss_extra_inputs(d->arch);
	/* what the architecture cannot serve (the ranker's and hybrid's 4000 categories) */
	if (ss_arch_of(d)->check != NULL && ss_arch_of(d)->check(d) != NULL)
		return "weight blob has a dimension out of range";
	memcpy(&n, p, 8);
	p += 8;
	if (n != (uint64_t) ss_param_count(d))
		return "weight blob's parameter count does not match its dimensions";
	if ((uint64_t) len != (uint64_t) header_size(d) + 4 * n + 4)
		return "weight blob's length does not match its parameter count";
	if (get_u32(blob + len - 4) != ss_crc32(blob, len - 4))
		return "weight blob's checksum does not match (damaged data)";
	if (in_place && (uintptr_t) p % sizeof(float) == 0)
		*params = (float *) (uintptr_t) p;	/* read where they are (little-endian float32, as written) */
	else
	{
		*params = (float *) ss_alloc(sizeof(float) * (n > 0 ? n : 1));
		memcpy(*params, p, 4 * n);
	}
	if (!ss_vec_all_finite(*params, (size_t) n))
	{
		if ((const uint8_t *) *params != p)
			ss_free(*params);
		*params = NULL;
		return "weight blob holds a non-finite parameter";
	}
	return NULL;
}

const char *
ss_blob_decode(const uint8_t *blob, size_t len, ss_dims *d, float **params)
{
	return decode(blob, len, d, params, 0);
}

const char *
ss_blob_decode_in_place(const uint8_t *blob, size_t len, ss_dims *d, const float **params)
{
	float	   *p = NULL;
	const char *err = decode(blob, len, d, &p, 1);

	*params = p;
	return err;
}
