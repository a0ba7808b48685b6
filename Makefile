# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo test prior benchmarks clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/pip install --quiet --no-deps "mediapipe==0.10.14"
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p $(OUT)
	$(BIN)/poselift show-prior --out $(OUT)/prior.png
	@echo "demo output: $(OUT)/prior.png"

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Re-create the shipped prior from Human3.6M (needs ../shared/data).
prior: $(STAMP)
	$(BIN)/poselift train-prior --subjects S1 S5 S6 S7 S8 --components 3 --basis 16 \
		--out src/poselift/models/h36m_prior.npz

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/prior_fit_time.py
	$(BIN)/python benchmarks/prior_quality.py

clean:
	rm -rf $(VENV) $(OUT) build src/*.egg-info
