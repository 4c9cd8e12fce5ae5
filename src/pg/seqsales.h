/*
 * seqsales.h - declarations shared by the SQL-facing part of seqsales.
 *
 * src/core is the learning engine (no PostgreSQL headers); this directory
 * connects it to SQL: reading rows through SPI, the catalog of models, the
 * per-backend model cache, options and errors.
 */
#ifndef SEQSALES_H
#define SEQSALES_H

#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "../core/model.h"
#include "../core/strdict.h"
#include "../core/train.h"

/* ---------------------------------------------------------------- columns */

typedef enum TimeKind
{
	TIME_TIMESTAMP,				/* timestamp or timestamptz: derive the gap feature */
	TIME_DATE,					/* date: derive the gap feature */
	TIME_INTEGER				/* an order number: no gap feature */
} TimeKind;

/* Which columns of the source relation feed the model. */
typedef struct ColumnSpec
{
	char	   *client;
	char	   *time;
	char	   *target;
	char	   *tiebreak;		/* NULL: none */
	int			n_cat;
	char	  **cat;
	int			n_num;
	char	  **num;
	Oid			client_type;
	Oid			client_collation;
	TimeKind	time_kind;
} ColumnSpec;

#define GAP_FEATURE_NAME "log1p_days_since_prev"

/* smallint, integer or bigint */
bool		is_integer_type(Oid t);

/* Checks the columns against the relation (existence, types); fills the types. */
void		columns_validate(Oid relid, ColumnSpec *cols);

/* "schema"."relation", quoted as needed */
char	   *qualified_relation_name(Oid relid);

/*
 * The history query of a relation: its usable rows (client, target and
 * time not NULL) as [client::text,] target::text, time in seconds,
 * categoricals::text, numerics::float8, ordered by [client,] time[,
 * tiebreak, every model input: a full order], all ascending or all
 * descending (newest_first: the prediction scans, which also leave out
 * rows with an infinite time; training skips and counts them).  one_client:
 * the rows of client $1 (of the client column's type), no client column
 * in the select list; else every client's, grouped (the one ordered scan
 * of training and of batch scoring), with the client column itself last
 * (see ClientGroup).  An index on (client, time[, tiebreak]) gives the
 * order without a sort.
 */
void		columns_history_query(const ColumnSpec *cols, Oid relid, bool one_client,
								  bool newest_first, StringInfo buf);

/*
 * Where a client's rows start in a history scan: a row whose client column
 * is not equal, by its type's own equality (the one the scan's ORDER BY
 * groups by and seqsales_predict's "client = $1" uses), to the previous
 * row's.  Comparing the text forms instead would split a client whose ids
 * are equal but print differently (numeric 1.0 and 1.00, citext).
 */
typedef struct ClientGroup
{
	FmgrInfo	eq;
	Oid			collation;
	AttrNumber	attnum;			/* of the client column in the scan's rows */
	bool		byval;
	int16		typlen;
	bool		have;			/* current is set */
	Datum		current;		/* copy in cxt */
	MemoryContext cxt;
} ClientGroup;

void		client_group_init(ClientGroup *g, const ColumnSpec *cols, MemoryContext cxt);

/* Whether the row in slot starts a new client (then it becomes the current one). */
bool		client_group_starts(ClientGroup *g, TupleTableSlot *slot);

/* Numeric inputs of a model: the numeric columns, then the gap feature. */
static inline int
columns_n_numeric(const ColumnSpec *cols)
{
	return cols->n_num + (cols->time_kind != TIME_INTEGER ? 1 : 0);
}

const char *time_kind_name(TimeKind k);

/* ---------------------------------------------------------------- core glue */

/*
 * Routes the core's allocations into cxt (palloc), until the next call;
 * returns the context it replaces, for the caller to restore (calls nest:
 * a history query can run another prediction).
 */
MemoryContext core_use_context(MemoryContext cxt);
/* after the core returned "interrupted" (../core/interrupt.h): throws, or returns to compute again */
void		core_serve_interrupt(void);
/* the core's tick (train.h, ss_train_callbacks): serves interrupts between batches */
void		core_tick(void *arg);

/* seqsales.max_training_memory: ERROR when bytes exceed it */
extern int	seqsales_max_training_memory_mb;
extern int	seqsales_scoring_threads;
void		check_training_memory(int64 bytes, const char *what);

/* Loads OpenBLAS into this backend, or raises an ERROR. */
void		core_load_blas(void);

/*
 * Schema of the extension (that of the calling SQL function, fn_oid),
 * quoted for use in queries.
 */
const char *seqsales_schema(Oid fn_oid);

/* md5-based client split of the protocol: int(md5("<seed>:<id>")[from:from+7], 16) */
uint32		client_hash_part(int64 seed, const char *client_id, int from);

#endif
