"""A bad-input corpus for ingest, written at test time (see :mod:`tests.risk.corpus.cases`)."""
