/*
 * arch.c - the table of architectures (arch.h): one entry per file.
 */
#include "arch.h"

#include <string.h>

extern const ss_arch ss_arch_gru4rec;
extern const ss_arch ss_arch_lstm;
extern const ss_arch ss_arch_popularity;
extern const ss_arch ss_arch_client_frequency;
extern const ss_arch ss_arch_markov;
extern const ss_arch ss_arch_ranker;
extern const ss_arch ss_arch_hybrid;

/* by ss_arch_id; NULL: not built yet */
static const ss_arch *const archs[SS_N_ARCHS] = {
	[SS_ARCH_GRU4REC] = &ss_arch_gru4rec,
	[SS_ARCH_LSTM] = &ss_arch_lstm,
	[SS_ARCH_POPULARITY] = &ss_arch_popularity,
	[SS_ARCH_CLIENT_FREQUENCY] = &ss_arch_client_frequency,
	[SS_ARCH_MARKOV] = &ss_arch_markov,
	[SS_ARCH_RANKER] = &ss_arch_ranker,
	[SS_ARCH_HYBRID] = &ss_arch_hybrid,
};

const ss_arch *
ss_arch_of(const ss_dims *d)
{
	return d->arch >= 0 && d->arch < SS_N_ARCHS ? archs[d->arch] : NULL;
}

const ss_arch *
ss_arch_by_name(const char *name, int *id)
{
	for (int i = 0; i < SS_N_ARCHS; i++)
		if (archs[i] && strcmp(archs[i]->name, name) == 0)
		{
			*id = i;
			return archs[i];
		}
	return NULL;
}

const ss_arch *
ss_arch_by_blob_id(uint32_t blob_id, int *id)
{
	for (int i = 0; i < SS_N_ARCHS; i++)
		if (archs[i] && archs[i]->blob_id == blob_id)
		{
			*id = i;
			return archs[i];
		}
	return NULL;
}

const char *
ss_arch_names(void)
{
	static char names[256];

	if (names[0] == '\0')
		for (int i = 0; i < SS_N_ARCHS; i++)
			if (archs[i])
			{
				if (names[0])
					strcat(names, ", ");
				strcat(names, archs[i]->name);
			}
	return names;
}
