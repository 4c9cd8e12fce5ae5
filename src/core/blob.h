/*
 * blob.h - the model weight blob (format in models/FORMAT.md).
 *
 * The blob carries the model's dimensions and its parameter block; the
 * vocabularies and normalisation statistics live beside it in the catalog.
 * The decoder checks every count and length and the checksum, so a damaged
 * or truncated blob is rejected with a message, never read out of bounds.
 */
#ifndef SS_BLOB_H
#define SS_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define SS_BLOB_MAGIC "SSQM"
#define SS_BLOB_VERSION 1

/* Size in bytes of the blob of a model with these dimensions. */
size_t		ss_blob_size(const ss_dims *d);

/* Writes the blob into out (ss_blob_size bytes). */
void		ss_blob_encode(const ss_dims *d, const float *params, uint8_t *out);

/*
 * Reads a blob: fills *d and points *params at an ss_alloc'd copy of the
 * parameters.  Returns NULL on success or a message saying what is wrong.
 */
const char *ss_blob_decode(const uint8_t *blob, size_t len, ss_dims *d,
						   float **params);

/*
 * The same checks, but *params points into blob itself (which must outlive
 * it) when the parameters are 4-byte aligned there, else at an ss_alloc'd
 * copy: no 10 MB copy for a 10 MB model.
 */
const char *ss_blob_decode_in_place(const uint8_t *blob, size_t len, ss_dims *d,
									const float **params);

uint32_t	ss_crc32(const uint8_t *data, size_t len);

#endif
