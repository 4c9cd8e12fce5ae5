/*
 * load.c - one ordered SPI cursor over the source relation, fetched in
 * chunks, encoded into RawEvents as it streams (the raw rows are never all
 * in memory at once).
 */
#include "load.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#define FETCH_ROWS 10000

double
gap_feature(double seconds)
{
	double		days = seconds / 86400.0;

	return log1p(days > 0.0 ? days : 0.0);
}

static void
grow_events(RawEvents *r, int64 *cap)
{
	int64		c = *cap ? *cap * 2 : 65536;

	if (*cap == 0)
	{
		r->cat = palloc_extended(sizeof(int32) * c, MCXT_ALLOC_HUGE);
		r->feat = palloc_extended(sizeof(int32) * c * Max(r->n_cat, 1), MCXT_ALLOC_HUGE);
		r->num = palloc_extended(sizeof(float) * c * Max(r->n_numeric, 1), MCXT_ALLOC_HUGE);
	}
	else
	{
		r->cat = repalloc_huge(r->cat, sizeof(int32) * c);
		r->feat = repalloc_huge(r->feat, sizeof(int32) * c * Max(r->n_cat, 1));
		r->num = repalloc_huge(r->num, sizeof(float) * c * Max(r->n_numeric, 1));
	}
	*cap = c;
}

static void
grow_clients(RawEvents *r, int *cap)
{
	int			c = *cap ? *cap * 2 : 1024;

	if (c > 100000000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many clients in the source relation")));
	r->client_ids = *cap ? repalloc_huge(r->client_ids, sizeof(char *) * c)
		: palloc(sizeof(char *) * c);
	r->offsets = *cap ? repalloc_huge(r->offsets, sizeof(int64) * (c + 1))
		: palloc(sizeof(int64) * (c + 1));
	*cap = c;
}

RawEvents *
load_events(Oid relid, const ColumnSpec *cols)
{
	RawEvents  *r = palloc0(sizeof(RawEvents));
	StringInfoData q;
	SPIPlanPtr	plan;
	Portal		portal;
	int64		ev_cap = 0;
	int			cl_cap = 0;
	char	   *current = NULL;		/* client of the rows being read */
	int64		current_start = 0;
	double		prev_time = 0.0;
	const bool	has_gap = cols->time_kind != TIME_INTEGER;
	MemoryContext data_cxt = CurrentMemoryContext;
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "seqsales rows",
												  ALLOCSET_DEFAULT_SIZES);
	/* a row of the scan: client, target, time, categorical, numeric columns */
	Datum	   *values = palloc(sizeof(Datum) * (3 + cols->n_cat + cols->n_num));
	bool	   *nulls = palloc(sizeof(bool) * (3 + cols->n_cat + cols->n_num));

	r->n_cat = cols->n_cat;
	r->n_numeric = columns_n_numeric(cols);
	r->categories = strdict_new(256);
	r->values = palloc(sizeof(StrDict *) * Max(cols->n_cat, 1));
	for (int j = 0; j < cols->n_cat; j++)
		r->values[j] = strdict_new(256);

	initStringInfo(&q);
	columns_history_scan(cols, quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
														  get_rel_name(relid)), false, &q);
	plan = SPI_prepare(q.data, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", q.data, SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	MemoryContextSwitchTo(data_cxt);

	grow_clients(r, &cl_cap);
	for (;;)
	{
		uint64		n;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		MemoryContextSwitchTo(data_cxt);
		n = SPI_processed;
		if (n == 0)
			break;
		for (uint64 i = 0; i < n; i++)
		{
			char	   *client,
					   *category;
			double		t;
			int64		e = r->n_events;

			/*
			 * All columns at once (SPI_getbinval walks the row from its start
			 * for each column behind a text one); the text copies of this row
			 * live in row_cxt, reset per row.
			 */
			MemoryContextSwitchTo(row_cxt);
			heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
			client = TextDatumGetCString(values[0]);
			category = TextDatumGetCString(values[1]);
			t = DatumGetFloat8(values[2]);
			MemoryContextSwitchTo(data_cxt);
			r->rows_read++;
			if (current == NULL || strcmp(client, current) != 0)
			{
				/* close the previous client; drop it if it had one event */
				if (current != NULL)
				{
					if (e - current_start >= 2)
						r->offsets[++r->n_clients] = e;
					else
					{
						e = r->n_events = current_start;
						pfree(r->client_ids[r->n_clients]);
					}
				}
				if (r->n_clients + 1 >= cl_cap)
					grow_clients(r, &cl_cap);
				r->client_ids[r->n_clients] = pstrdup(client);
				r->offsets[r->n_clients] = e;
				current = r->client_ids[r->n_clients];
				current_start = e;
				r->clients_read++;
			}
			if (e >= ev_cap)
				grow_events(r, &ev_cap);
			r->cat[e] = strdict_intern(r->categories, category);
			for (int j = 0; j < cols->n_cat; j++)
			{
				Datum		d = values[3 + j];

				if (nulls[3 + j])
					r->feat[e * r->n_cat + j] = -1;
				else
				{
					MemoryContextSwitchTo(row_cxt);
					{
						char	   *s = TextDatumGetCString(d);

						MemoryContextSwitchTo(data_cxt);
						r->feat[e * r->n_cat + j] = strdict_intern(r->values[j], s);
					}
				}
			}
			for (int j = 0; j < cols->n_num; j++)
			{
				double		v = nulls[3 + cols->n_cat + j] ? NAN : DatumGetFloat8(values[3 + cols->n_cat + j]);

				r->num[e * r->n_numeric + j] = isfinite(v) ? (float) v : NAN;
			}
			if (has_gap)
				r->num[e * r->n_numeric + cols->n_num] =
					e > current_start ? (float) gap_feature(t - prev_time) : 0.0f;
			prev_time = t;
			r->n_events = e + 1;
			MemoryContextReset(row_cxt);
		}
		SPI_freetuptable(SPI_tuptable);
		/* the encoded events so far must fit, long before the model is built */
		check_training_memory(r->n_events * (int64) (12 + 4 * r->n_cat + 4 * r->n_numeric)
							  + (int64) r->n_clients * 64, "the encoded events read so far");
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	if (current != NULL)
	{
		if (r->n_events - current_start >= 2)
			r->offsets[++r->n_clients] = r->n_events;
		else
			r->n_events = current_start;
	}
	r->offsets[r->n_clients] = r->n_events;
	MemoryContextDelete(row_cxt);
	return r;
}
