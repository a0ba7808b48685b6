# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo test lint chromium prior validation-prior stages lifter benchmarks clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/poselift estimate examples/astronaut.png --out $(OUT) --save-rounds --html
	@echo "demo output: $(OUT)/astronaut.json (2D and 3D joints), $(OUT)/astronaut.png (the picture)," \
		"$(OUT)/astronaut_rounds.png (belief maps per refinement round), $(OUT)/astronaut.html (3D viewer)"

# Every test (the slow ones too) and the linter; PYTEST_ARGS adds options (e.g. --durations=20).
# The HTML viewer's tests open it in Debian's Chromium, installed here when missing (as root).
test: $(STAMP) lint chromium
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium > /dev/null; } || \
		echo "make: could not install chromium; the viewer's browser tests will skip (and fail under CI)"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

# Re-create the shipped prior from Human3.6M (needs ../shared/data).
prior: $(STAMP)
	$(BIN)/poselift train-prior --subjects S1 S5 S6 S7 S8 --components 3 --basis 16 \
		--out src/poselift/models/h36m_prior.npz

# Re-create the shipped learned stages from LSP (needs ../shared/data; ~20 min on one CPU core).
stages: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/poselift train --config blazepose --lifting forward --flip --epochs 6 \
		--out runs/stages
	cp runs/stages/stages.pt src/poselift/models/blazepose_stages.pt

# A prior fitted like the shipped one but without the validation subject S8, for choosing settings
# on S8 that neither model has trained on (not shipped; benchmarks/guide_weight_sweep.py --prior).
validation-prior: $(STAMP)
	$(BIN)/poselift train-prior --subjects S1 S5 S6 S7 --components 3 --basis 16 --out runs/prior_noS8.npz

# Re-create the shipped learned lifter from Human3.6M S1 S5 S6 S7 mocap alone (needs ../shared/data;
# 35 to 45 min on this project's 2-core CPU).
lifter: $(STAMP)
	$(BIN)/poselift train-lifter --out runs/lifter
	cp runs/lifter/lifter.pt src/poselift/models/h36m_lifter.pt

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/prior_fit_time.py
	$(BIN)/python benchmarks/prior_quality.py
	$(BIN)/python benchmarks/lifting_validation.py
	$(BIN)/python benchmarks/lifting_speed.py
	$(BIN)/python benchmarks/learned_lifter_speed.py
	$(BIN)/python benchmarks/refinement_tuning.py
	$(BIN)/python benchmarks/estimate_speed.py --lifter prior
	$(BIN)/python benchmarks/estimate_speed.py --fast --lifter prior
	$(BIN)/python benchmarks/train_step_time.py
	$(BIN)/python benchmarks/exports.py
	$(BIN)/python benchmarks/video_smoothing.py
	$(BIN)/python benchmarks/video_speed.py --memory
	$(BIN)/python benchmarks/video_clips.py
	$(BIN)/python benchmarks/collection.py
	$(BIN)/poselift evaluate lsp --lifter prior --json benchmarks/results/lsp_evaluation.json
	$(BIN)/poselift evaluate lsp --lifter combined --json benchmarks/results/lsp_evaluation_combined.json
	$(BIN)/poselift evaluate lsp --json benchmarks/results/lsp_evaluation_learned.json

clean:
	rm -rf $(VENV) $(OUT) build src/*.egg-info
