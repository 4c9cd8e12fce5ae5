/*
 * train_args.h - the training arguments shared by seqsales_train,
 * seqsales_cross_validate and seqsales_tune: the source relation, its
 * columns, the architecture and the options, each at its position in the
 * function's argument list.
 */
#ifndef SEQSALES_TRAIN_ARGS_H
#define SEQSALES_TRAIN_ARGS_H

#include "seqsales.h"

#include "fmgr.h"
#include "utils/jsonb.h"

/* positions of the arguments (-1: the function has none) */
typedef struct TrainArgPos
{
	int			source,
				client,
				time,
				target,
				categorical,
				numeric,
				architecture,
				options,
				tiebreak;
} TrainArgPos;

typedef struct TrainArgs
{
	Oid			relid;
	ColumnSpec	cols;
	char	   *architecture;
	int			arch_id;		/* ss_arch_id, after train_args_check */
	Jsonb	   *options;
} TrainArgs;

/* Reads the arguments; NULLs give 22004 (the checks that need no catalog lookup). */
void		train_args_get(FunctionCallInfo fcinfo, const TrainArgPos *pos, TrainArgs *a);

/* The architecture by name (22023) and the columns against the relation. */
void		train_args_check(TrainArgs *a);

/* An argument of type name, NULL allowed or not. */
char	   *name_arg(FunctionCallInfo fcinfo, int i, const char *what, bool nullable);

/* options jsonb into o (src/pg/options.c) */
void		options_parse(Jsonb *options, int arch, ss_train_options *o);
void		options_to_json(const ss_train_options *o, int attention_size, StringInfo buf);

#endif
