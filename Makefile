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

.PHONY: demo test lint typecheck workflows audit unit bench clean system-deps test-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# One stamp per install flavour; they are redone when pyproject.toml changes.
$(VENV)/.runner: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[runner,bot]'
	@touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[runner,bot,dev]'
	@touch $@ $(VENV)/.runner

demo: $(VENV)/.runner
	$(BIN)/relayq demo

test: $(VENV)/.dev test-deps lint typecheck audit unit

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
audit: $(VENV)/.dev test-deps workflows
	@systemd-analyze security --offline=true --threshold=15 deploy/systemd/relayq-bot.service \
		> $(VENV)/.unit-audit 2>&1 || { cat $(VENV)/.unit-audit; exit 1; }
	@tail -1 $(VENV)/.unit-audit
	$(BIN)/python tools/audit_deps.py
	$(BIN)/python tools/secret_scan.py

unit: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Debian packages the benchmarks need (speech synthesis). Installed only when missing.
system-deps:
	@command -v espeak-ng >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq espeak-ng >/dev/null; }

# Debian packages the tests need: systemd-analyze checks the bot's unit (deploy/systemd).
test-deps:
	@command -v systemd-analyze >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq systemd >/dev/null; }

bench: $(VENV)/.dev system-deps
	$(BIN)/python bench/transcribe.py
	$(BIN)/python bench/github_budget.py
	$(BIN)/python bench/bot_load.py

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache bench/.cache
