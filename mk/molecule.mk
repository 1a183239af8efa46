# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Fast Molecule scenarios for the dom0 roles, in podman containers built
# locally (no registry, no hypervisor).
#   make molecule          both scenarios: default (bookworm, real packages) and legacy (Etch files)
#   make molecule-default  only the bookworm scenario
#   make molecule-legacy   only the legacy scenario
#   make molecule-image    build localhost/debian-bookworm:molecule with debootstrap (skipped if present)
#   make units-roles       the roles' golden tests (pytest, no container)
MOLECULE = PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/molecule

.PHONY: molecule molecule-default molecule-legacy molecule-image units-roles
molecule: molecule-default molecule-legacy

molecule-default: venv molecule-image
	$(MOLECULE) test -s default

molecule-legacy: venv molecule-image
	$(MOLECULE) test -s legacy

molecule-image:
	tests/podman/build-image.sh bookworm

units-roles: venv
	$(VENV)/bin/python -m pytest -q tests/integration/roles
