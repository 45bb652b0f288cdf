# make demo   set up .venv and run the demo (trains a model on built-in data)
# make test   set up .venv and run the whole test suite (printing why any test skipped)
# make test-fast  the same without the tests marked slow
# make gallery regenerate the pictures in viz/
# They install what they need: a virtual environment with the Python packages, the
# Graphviz `dot` program through apt when it is missing, and for make test headless Chromium.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-fast gallery setup dot browser mpi clean

demo: setup
	$(PY) examples/demo.py

test: setup browser mpi
	@echo "running the whole test suite"
	$(PY) -m pytest -q -rs

test-fast: setup
	$(PY) -m pytest -q -rs -m "not slow"

gallery: setup
	$(PY) viz/generate.py

setup: $(VENV)/.installed dot

$(VENV)/.installed: setup.cfg pyproject.toml
	@echo "creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "installing tinyseq and its packages into $(VENV) (numpy, safetensors, graphviz, matplotlib; for the tests pytest, hypothesis, the CPU build of PyTorch, selenium and nbclient)"
	$(PY) -m pip install -q -e ".[viz,dev]"
	touch $@

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

# OpenMPI (mpirun) and mpi4py for the data-parallel tests (tests/test_distributed.py)
mpi: $(VENV)/.installed
	@command -v mpirun >/dev/null 2>&1 || { \
	  echo "installing OpenMPI (openmpi-bin, libopenmpi-dev) with apt-get"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null; }
	@$(PY) -c "import mpi4py" 2>/dev/null || { \
	  echo "installing mpi4py into $(VENV) (the distributed extra)"; \
	  $(PY) -m pip install -q -e ".[distributed]"; }

clean:
	rm -rf $(VENV) *.egg-info
