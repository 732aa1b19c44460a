# The two commands a newcomer needs (see README.md):
#   make build   set up this machine, build the starter recipes for riscv64, show the wheels
#   make test    set up this machine, run the whole test suite
# Both need root (apt packages; the riscv64 userland is a chroot).

VENV    := .venv
PYTHON  := $(VENV)/bin/python
FACTORY := $(VENV)/bin/factory

# Host tools: git for sources, libyaml-dev for the native tests, qemu-user-static +
# binfmt-support + mmdebstrap + arch-test + zstd for the emulated riscv64 userland
# (mmdebstrap also makes the toolchain companion, the host-native riscv64 cross
# compilers, on first use: nothing else to install).
APT_PACKAGES := python3-venv python3-dev git build-essential libyaml-dev patchelf \
	qemu-user-static binfmt-support mmdebstrap arch-test zstd ca-certificates

.PHONY: deps venv build test prove lint bench clean

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "+ apt-get install $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The build tools are pinned (the same file pins them inside the riscv64 userland).
CONSTRAINTS := factory/constraints/tools.txt

$(PYTHON): pyproject.toml $(CONSTRAINTS)
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --constraint $(CONSTRAINTS) --upgrade pip
	$(PYTHON) -m pip install -q --constraint $(CONSTRAINTS) -e '.[test]'
	@touch $(PYTHON)

venv: $(PYTHON)

# What `make build` builds: a starter set that takes minutes in the emulated userland.
# `make build PACKAGES=--all` builds every recipe that is not retired (many hours:
# numpy, llama-cpp-python and torch are large), `make build PACKAGES="numpy"` one.
PACKAGES ?= pyyaml netifaces

build: deps venv
	$(FACTORY) build $(PACKAGES)
	$(FACTORY) index
	@echo
	@ls -1 wheelhouse/*.whl
	@echo
	@echo "Try the index: $(FACTORY) serve   (serves index/ on 127.0.0.1:8000), then on riscv64:"
	@echo "  pip install --index-url http://127.0.0.1:8000/simple/ pyyaml"

test: deps venv
	$(PYTHON) -m pytest -v --durations=20

# The whole proven set (tests/test_proven.py; CI proves a part of it): built for riscv64
# in the userland, installed by pip inside riscv64 from our index, tested there. About
# an hour on 2 cores (57 min measured); prints each build's time.
prove: deps venv
	FACTORY_PROVE=all $(PYTHON) -m pytest -v -s tests/test_proven.py

lint: venv
	$(VENV)/bin/ruff check factory tests bench
	$(VENV)/bin/ruff format --check factory tests bench
	$(PYTHON) -m mypy

bench: deps venv
	$(PYTHON) bench/overhead.py

clean:
	rm -rf $(VENV) wheelhouse builds index
