"""Apache Iceberg tables as a sink: one commit a cut, carrying the source positions it
covers, so a replay after a crash commits nothing twice (docs/lake.md). pyiceberg is
imported only when a pipeline has such a sink."""
