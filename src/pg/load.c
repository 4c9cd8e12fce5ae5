/*
 * load.c - one ordered scan of the source relation, each row encoded into
 * RawEvents as the executor produces it: seqsales keeps no raw row (the
 * executor's sort does, within work_mem or on disk, when no index gives
 * the order).
 */
#include "load.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "../core/encode.h"
#include "row_scan.h"

/* rows between two checks of the memory ceiling */
#define CHECK_ROWS 10000

static void
grow_events(RawEvents *r, int64 *cap)
{
	int64		c = *cap ? *cap * 2 : 65536;

	if (*cap == 0)
	{
		r->cat = palloc_extended(sizeof(int32) * c, MCXT_ALLOC_HUGE);
		r->feat = palloc_extended(sizeof(int32) * c * Max(r->n_cat, 1), MCXT_ALLOC_HUGE);
		r->num = palloc_extended(sizeof(float) * c * Max(r->n_numeric, 1), MCXT_ALLOC_HUGE);
		r->order_start = palloc_extended(sizeof(uint8) * c, MCXT_ALLOC_HUGE);
	}
	else
	{
		r->cat = repalloc_huge(r->cat, sizeof(int32) * c);
		r->feat = repalloc_huge(r->feat, sizeof(int32) * c * Max(r->n_cat, 1));
		r->num = repalloc_huge(r->num, sizeof(float) * c * Max(r->n_numeric, 1));
		r->order_start = repalloc_huge(r->order_start, sizeof(uint8) * c);
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

/* State of the scan, passed to load_row for each row. */
typedef struct LoadScan
{
	RawEvents  *r;
	const ColumnSpec *cols;
	int64		ev_cap;
	int			cl_cap;
	ClientGroup group;			/* where a client's rows start */
	int64		current_start;	/* first event of the client being read */
	double		prev_time;
	MemoryContext data_cxt,		/* the events and dictionaries */
				row_cxt;		/* text copies of one row, reset per row */
} LoadScan;

/*
 * The client being read (r->client_ids[r->n_clients], once a client has
 * started) is complete: keep it if it has two events or more.
 */
static void
close_client(LoadScan *s)
{
	RawEvents  *r = s->r;

	if (r->n_events - s->current_start >= 2)
		r->offsets[++r->n_clients] = r->n_events;
	else
	{
		r->n_events = s->current_start;
		pfree(r->client_ids[r->n_clients]);
	}
}

/*
 * One row of the scan: client, category, time, categoricals, numerics;
 * encoded on the spot.
 */
static void
load_row(TupleTableSlot *slot, void *arg)
{
	LoadScan   *s = (LoadScan *) arg;
	RawEvents  *r = s->r;
	const ColumnSpec *cols = s->cols;
	const Datum *values;
	const bool *nulls;
	MemoryContext old = MemoryContextSwitchTo(s->row_cxt);
	char	   *category;
	double		t;
	int64		e;

	slot_getallattrs(slot);
	values = slot->tts_values;
	nulls = slot->tts_isnull;
	t = DatumGetFloat8(values[2]);
	if (!isfinite(t))
	{
		/* 'infinity' / '-infinity': no gap can be derived from it */
		r->skipped_times++;
		MemoryContextSwitchTo(old);
		MemoryContextReset(s->row_cxt);
		return;
	}
	category = TextDatumGetCString(values[1]);
	MemoryContextSwitchTo(s->data_cxt);
	r->rows_read++;
	if (client_group_starts(&s->group, slot))
	{
		if (r->clients_read > 0)
			close_client(s);
		if (r->n_clients + 1 >= s->cl_cap)
			grow_clients(r, &s->cl_cap);
		r->client_ids[r->n_clients] = TextDatumGetCString(values[0]);	/* in data_cxt */
		r->offsets[r->n_clients] = r->n_events;
		s->current_start = r->n_events;
		r->clients_read++;
	}
	e = r->n_events;
	if (e >= s->ev_cap)
		grow_events(r, &s->ev_cap);
	r->cat[e] = ss_strdict_intern(r->categories, category);
	for (int j = 0; j < cols->n_cat; j++)
	{
		if (nulls[3 + j])
			r->feat[e * r->n_cat + j] = -1;
		else
		{
			char	   *v;

			MemoryContextSwitchTo(s->row_cxt);
			v = TextDatumGetCString(values[3 + j]);
			MemoryContextSwitchTo(s->data_cxt);
			r->feat[e * r->n_cat + j] = ss_strdict_intern(r->values[j], v);
		}
	}
	for (int j = 0; j < cols->n_num; j++)
	{
		double		v = nulls[3 + cols->n_cat + j] ? NAN : DatumGetFloat8(values[3 + cols->n_cat + j]);

		float		x = ss_numeric_value(v);	/* NaN: missing */

		if (isfinite(v) && isnan(x))
			r->unrepresentable++;	/* finite in float8, beyond float4 */
		r->num[e * r->n_numeric + j] = x;
	}
	if (cols->time_kind != TIME_INTEGER)
		r->num[e * r->n_numeric + cols->n_num] =
			e > s->current_start ? (float) ss_gap_feature(t - s->prev_time) : 0.0f;
	r->order_start[e] = (uint8) (e == s->current_start || t != s->prev_time);
	s->prev_time = t;
	r->n_events = e + 1;
	/* the encoded events so far must fit, long before the model is built */
	if (r->rows_read % CHECK_ROWS == 0)
		check_training_memory(r->n_events * (int64) (13 + 4 * r->n_cat + 4 * r->n_numeric)
							  + (int64) r->n_clients * 64, "the encoded events read so far");
	MemoryContextSwitchTo(old);
	MemoryContextReset(s->row_cxt);
}

RawEvents *
load_events(Oid relid, const ColumnSpec *cols)
{
	RawEvents  *r = palloc0(sizeof(RawEvents));
	StringInfoData q;
	LoadScan	s;

	memset(&s, 0, sizeof(s));
	s.r = r;
	s.cols = cols;
	s.data_cxt = CurrentMemoryContext;
	s.row_cxt = AllocSetContextCreate(CurrentMemoryContext, "seqsales rows", ALLOCSET_DEFAULT_SIZES);
	r->n_cat = cols->n_cat;
	r->n_numeric = columns_n_numeric(cols);
	r->categories = ss_strdict_new(256);
	r->values = palloc(sizeof(ss_strdict *) * Max(cols->n_cat, 1));
	for (int j = 0; j < cols->n_cat; j++)
		r->values[j] = ss_strdict_new(256);
	grow_clients(r, &s.cl_cap);
	client_group_init(&s.group, cols, s.data_cxt);

	initStringInfo(&q);
	columns_history_query(cols, relid, false, false, &q);
	row_scan(q.data, load_row, &s);
	MemoryContextSwitchTo(s.data_cxt);
	if (r->clients_read > 0)
		close_client(&s);
	r->offsets[r->n_clients] = r->n_events;
	MemoryContextDelete(s.row_cxt);
	return r;
}
