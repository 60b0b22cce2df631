"""Prefect tasks: thin wrappers that run the day's work on batches."""
