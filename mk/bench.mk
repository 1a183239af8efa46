# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Benchmarks on the running real-Xen lab: five figures, each a ratio
# of two timings taken in the same run (median of 3), printed as a table and
# written to docs/benchmarks.md. No timing is asserted anywhere.
#   make bench              figures 1-4 (about 45 minutes under TCG); needs `make lab` first
#   BENCH_SLOW=1 make bench also figure 5: a guest by debootstrap from the mirror (adds an hour or more)
# See hack/bench.py for the settings (BENCH_REPEAT, BENCH_KEEP, BENCH_MIRROR).
.PHONY: bench
bench: venv
	@lab/ssh.sh true >/dev/null 2>&1 || { \
	  echo "bench: no running lab answers over SSH. Start and converge it with 'make lab', then run 'make bench'." >&2; \
	  exit 1; }
	@$(MAKE) -s --no-print-directory .cache/xenlab/guests-inventory.yml
	$(PY) hack/bench.py
