# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The ansible-core matrix: the unit tests (the roles' golden tests included),
# ansible-test sanity and the install check (mk/release.mk) on the lowest
# ansible-core meta/runtime.yml claims and on the newest one on PyPI, each in
# its own venv cached
# outside the checkout (hack/matrix.sh, MATRIX_CACHE). The main venv (.venv) runs a third, the one
# the `ansible` bundle in tests/requirements.txt pins.
#   make matrix        both ends
#   make matrix-low    ansible-core $(MATRIX_LOW) on Python $(MATRIX_LOW_PYTHON)
#   make matrix-high   ansible-core $(MATRIX_HIGH) on Python $(MATRIX_HIGH_PYTHON) (2.20+ needs 3.12+)
# MATRIX_SANITY_ARGS passes more options to ansible-test sanity.
MATRIX_LOW ?= 2.17.0
MATRIX_LOW_PYTHON ?= 3.11
MATRIX_HIGH ?= 2.21.5
MATRIX_HIGH_PYTHON ?= 3.13

.PHONY: matrix matrix-low matrix-high
matrix: matrix-low matrix-high

matrix-low: collection-link build
	hack/matrix.sh $(MATRIX_LOW) $(MATRIX_LOW_PYTHON)

matrix-high: collection-link build
	hack/matrix.sh $(MATRIX_HIGH) $(MATRIX_HIGH_PYTHON)
