# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The bad-input suite (tests/integration/bad_input.yml): 40+ bad inputs over
# every module and role entry point, each refused with a message naming the
# option, and the host unchanged (snapshots before, per group and after).
#   make bad-input-local   on this machine (localhost, no Xen: a stub `xl` answers `xl list`)
#   make bad-input-lab     on the running lab's dom0 (real xl; about 7 minutes under TCG)
.PHONY: bad-input-local bad-input-lab
bad-input-local: venv
	$(VENV)/bin/ansible-playbook -i localhost, -c local \
	  -e ansible_python_interpreter=$(CURDIR)/$(VENV)/bin/python -e bad_input_stub_xl=true \
	  tests/integration/bad_input.yml

# The lab's inventory; guests.mk has the rule that writes it.
bad-input-lab: venv .cache/xenlab/guests-inventory.yml
	ANSIBLE_PIPELINING=true $(VENV)/bin/ansible-playbook -i .cache/xenlab/guests-inventory.yml \
	  -e bad_input_hosts=xen_dom0 tests/integration/bad_input.yml
