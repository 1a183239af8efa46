# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The fault suite (tests/integration/faults.yml) on the running lab: a build
# killed midway, a guest that ignores shutdown, a full disk during a build,
# the toolstack or xenstored missing, secrets kept out of argv, logs and
# results. Guests are named kxf*.
#   make faults-lab                 the five faults that are safe on a shared lab
#   make faults-lab-disruptive      faults 3 and 6: reboot the dom0 mid-play, cut SSH
#                                   by a network change (the lab must be yours alone)
# make lab-faults-test runs them on a lab of its own (scenario xen_faults, fault 3 last),
# but fault 6, which the scenario xen runs (make lab-test).
# FAULTS_ARGS passes more ansible-playbook options, e.g. on a lab where other
# sessions make guests at the same time: FAULTS_ARGS='-e faults_snapshot_ignore=kxb'
FAULTS_ARGS ?=
# The lab's inventory; guests.mk has the rule that writes it.
FAULTS_INVENTORY := .cache/xenlab/guests-inventory.yml
# Fewer SSH round trips per task: under TCG each one costs seconds.
FAULTS_PLAYBOOK := ANSIBLE_PIPELINING=true $(VENV)/bin/ansible-playbook -i $(FAULTS_INVENTORY)

.PHONY: faults-lab faults-lab-disruptive
faults-lab: venv $(FAULTS_INVENTORY)
	$(FAULTS_PLAYBOOK) tests/integration/faults.yml $(FAULTS_ARGS)

faults-lab-disruptive: venv $(FAULTS_INVENTORY)
	$(FAULTS_PLAYBOOK) tests/integration/faults/dom0_reboot.yml $(FAULTS_ARGS)
	$(FAULTS_PLAYBOOK) tests/integration/faults/ssh_cut.yml $(FAULTS_ARGS)
