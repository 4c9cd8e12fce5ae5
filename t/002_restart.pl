# A trained model survives a server restart, and a crash (immediate stop,
# WAL replay at start): the same catalog row, the same predictions.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('restart');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION seqsales;
	SELECT seqsales_demo_data(300, 2);
	CREATE INDEX ON seqsales_demo_orders (client_id, ordered_at);
	SET client_min_messages = warning;
	SELECT seqsales_train('seqsales_demo_orders', model_name => 'restart_test',
	                      options => '{"epochs": 2, "hidden_size": 16}');
});

my $row = q{SELECT id, version, md5(weights), array_length(categories, 1)
            FROM seqsales_model WHERE name = 'restart_test'};
my $predict = q{
	SELECT c.client_id, p.rank, p.category, p.probability
	FROM (SELECT DISTINCT client_id FROM seqsales_demo_orders ORDER BY 1 LIMIT 30) c,
	     LATERAL seqsales_predict(c.client_id, 3, 'restart_test') p
	ORDER BY 1, 2};
my $batch = q{SELECT md5(string_agg(format('%s %s %s %s', client_id, rank, category, probability), ','
                                    ORDER BY client_id, rank))
              FROM seqsales_predict_all(3, 'restart_test')};
my $row_before     = $node->safe_psql('postgres', $row);
my $predict_before = $node->safe_psql('postgres', $predict);
my $batch_before   = $node->safe_psql('postgres', $batch);
is(scalar(() = $predict_before =~ /\n/g) + 1, 90, 'the model predicts 3 rows for each of 30 clients');

$node->restart;
is($node->safe_psql('postgres', $row), $row_before, 'after a restart: the same model row and weights');
is($node->safe_psql('postgres', $predict), $predict_before, 'after a restart: the same predictions');
is($node->safe_psql('postgres', $batch), $batch_before, 'after a restart: the same batch scoring');

# a model trained just before a crash: recovered from the WAL
$node->safe_psql('postgres', q{SET client_min_messages = warning;
	SELECT seqsales_train('seqsales_demo_orders', model_name => 'crash_test',
	                      options => '{"epochs": 1, "hidden_size": 8, "seed": 4}')});
my $crash_row = q{SELECT id, md5(weights) FROM seqsales_model WHERE name = 'crash_test'};
my $crash_before = $node->safe_psql('postgres', $crash_row);
my $crash_predict = $predict =~ s/restart_test/crash_test/r;
my $crash_predict_before = $node->safe_psql('postgres', $crash_predict);
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $crash_row), $crash_before, 'after a crash: the model trained last is there');
is($node->safe_psql('postgres', $crash_predict), $crash_predict_before, 'after a crash: the same predictions');
is($node->safe_psql('postgres', $predict), $predict_before, 'after a crash: the first model predicts the same');

$node->stop;
done_testing();
