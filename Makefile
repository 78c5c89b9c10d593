# hwnas: `make demo` runs the main job on the embedded default, `make test` runs the tests.
# Both set up the local environment (.venv) first if it is missing or out of date.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.hwnas-installed

.PHONY: install browser test test-slow demo bench clean

install: $(STAMP)

# torch is installed first from the pinned constraint (the CPU wheel on this kind of machine);
# the constraint then keeps every later resolver step from replacing it with a CUDA build.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt torch
	$(PIP) install -q -c constraints.txt -e ".[test]"
	@if $(PIP) list 2>/dev/null | grep -qi '^nvidia-'; then \
		echo "install: a CUDA package was pulled in; check constraints.txt" >&2; exit 1; fi
	$(PY) -c "import torch, ray, ai_edge_litert, onnxruntime; print('hwnas env ready: torch', torch.__version__, 'ray', ray.__version__)"
	touch $(STAMP)

# Debian's chromium, for the Ray dashboard screenshot test (tests/dashboard); apt-get needs root or sudo.
browser:
	@command -v chromium >/dev/null 2>&1 || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	@chromium --version 2>/dev/null

test: install
	$(PY) -m pytest -q -m "not slow"

test-slow: install
	$(PY) -m pytest -q -m slow

demo: install
	$(VENV)/bin/hwnas demo

bench: install
	@for f in benchmarks/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache
