# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Local Beam engines (Prism; Flink's and Spark's job servers) go into a cache outside the repo
# (~/.cache/corpusbeam): see pipelines/engines.py. Installing is skipped for what is already there.
.PHONY: demo test runners lint bench-engines bench-cleaning bench-neardup bench-planted bench-incremental bench-digests bench-speed bench-scaling bench-throughput bench-bound fuzz clean

# The Dataflow dry-run test needs Beam's Google Cloud clients (the [dataflow] extra). They get a
# virtualenv of their own: where they are installed, `import apache_beam` imports them as well,
# about 0.3 s of CPU in every process (each run, test and SDK worker), so the dev virtualenv holds
# what a local user installs.
DATAFLOW_VENV := .venv-dataflow
comma := ,

# A virtualenv is (re)built when setup.py changes; its console script is its stamp.
# $(call virtualenv,FOLDER,EXTRAS): the recipe that builds one with the package and those extras.
define virtualenv
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -m pip install --quiet -e ".[$(2)]"
	touch $@
endef

$(BIN)/corpusbeam: setup.py
	$(call virtualenv,$(VENV),test)

$(DATAFLOW_VENV)/bin/corpusbeam: setup.py
	$(call virtualenv,$(DATAFLOW_VENV),test$(comma)dataflow)

## Run the main job on the samples bundled in the repo; prints where the Parquet is.
demo: $(BIN)/corpusbeam
	$(BIN)/corpusbeam run --config configs/local.yaml \
		--input 'samples/*.jsonl*' --input 'samples/notes/*.txt' --output out/sample --overwrite

## Install the local engines: Prism (built from Beam's Go module, patched) and the Flink and Spark job servers (mvn).
runners: $(BIN)/corpusbeam
	$(BIN)/python -m pipelines.engines --require prism --require flink --require spark

## Lint and the whole test suite (what CI runs). As root, installs Debian's chromium for the report
## rendering test when it is missing; elsewhere that one test skips (or fails under CORPUSBEAM_REQUIRE_CHROMIUM).
test: $(BIN)/corpusbeam $(DATAFLOW_VENV)/bin/corpusbeam runners
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || apt-get install -y -qq chromium >/dev/null 2>&1 \
		|| (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "note: could not install chromium"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest
	CORPUSBEAM_REQUIRE_DATAFLOW=1 $(DATAFLOW_VENV)/bin/python -m pytest tests/runners/test_dataflow.py

## Benchmarks: commands, not tests. They read ../shared (see README).
bench-engines: $(BIN)/corpusbeam runners
	$(BIN)/python bench/engines.py --docs 10000

bench-cleaning: $(BIN)/corpusbeam
	$(BIN)/python bench/cleaning_eval.py

bench-neardup: $(BIN)/corpusbeam
	$(BIN)/python bench/neardup_eval.py --threshold 0.8

bench-planted: $(BIN)/corpusbeam
	$(BIN)/python bench/planted.py --docs 10000 --threshold 0.8

bench-incremental: $(BIN)/corpusbeam
	$(BIN)/python bench/incremental.py --docs 10000 --threshold 0.8

bench-digests: $(BIN)/corpusbeam
	$(BIN)/python bench/digests.py

bench-speed: $(BIN)/corpusbeam
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/speed.py --docs 100000

bench-scaling: $(BIN)/corpusbeam
	$(BIN)/python bench/scaling.py --sizes 10000 30000 100000 --repeats 2

bench-throughput: $(BIN)/corpusbeam
	$(BIN)/python bench/throughput.py

bench-bound: $(BIN)/corpusbeam
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/spdx_bound.py --threshold 0.8 --precision 0.95

FUZZ_SECONDS ?= 600
fuzz: $(BIN)/corpusbeam
	$(BIN)/python -m pip install --quiet -e ".[fuzz]"
	for target in jsonl text warc archive; do $(BIN)/python bench/fuzz_records.py --target $$target --seconds $(FUZZ_SECONDS) || exit 1; done

clean:
	rm -rf out build *.egg-info .pytest_cache .ruff_cache
