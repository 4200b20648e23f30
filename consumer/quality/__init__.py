"""Data quality: declarative checks per route, a correction step and a score per batch.

Checks run at cut time, on each route batch just before it is written (docs/decisions.md,
"Data quality checks run on the batch at cut time").
"""
