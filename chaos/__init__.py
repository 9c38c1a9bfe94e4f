"""The chaos soak (contract §18): a real cluster on loopback, a seeded nemesis that injects
faults from a fixed menu (menu.py) while runs of distinct days go through, and the invariants
checked from the outputs themselves (invariants.py). `make chaos SEED=… RUNS=… CHAOS_DIR=…`
runs it (`python -m chaos`); docs/reliability.md is its manual."""
