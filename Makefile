# touchdown — the two set-up commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export TOUCHDOWN_DATA ?= $(abspath ../shared/data)
export NUMBA_CACHE_DIR ?= $(abspath .numba-cache)

# Open MCT for mission control in the browser, from the npm registry (pinned in package-lock).
MCT       := src/touchdown/ground/mct
MCT_STAMP := $(MCT)/node_modules/.installed
# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench clean browser prepare warm mct

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(MCT_STAMP): $(MCT)/package.json $(MCT)/package-lock.json
	npm ci --prefix $(MCT) --no-audit --no-fund --loglevel=error
	touch $(MCT_STAMP)

browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# What `make run` and `make test` need first, two jobs side by side: the Python environment,
# then the compiled flight software (warm), and Open MCT from npm (network and disk).
prepare:
	@$(MAKE) --no-print-directory -j2 warm mct

mct: $(MCT_STAMP)
	@:

# Compile the flight software once into Numba's cache (NUMBA_CACHE_DIR): ~50 s of one core on
# a fresh machine or after an edit to the kernels' source, then a warm flight (< 1 s). On a
# terminal the fly's status line says it is compiling.
warm: $(STAMP)
	$(BIN)/touchdown fly hakuto-r-m1 > /dev/null

run: prepare
	$(BIN)/touchdown compare hakuto-r-m1 hakuto-r-m1-fixed --out out
	$(BIN)/touchdown library --out out/library
	rm -f out/ground-hakuto-r-m1.sqlite*
	$(BIN)/touchdown ground ingest out/hakuto-r-m1/received.downlink \
		--archive out/ground-hakuto-r-m1.sqlite --new -q
	$(BIN)/touchdown campaign hakuto-r-m1 --runs 500 --out out/campaign-hakuto-r-m1 --resume
	$(BIN)/touchdown campaign hakuto-r-m1-fixed --runs 500 --out out/campaign-hakuto-r-m1-fixed \
		--resume
	$(BIN)/touchdown report --compare out/hakuto-r-m1 out/hakuto-r-m1-fixed \
		--out out/reports/compare -q
	$(BIN)/touchdown report out/hakuto-r-m1 --out out/reports/hakuto-r-m1 -q

test: prepare browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Benchmarks run in their own environment: touchdown plus Basilisk (bsk) for the comparison.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml benchmarks/requirements-basilisk.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -e . -r benchmarks/requirements-basilisk.txt
	touch $(BENCH_STAMP)

# One run, every figure of benchmarks/README.md, headed by the machine and the date (~25 min).
bench: $(BENCH_STAMP)
	@echo "touchdown benchmarks, $$(date -u '+%Y-%m-%d %H:%M UTC'), $$(git rev-parse --short HEAD)"
	@echo "machine: $$(nproc) cores, $$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)," \
		"$$(free -g | awk '/^Mem/ {print $$2}') GiB"
	$(BENCH_VENV)/bin/python benchmarks/bench_fly.py
	$(BENCH_VENV)/bin/python benchmarks/bench_library.py --baseline 2d84487
	$(BENCH_VENV)/bin/python benchmarks/bench_library.py --baseline 2d84487 --runs 10000 \
		--landers hakuto-r-m1
	$(BENCH_VENV)/bin/python benchmarks/bench_campaign.py
	$(BENCH_VENV)/bin/python benchmarks/bench_survey.py
	$(BENCH_VENV)/bin/python benchmarks/bench_memory.py --runs 100000
	$(BENCH_VENV)/bin/python benchmarks/bench_startup.py
	$(BENCH_VENV)/bin/python benchmarks/bench_startup.py --compile
	$(BENCH_VENV)/bin/python benchmarks/bench_ground.py --repeat 3
	$(BENCH_VENV)/bin/python benchmarks/bench_junk.py
	$(BENCH_VENV)/bin/python benchmarks/bench_camera.py
	$(BENCH_VENV)/bin/python benchmarks/bench_guidance.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) .numba-cache out $(MCT)/node_modules
