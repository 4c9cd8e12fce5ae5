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
extern const ss_arch ss_arch_markov_order;

/* by ss_arch_id; NULL: not built yet */
static const ss_arch *const archs[SS_N_ARCHS] = {
	[SS_ARCH_GRU4REC] = &ss_arch_gru4rec,
	[SS_ARCH_LSTM] = &ss_arch_lstm,
	[SS_ARCH_POPULARITY] = &ss_arch_popularity,
	[SS_ARCH_CLIENT_FREQUENCY] = &ss_arch_client_frequency,
	[SS_ARCH_MARKOV] = &ss_arch_markov,
	[SS_ARCH_RANKER] = &ss_arch_ranker,
	[SS_ARCH_HYBRID] = &ss_arch_hybrid,
	/* SQL name "markov" too: found by name after markov, so only by blob id or ss_arch_for_unit */
	[SS_ARCH_MARKOV_ORDER] = &ss_arch_markov_order,
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

int
ss_arch_for_unit(int id, int unit)
{
	return id == SS_ARCH_MARKOV && unit == 1 ? SS_ARCH_MARKOV_ORDER : id;
}

/* whether archs[i] has the name of an earlier entry (a unit's variant) */
static int
repeated_name(int i)
{
	for (int j = 0; j < i; j++)
		if (archs[j] && strcmp(archs[j]->name, archs[i]->name) == 0)
			return 1;
	return 0;
}

const char *
ss_arch_names(void)
{
	static char names[256];

	if (names[0] == '\0')
		for (int i = 0; i < SS_N_ARCHS; i++)
			if (archs[i] && !repeated_name(i))
			{
				if (names[0])
					strcat(names, ", ");
				strcat(names, archs[i]->name);
			}
	return names;
}
