"""The daily steps, one module per task module of ``tasks/`` (and beside each step, the same work
for one loan that the CLI asks for). A step takes the runtime and the day, reads and writes
through ``arrears.store`` and decides with the pure packages; nothing here imports Prefect.

Two helpers sit beside the steps: ``sender`` (the exactly-once sender the dispatch step drives)
and ``importing`` (the book import of ``arrears import`` and the demo).
"""
