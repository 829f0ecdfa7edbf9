"""`make bench`: the platform's hot paths under wrk, in the production topology, against a bare ASGI baseline.

Absolute numbers drift from machine to machine and run to run; the ratios between scenarios of one run are what
the targets are written against, so every run measures its own baseline (FIELD-NOTES, "Speed"). See
docs/benchmarks.md.
"""
