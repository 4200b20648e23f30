"""The batch jobs themselves: backfill, replay-quarantine, reprocess, compact, and the HTTP
and PostgreSQL extracts, with the inputs they read."""
