# A streaming hot standby of a primary with a trained model: predictions on
# the standby equal the primary's, and seqsales_train there is refused with
# SQLSTATE 25006 (read_only_sql_transaction) before any training, i.e. much
# sooner than the same training takes on the primary.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION seqsales');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# 2000 demo clients (63,000 order lines); the training takes some
# seconds here, the refusal on the standby must not
$primary->safe_psql('postgres', q{
	SELECT seqsales_demo_data(2000, 1);
	CREATE INDEX ON seqsales_demo_orders (client_id, ordered_at);
});
my $train = q{SET client_min_messages = warning;
SELECT seqsales_train('seqsales_demo_orders',
                      categorical => '{contract_type,supplier_segment,region}',
                      "numeric" => '{order_volume,contract_value}',
                      model_name => 'standby_test',
                      options => '{"epochs": 5, "hidden_size": 64, "validation_fraction": 0}')};
my $t0 = time;
$primary->safe_psql('postgres', $train);
my $train_seconds = time - $t0;
cmp_ok($train_seconds, '>', 2,
	sprintf('the training takes %.1f s on the primary (more than the 2 s the standby may take to refuse it)',
		$train_seconds));

$primary->wait_for_catchup($standby, 'replay');
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM seqsales_model WHERE name = 'standby_test'}),
	'1', 'the model row has been replayed on the standby');

my $per_client = q{
	SELECT c.client_id, p.rank, p.category, p.probability
	FROM (SELECT DISTINCT client_id FROM seqsales_demo_orders ORDER BY 1 LIMIT 50) c,
	     LATERAL seqsales_predict(c.client_id, 3, 'standby_test') p
	ORDER BY 1, 2};
my $on_primary = $primary->safe_psql('postgres', $per_client);
is(scalar(() = $on_primary =~ /\n/g) + 1, 150, 'the primary predicts 3 rows for each of 50 clients');
is($standby->safe_psql('postgres', $per_client), $on_primary,
	'seqsales_predict on the standby gives the same rows as on the primary');

my $batch = q{SELECT md5(string_agg(format('%s %s %s %s', client_id, rank, category, probability), ','
                                    ORDER BY client_id, rank))
              FROM seqsales_predict_all(3, 'standby_test')};
is($standby->safe_psql('postgres', $batch), $primary->safe_psql('postgres', $batch),
	'seqsales_predict_all on the standby gives the same rows as on the primary');

# training on the standby: an error with SQLSTATE 25006, before training
my ($stdout, $stderr) = ('', '');
$t0 = time;
my $ret = $standby->psql('postgres', "\\set VERBOSITY verbose\n$train",
	stdout => \$stdout, stderr => \$stderr, on_error_stop => 1);
my $refuse_seconds = time - $t0;
isnt($ret, 0, "seqsales_train fails on the standby") or diag("stdout: $stdout");
note("the standby answered: $stderr");
like($stderr, qr/ERROR:\s+25006:/, 'with SQLSTATE 25006 (read_only_sql_transaction)')
  or diag("stderr: $stderr");
cmp_ok($refuse_seconds, '<', 2,
	sprintf('and within 2 s, before training (%.2f s; the training took %.1f s on the primary)',
		$refuse_seconds, $train_seconds));

# the standby still serves predictions after the refusal
is($standby->safe_psql('postgres', $per_client), $on_primary, 'the standby predicts as before');

$standby->stop;
$primary->stop;
done_testing();
