# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Fast Molecule scenarios for the dom0 roles, in podman containers built
# locally (no registry, no hypervisor).
#   make molecule          both scenarios: default (bookworm, real packages) and legacy (Etch files)
#   make molecule-default  only the bookworm scenario
#   make molecule-legacy   only the legacy scenario
#   make molecule-image    build localhost/debian-bookworm:molecule with debootstrap (skipped if present)
#   make molecule-syntax   the syntax step of the scenario dom0 (a user's own dom0), with the README's
#                          example inventory: it parses, and nothing connects anywhere (part of make check)
#   make units-roles       the roles' golden tests (pytest, no container)
MOLECULE = PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/molecule

.PHONY: molecule molecule-default molecule-legacy molecule-image molecule-syntax units-roles
molecule: molecule-default molecule-legacy

molecule-default: venv molecule-image
	$(MOLECULE) test -s default

molecule-legacy: venv molecule-image
	$(MOLECULE) test -s legacy

molecule-image:
	tests/podman/build-image.sh bookworm

molecule-syntax: venv
	XEN_DOM0_INVENTORY=$(CURDIR)/docs/examples/inventory.yml $(MOLECULE) syntax -s dom0

units-roles: venv
	$(VENV)/bin/python -m pytest -q tests/integration/roles
