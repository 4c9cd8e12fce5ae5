/*
 * common.c - glue between PostgreSQL and the core: module start-up, the
 * core's allocator, OpenBLAS loading, column checks and the protocol's md5
 * client split.
 */
#include "seqsales.h"

#include "catalog/pg_type.h"
#include "common/md5.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "../core/blas.h"
#include "../core/interrupt.h"
#include "../core/ss_alloc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			seqsales_max_training_memory_mb = 4096;
int			seqsales_scoring_threads = 1;

/* ---------------------------------------------------------------- core glue */

static MemoryContext core_cxt = NULL;

static void *
core_alloc(size_t size)
{
	return MemoryContextAllocHuge(core_cxt ? core_cxt : CurrentMemoryContext, size);
}

static void
core_free(void *ptr)
{
	pfree(ptr);
}

MemoryContext
core_use_context(MemoryContext cxt)
{
	MemoryContext prev = core_cxt;

	core_cxt = cxt;
	return prev;
}

void
core_load_blas(void)
{
	const char *err = ss_blas_load();

	if (err != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("seqsales: %s", err),
				 errhint("Install OpenBLAS (Debian package libopenblas0).")));
}

/*
 * The server's ceiling: the value from the configuration file, the command
 * line, ALTER SYSTEM or the default, which only a superuser sets.
 */
static int	training_memory_ceiling_mb = 4096;

static bool check_max_training_memory(int *newval, void **extra, GucSource source);

/*
 * seqsales.max_training_memory is USERSET so that any role may lower it,
 * but a value from a session, a role or a database setting, or a function's
 * SET clause, may not exceed the server's ceiling, nor lift it (-1), unless
 * the current user is a superuser.  (ALTER ROLE ... SET by the role itself
 * would otherwise raise it for its next sessions.)
 */
static bool
check_max_training_memory(int *newval, void **extra, GucSource source)
{
	if (source <= PGC_S_GLOBAL)
	{
		/* default, environment, file (ALTER SYSTEM too), command line, ALTER ROLE ALL */
		training_memory_ceiling_mb = *newval;
		return true;
	}
	if (superuser() || training_memory_ceiling_mb < 0)
		return true;
	if (*newval < 0 || *newval > training_memory_ceiling_mb)
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("permission denied to raise seqsales.max_training_memory above the server's %d MB",
						 training_memory_ceiling_mb);
		GUC_check_errhint("Only a superuser may raise or lift the ceiling; any role may lower it.");
		return false;
	}
	return true;
}

/*
 * The core cut a computation short because an interrupt is pending
 * (interrupt.h): serve it.  CHECK_FOR_INTERRUPTS throws for a cancel or a
 * termination; should it return with a flag still set (interrupts held off
 * here), computing again would be cut short again: cancel the statement.
 */
void
core_tick(void *arg)
{
	(void) arg;
	CHECK_FOR_INTERRUPTS();
}

void
core_serve_interrupt(void)
{
	CHECK_FOR_INTERRUPTS();
	if (QueryCancelPending || ProcDiePending)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling statement due to user request")));
}

void
_PG_init(void)
{
	const volatile sig_atomic_t *flags[2] = {&QueryCancelPending, &ProcDiePending};

	/*
	 * Nothing heavy here: OpenBLAS is loaded on first use (see blas.h), so a
	 * postmaster that preloads this library starts no BLAS threads.
	 */
	ss_set_allocator(core_alloc, core_free);

	/*
	 * The core's long loops, on any thread, stop once a cancel (also
	 * statement_timeout) or a termination is pending: these flags are set
	 * by PostgreSQL's signal handlers, and the core only reads them.  Not
	 * InterruptPending: it is also set for requests that need no stop (a
	 * barrier, a memory context dump, ...), each of which would cost a cut
	 * step done again.
	 */
	ss_interrupt_watch(flags, 2);
	DefineCustomIntVariable("seqsales.max_training_memory",
							"Memory a training may use (encoded events, model, optimiser state and one batch's activations).",
							"seqsales_train checks its estimate against this before training and while it reads rows; -1 means no limit. "
							"Only a superuser may raise it above the server's setting or lift it; any role may lower it.",
							&seqsales_max_training_memory_mb, 4096, -1, MAX_KILOBYTES, PGC_USERSET,
							GUC_UNIT_MB, check_max_training_memory, NULL, NULL);
	DefineCustomIntVariable("seqsales.scoring_threads",
							"Threads of seqsales_predict_all's forward passes.",
							"Each thread scores its own batch of clients; the rows are read on the calling thread.",
							&seqsales_scoring_threads, 1, 1, SS_MAX_THREADS, PGC_USERSET,
							0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("seqsales");
}

void
check_training_memory(int64 bytes, const char *what)
{
	if (seqsales_max_training_memory_mb >= 0 &&
		bytes > (int64) seqsales_max_training_memory_mb * 1024 * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("training would need about " INT64_FORMAT " MB (%s), more than seqsales.max_training_memory (%d MB)",
						bytes / (1024 * 1024) + 1, what, seqsales_max_training_memory_mb),
				 errhint("Raise seqsales.max_training_memory, train on fewer rows (a view with a sample of clients), or lower hidden_size.")));
}

const char *
seqsales_schema(Oid fn_oid)
{
	char	   *nsp = get_namespace_name(get_func_namespace(fn_oid));

	if (nsp == NULL)
		elog(ERROR, "cache lookup failed for the namespace of function %u", fn_oid);
	return quote_identifier(nsp);
}

/* ---------------------------------------------------------------- columns */

const char *
time_kind_name(TimeKind k)
{
	switch (k)
	{
		case TIME_TIMESTAMP:
			return "timestamp";
		case TIME_DATE:
			return "date";
		default:
			return "integer";
	}
}

/* The type of column col (and its collation, when collation is not NULL). */
static Oid
column_type(Oid relid, const char *col, const char *role, Oid *collation)
{
	AttrNumber	att;
	Oid			typid,
				coll;
	int32		typmod;

	if (col == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s column name must not be NULL", role)));
	att = get_attnum(relid, col);
	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in relation %s", col, get_rel_name(relid)),
				 errhint("The %s column is given by name; check its spelling and case.", role)));
	get_atttypetypmodcoll(relid, att, &typid, &typmod, &coll);
	if (collation != NULL)
		*collation = coll;
	return typid;
}

bool
is_integer_type(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID;
}

void
columns_validate(Oid relid, ColumnSpec *cols)
{
	Oid			t;
	TypeCacheEntry *tce;

	cols->client_type = column_type(relid, cols->client, "client", &cols->client_collation);
	tce = lookup_type_cache(cols->client_type, TYPECACHE_LT_OPR | TYPECACHE_EQ_OPR);
	if (!OidIsValid(tce->lt_opr) || !OidIsValid(tce->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("client column \"%s\" of type %s cannot be sorted", cols->client,
						format_type_be(cols->client_type)),
				 errhint("Use a column of type integer, bigint, text or uuid.")));

	t = column_type(relid, cols->time, "time", NULL);
	if (t == TIMESTAMPOID || t == TIMESTAMPTZOID)
		cols->time_kind = TIME_TIMESTAMP;
	else if (t == DATEOID)
		cols->time_kind = TIME_DATE;
	else if (is_integer_type(t))
		cols->time_kind = TIME_INTEGER;
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" has type %s", cols->time, format_type_be(t)),
				 errhint("Use a timestamp, timestamptz, date or integer order number column.")));

	(void) column_type(relid, cols->target, "target", NULL);
	if (cols->tiebreak != NULL)
	{
		t = column_type(relid, cols->tiebreak, "tie-break", NULL);
		tce = lookup_type_cache(t, TYPECACHE_LT_OPR);
		if (!OidIsValid(tce->lt_opr))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("tie-break column \"%s\" of type %s cannot be sorted", cols->tiebreak,
							format_type_be(t))));
	}
	for (int j = 0; j < cols->n_cat; j++)
	{
		(void) column_type(relid, cols->cat[j], "categorical", NULL);
		for (int k = 0; k < j; k++)
			if (strcmp(cols->cat[k], cols->cat[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("categorical column \"%s\" is listed twice", cols->cat[j])));
	}
	for (int j = 0; j < cols->n_num; j++)
	{
		t = column_type(relid, cols->num[j], "numeric", NULL);
		if (!(is_integer_type(t) || t == FLOAT4OID || t == FLOAT8OID || t == NUMERICOID))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("numeric column \"%s\" has type %s", cols->num[j], format_type_be(t)),
					 errhint("Numeric features must be of a numeric type (smallint, integer, bigint, real, double precision, numeric); list other columns as categorical.")));
		for (int k = 0; k < j; k++)
			if (strcmp(cols->num[k], cols->num[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("numeric column \"%s\" is listed twice", cols->num[j])));
	}
	if (cols->n_cat > SS_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("at most %d categorical columns are supported", SS_MAX_FEATURES)));
	if (cols->n_num > 255)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("at most 255 numeric columns are supported")));
}

char *
qualified_relation_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/*
 * Select list: [client::text,] target::text, time as seconds (float8),
 * categoricals::text, numerics::float8.
 */
static void
columns_select_list(const ColumnSpec *cols, StringInfo buf, bool with_client)
{
	if (with_client)
		appendStringInfo(buf, "%s::text, ", quote_identifier(cols->client));
	appendStringInfo(buf, "%s::text, ", quote_identifier(cols->target));
	if (cols->time_kind == TIME_INTEGER)
		appendStringInfo(buf, "%s::float8", quote_identifier(cols->time));
	else
		/* date_part, not extract: extract gives numeric, 2x slower to convert */
		appendStringInfo(buf, "pg_catalog.date_part('epoch', %s)", quote_identifier(cols->time));
	for (int j = 0; j < cols->n_cat; j++)
		appendStringInfo(buf, ", %s::text", quote_identifier(cols->cat[j]));
	for (int j = 0; j < cols->n_num; j++)
		appendStringInfo(buf, ", %s::float8", quote_identifier(cols->num[j]));
}

void
columns_history_query(const ColumnSpec *cols, Oid relid, bool one_client, bool newest_first,
					  StringInfo buf)
{
	const char *client = quote_identifier(cols->client),
			   *time = quote_identifier(cols->time),
			   *dir = newest_first ? " DESC" : "";

	appendStringInfoString(buf, "SELECT ");
	columns_select_list(cols, buf, !one_client);
	if (!one_client)
		appendStringInfo(buf, ", s.%s", client);	/* for ClientGroup */
	appendStringInfo(buf, " FROM %s AS s WHERE s.%s %s AND s.%s IS NOT NULL AND s.%s IS NOT NULL",
					 qualified_relation_name(relid), client, one_client ? "= $1" : "IS NOT NULL",
					 quote_identifier(cols->target), time);
	if (newest_first && cols->time_kind != TIME_INTEGER)
		appendStringInfo(buf, " AND pg_catalog.isfinite(s.%s)", time);

	/*
	 * On the relation's own columns (alias s), never on the select list's
	 * converted ones: an output column client::text or ts::float8 keeps the
	 * column's name, "ORDER BY client, ts" would then sort by the converted
	 * values, and no index on (client, ts) could give that order.
	 *
	 * After time and tie-break, every input of the model: rows with equal
	 * times come in one order whatever their physical order, so the same
	 * data gives the same model and the same predictions (rows equal in
	 * all of these are the same input).  Text in byte order (COLLATE "C"),
	 * the same in every database.  An index on (client, time) still gives
	 * the main order; ties are sorted by an incremental sort.
	 */
	appendStringInfoString(buf, " ORDER BY ");
	if (!one_client)
		appendStringInfo(buf, "s.%s%s, ", client, dir);
	appendStringInfo(buf, "s.%s%s", time, dir);
	if (cols->tiebreak)
		appendStringInfo(buf, ", s.%s%s", quote_identifier(cols->tiebreak), dir);
	appendStringInfo(buf, ", s.%s::text COLLATE \"C\"%s", quote_identifier(cols->target), dir);
	for (int j = 0; j < cols->n_cat; j++)
		appendStringInfo(buf, ", s.%s::text COLLATE \"C\"%s", quote_identifier(cols->cat[j]), dir);
	for (int j = 0; j < cols->n_num; j++)
		appendStringInfo(buf, ", s.%s::float8%s", quote_identifier(cols->num[j]), dir);
}

void
client_group_init(ClientGroup *g, const ColumnSpec *cols, MemoryContext cxt)
{
	TypeCacheEntry *tce = lookup_type_cache(cols->client_type, TYPECACHE_EQ_OPR_FINFO);

	if (!OidIsValid(tce->eq_opr_finfo.fn_oid))
		elog(ERROR, "no equality function for type %s", format_type_be(cols->client_type));
	memset(g, 0, sizeof(*g));
	fmgr_info_cxt(tce->eq_opr_finfo.fn_oid, &g->eq, cxt);
	g->collation = cols->client_collation;
	g->attnum = 3 + cols->n_cat + cols->n_num + 1;	/* after the select list */
	g->byval = tce->typbyval;
	g->typlen = tce->typlen;
	g->cxt = cxt;
}

bool
client_group_starts(ClientGroup *g, TupleTableSlot *slot)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, g->attnum, &isnull);	/* not null: the scan's WHERE */

	if (g->have && DatumGetBool(FunctionCall2Coll(&g->eq, g->collation, g->current, d)))
		return false;
	if (g->have && !g->byval)
		pfree(DatumGetPointer(g->current));
	{
		MemoryContext old = MemoryContextSwitchTo(g->cxt);

		g->current = datumCopy(d, g->byval, g->typlen);
		MemoryContextSwitchTo(old);
	}
	g->have = true;
	return true;
}

/* ---------------------------------------------------------------- split */

uint32
client_hash_part(int64 seed, const char *client_id, int from)
{
	char		hex[33];
	char		part[8];
	const char *errstr = NULL;
	char	   *text = psprintf(INT64_FORMAT ":%s", seed, client_id);

	if (!pg_md5_hash(text, strlen(text), hex, &errstr))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute md5: %s", errstr ? errstr : "unknown error")));
	pfree(text);
	memcpy(part, hex + from, 7);
	part[7] = '\0';
	return (uint32) strtoul(part, NULL, 16);
}
