# make demo       set up what the demo needs and run it (trains a model on built-in data)
# make test       set up the test tools too and run the whole test suite (printing why any test skipped)
# make test-fast  the same without the tests marked slow
# make gallery    regenerate the pictures in viz/
# make setup-demo, make setup-test   only the set-up of make demo, make test
# Each says what it installs before installing it: a virtual environment .venv with the Python
# packages, Graphviz's `dot` through apt when it is missing, and for the tests headless Chromium
# and Open MPI (mpirun).
# A stamp file in .venv records each set-up, so `make demo` then `make test` installs only the
# test tools on top, and `make test` on a fresh clone installs everything at once.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --progress-bar off --no-compile

.PHONY: demo test test-fast gallery setup-demo setup-test dot browser openmpi clean

demo: setup-demo
	@echo "running the demo: examples/demo.py"
	$(PY) examples/demo.py

test: setup-test
	@echo "running the whole test suite"
	$(PY) -m pytest -q -rs

test-fast: setup-test
	@echo "running the test suite without the tests marked slow"
	$(PY) -m pytest -q -rs -m "not slow"

gallery: setup-demo
	@echo "regenerating the pictures in viz/"
	$(PY) viz/generate.py

# What the demo needs: tinyseq with numpy, safetensors, tqdm, graphviz and matplotlib, and dot.
setup-demo: $(VENV)/.demo-installed dot

# What the tests need on top: the test tools, and the system programs the tests drive, each a
# target below: `openmpi` (mpirun, before mpi4py is installed) and `browser` (Chromium).
setup-test: openmpi $(VENV)/.test-installed dot browser

$(PY):
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { \
	  echo "installing Python's venv module (python3-venv) with apt-get"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq python3-venv >/dev/null; }
	@echo "creating the virtual environment $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(VENV)/.demo-installed: setup.cfg pyproject.toml | $(PY)
	@echo "installing tinyseq (editable) into $(VENV) with what the demo needs: numpy, safetensors, tqdm, graphviz, matplotlib"
	$(PIP) -e ".[viz]"
	touch $@

# The test tools include the CPU build of PyTorch (the tests' oracle): the longest download.
$(VENV)/.test-installed: setup.cfg pyproject.toml | $(PY)
	@echo "installing tinyseq (editable) into $(VENV) with the demo's packages and the test tools: pytest, hypothesis, PyTorch 2.13 (CPU build, the tests' oracle), selenium, nbclient, ipykernel, mpi4py"
	$(PIP) -e ".[viz,dev,distributed]"
	touch $@ $(VENV)/.demo-installed

dot:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing Graphviz (dot) with apt-get"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq graphviz >/dev/null; }

# headless Chromium for the explorer's browser tests (tests/test_explorer.py)
browser:
	@{ [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; } || { \
	  echo "installing Chromium and its driver (chromium, chromium-driver) with apt-get"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

# Open MPI (mpirun) for the data-parallel tests (tests/test_distributed.py); mpi4py uses it
openmpi:
	@command -v mpirun >/dev/null 2>&1 || { \
	  echo "installing Open MPI (openmpi-bin, libopenmpi-dev) with apt-get"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null; }

clean:
	rm -rf $(VENV) *.egg-info
