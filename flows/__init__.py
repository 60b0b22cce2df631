"""Prefect flows: they order the work and say nothing else."""
