"""Columnar rows for the lake: a route's pydantic model as an Arrow schema, the check that
quarantines a row the schema cannot hold exactly, and the JSON lines of a batch as an
Arrow table (Parquet objects, Iceberg data files). Imported only by sinks that write
columns, so a pipeline without them does not load pyarrow."""
