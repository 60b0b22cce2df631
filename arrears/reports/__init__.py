"""The collections report: figures over a range of days, charts, HTML and PDF."""
