"""Database functions for the daily work: raw, batched SQL on the hot path."""
