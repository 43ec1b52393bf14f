PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck bench fuzz clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/s3d run

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 tests

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The fuzz tests (tests/fuzz) at full length: many more hypothesis examples per parser, and a long raw-socket
# mutation run against a live daemon. `make test` runs the same files in their short, bounded form.
FUZZ_SEED ?= $(shell date +%s)
FUZZ_REQUESTS ?= 50000
fuzz: $(STAMP)
	S3D_FUZZ_PROFILE=fuzz S3D_FUZZ_SEED=$(FUZZ_SEED) S3D_FUZZ_REQUESTS=$(FUZZ_REQUESTS) S3D_FUZZ_SECONDS=3600 \
		$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider --timeout 7200 tests/fuzz

clean:
	rm -rf $(VENV) s3d-data

# The benchmark harness (bench/): s3d against rclone serve s3 and moto_server, plus the machine's limits.
# Installs wrk, iperf3, s3fs and fuse3 (apt-get) and moto[server] when missing. A short run: make bench BENCH_ARGS=--quick
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.gateway $(BENCH_ARGS)
	$(BIN)/python -m bench.fleet $(BENCH_ARGS)
	$(BIN)/python -m bench.tls $(BENCH_ARGS)
	$(BIN)/python -m bench.mount $(BENCH_ARGS)
	$(BIN)/python -m bench.filters $(BENCH_ARGS)
	$(BIN)/python -m bench.sync $(BENCH_ARGS)
	$(BIN)/python -m bench.sse $(BENCH_ARGS)
	$(BIN)/python -m bench.select $(BENCH_ARGS)
	$(BIN)/python -m bench.erasure $(BENCH_ARGS)
	$(BIN)/python -m bench.console $(BENCH_ARGS)
