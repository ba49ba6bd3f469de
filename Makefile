# Two entry points that set everything up on a fresh machine with Python 3.11:
#   make run    – create .venv, install, start the app on http://localhost:8501
#   make test   – create .venv, install (with test extras and Debian's chromium), run all tests
# Both compile the Numba kernels of the app's first pages once after installing
# (scripts/warm_kernels.py, one progress line per step), and again whenever a kernel source
# changes; with a warm cache that step takes about a second. `make run` then runs the first
# pages once in the background (scripts/prime_app.py) so the first browser finds them ready.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PORT   ?= 8501
STAMP   = $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
WARM    = $(VENV)/.kernels-warm
KERNELS = $(wildcard engine/kernels/*.py)

.PHONY: run test bench soak capacity chromium clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(WARM): $(STAMP) $(KERNELS) scripts/warm_kernels.py
	$(PY) scripts/warm_kernels.py
	touch $(WARM)

run: $(WARM)
	$(PY) scripts/prime_app.py --port $(PORT) & \
	$(PY) -m streamlit run app/main.py --server.port $(PORT)

chromium:
	bash scripts/ensure_chromium.sh

test: $(WARM) chromium
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000 \
		$(PY) -m benchmarks.run

# A class on this machine (needs Debian's nginx): 30 users, 5–15 s think, 2 processes behind
# nginx, 20 minutes; and how many users one process on one core holds at p95 <= 0.5 s.
soak: $(WARM)
	mkdir -p benchmarks/results
	$(PY) -m benchmarks.load_test --cluster 2 --users 30 --think 5,15 --arrival 15 \
		--duration 1200 --json benchmarks/results/soak.json

capacity: $(WARM)
	mkdir -p benchmarks/results
	$(PY) -m benchmarks.load_test --capacity --think 5,15 --step 60 \
		--json benchmarks/results/capacity.json

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
