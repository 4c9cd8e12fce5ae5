/*
 * fold.h - one fold of a training: which clients fit and which validate,
 * the vocabularies and normalisation of the fitting clients, the events
 * encoded with them, and the training itself.
 *
 * seqsales_train runs one fold over every client; seqsales_cross_validate
 * and seqsales_tune run several over one load of the relation (RawEvents,
 * load.h), each with its own fitting clients, so each with its own
 * vocabularies (a category no fitting client bought is unknown to that
 * fold's model, as the protocol wants).
 */
#ifndef SEQSALES_FOLD_H
#define SEQSALES_FOLD_H

#include "seqsales.h"

#include "load.h"

/* Vocabularies and normalisation from the fitting clients. */
typedef struct FoldVocab
{
	int			n_classes;
	char	  **class_names;	/* n_classes, byte order */
	int		   *class_map;		/* raw category id -> class, -1 unknown */
	int			n_features;
	int			feature_vocab[SS_MAX_FEATURES];
	char	  **feat_names[SS_MAX_FEATURES];
	int		   *feat_maps[SS_MAX_FEATURES];	/* raw value id -> index, -1 unknown */
	int			n_numeric;
	double	   *mean;
	double	   *std;
} FoldVocab;

/* The md5 rules of the protocol (../shared/PROTOCOL.md). */
static inline int
client_fold(const RawEvents *raw, int c, int64 seed, int folds)
{
	return (int) (client_hash_part(seed, raw->client_ids[c], 0) % (uint32) folds);
}

/*
 * The clients c with keep[c] (keep NULL: all) split into fitting and
 * validation clients: validation where md5 part 7..14 % 100 < 100 f.
 * fit and val hold raw->n_clients each.
 */
void		fold_split(const RawEvents *raw, const bool *keep, int64 seed, double validation_fraction,
					   int32 *fit, int *n_fit, int32 *val, int *n_val);

/* The vocabularies and normalisation of the fitting clients. */
void		fold_vocab(const RawEvents *raw, const int32 *fit, int n_fit, FoldVocab *v);

/*
 * A trained model's vocabularies as a FoldVocab for raw (its categories
 * and values looked up in the model's dictionaries, unknown: -1): to
 * encode another relation's events for that model.
 */
void		fold_vocab_of_model(const RawEvents *raw, ss_strdict *classes, char **class_names,
								ss_strdict *const *feat_dicts, int n_numeric, double *mean, double *std,
								FoldVocab *v);

/*
 * Every event of raw encoded with v into data; in_place reuses raw's
 * arrays (raw is then no longer usable: one fold only), else new arrays.
 */
void		fold_encode(RawEvents *raw, const FoldVocab *v, bool in_place, ss_dataset *data);

/* The model's dimensions for these options (ERROR when out of range). */
void		fold_dims(const FoldVocab *v, int arch, const ss_train_options *opt, ss_dims *dims);

/* Per-epoch figures of a training, kept for the training log. */
typedef struct TrainProgress
{
	int			n;
	int			cap;
	ss_epoch_stats *epochs;
	bool		notices;		/* a NOTICE per epoch */
	/* an extra check after every epoch (the tuner's pruner): returns true to stop */
	bool		(*stop) (void *arg, const ss_epoch_stats *st);
	void	   *stop_arg;
	bool		stopped;
} TrainProgress;

/*
 * Trains one fold: checks the memory estimate against
 * seqsales.max_training_memory (held: the bytes the caller holds), then
 * ss_train; ERROR on failure (relname names the relation), 57014 on
 * cancel, 22003 on non-finite parameters.  Returns the estimate.
 */
int64		fold_train(const ss_dims *dims, const ss_dataset *data, const int32 *fit, int n_fit,
					   const int32 *val, int n_val, const ss_train_options *opt, int64 held,
					   const char *relname, TrainProgress *prog, ss_train_result *res);

/* A trained fold, as the catalog stores it (store_model, train_sql.c). */
typedef struct StoredFold
{
	const char *name;
	Oid			relid;
	const ColumnSpec *cols;
	const FoldVocab *vocab;
	const ss_dims *dims;
	const ss_train_options *opt;
	const ss_train_result *res;
	const TrainProgress *prog;
	const RawEvents *raw;
	int			n_fit,
				n_val;
	double		load_seconds;
	int64		memory_estimate;
} StoredFold;

struct Catalog;

/* Stores it under its name (checked by catalog_prepare_training); returns the model's id. */
int64		store_model(const struct Catalog *cat, const StoredFold *f);

/* "{...}" JSON helpers of the catalog's columns */
void		json_string_array(StringInfo buf, char **strs, int n);
void		json_double_array(StringInfo buf, const double *v, int n);

#endif
