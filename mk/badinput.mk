# The bad-input suite (tests/integration/bad_input.yml): 40+ bad inputs over
# every module and role entry point, each refused with a message naming the
# option, and the host unchanged (snapshots before, per group and after).
#   make bad-input-local   on this machine (localhost, no Xen: a stub `xl` answers `xl list`)
# On the lab dom0 the same playbook runs with -e bad_input_hosts=xen_dom0 (real xl).
.PHONY: bad-input-local
bad-input-local: venv
	$(VENV)/bin/ansible-playbook -i localhost, -c local \
	  -e ansible_python_interpreter=$(CURDIR)/$(VENV)/bin/python -e bad_input_stub_xl=true \
	  tests/integration/bad_input.yml
