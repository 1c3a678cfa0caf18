"""The `ayavision` command line: a thin layer over functions that tests call directly."""

import os

# OpenMP threads that finish a parallel region spin, waiting for the next one. On a machine whose cores are shared
# (a laptop, a data worker, a second job), a spinning peer that gets descheduled stalls every barrier: measured
# here, beside one competing two-thread process, one training step in twenty took 7.5x the median
# (benchmarks/cpu_contention.py, docs/benchmarks.md). PASSIVE makes waiting threads sleep; it cost nothing
# measurable on a quiet machine. It must be set before torch's OpenMP runtime loads, hence here; a value the user
# set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
