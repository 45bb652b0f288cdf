# make demo   set up .venv and run the demo (trains a model on built-in data)
# make test   set up .venv and run the whole test suite
# make gallery regenerate the pictures in viz/
# Both install what they need: a virtual environment with the Python packages, and the
# Graphviz `dot` program through apt when it is missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test gallery setup dot clean

demo: setup
	$(PY) examples/demo.py

test: setup
	$(PY) -m pytest -q

gallery: setup
	$(PY) viz/generate.py

setup: $(VENV)/.installed dot

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e ".[viz,dev]"
	touch $@

dot:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing Graphviz (dot) with apt-get"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq graphviz >/dev/null; }

clean:
	rm -rf $(VENV) *.egg-info
