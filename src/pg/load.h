/*
 * load.h - reading a source relation's order lines into compact arrays.
 */
#ifndef SEQSALES_LOAD_H
#define SEQSALES_LOAD_H

#include "seqsales.h"

/*
 * Events of every client with at least two events, grouped by client in
 * time order.  Strings are interned: category and categorical values are
 * ids into the dictionaries (feature value -1 = NULL).  num holds the
 * numeric columns then, for date/time sources, the gap feature, as
 * src/core/encode.h stores them before standardising (NaN = missing).
 */
typedef struct RawEvents
{
	int			n_clients;
	int64		n_events;
	int64		rows_read;
	int64		clients_read;
	int64		skipped_times;	/* rows skipped: time is +/-infinity */
	int64		unrepresentable;	/* numeric values beyond float range, made missing */
	char	  **client_ids;		/* n_clients, as text */
	int64	   *offsets;		/* n_clients + 1 */
	int32	   *cat;			/* n_events: id in categories */
	int32	   *feat;			/* n_events x n_cat */
	float	   *num;			/* n_events x n_numeric */
	uint8	   *order_start;	/* n_events: 1 = its time differs from the client's previous event's */
	int			n_cat;
	int			n_numeric;
	ss_strdict *categories;
	ss_strdict **values;		/* per categorical column */
} RawEvents;

/* One ordered cursor scan of the relation (requires an SPI connection). */
RawEvents  *load_events(Oid relid, const ColumnSpec *cols);

#endif
