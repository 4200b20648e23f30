"""One-off tasks that reuse the consumer's pipeline unchanged: the same routes, schemas,
transforms, sinks, quarantine and metrics, fed from S3 instead of a stream.

`sluice batch run JOB --config FILE [--param k=v ...] [--part i/N]` (or
`python -m batch_jobs`) exits 0 only when the job fully succeeded.
"""
