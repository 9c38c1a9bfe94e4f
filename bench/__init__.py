"""The benchmark harness (`make bench`): the same day checked three ways on the same data —
a legacy-shaped sequential baseline, the local executor (`run`) and the Celery chord
(`submit --wait` on W worker processes) — measured side by side. See bench/README.md."""
