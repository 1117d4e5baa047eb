# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	bash scripts/system-packages.sh
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# The requirements are a complete lock: --no-deps keeps insightface from pulling in the
	# GUI build of OpenCV (see docs/ENVIRONMENT notes in the README).
	$(VENV)/bin/pip install -q --no-deps -r requirements-dev.txt
	touch $@

run: $(STAMP)
	$(VENV)/bin/python manage.py migrate --noinput
	$(VENV)/bin/python manage.py collectstatic --noinput -v 0
	@# Says in one paragraph what to do when no face pack loads; the gallery serves either way.
	$(VENV)/bin/python manage.py check_face_pack
	@echo "SmartGallery on http://127.0.0.1:$${PORT:-8000} (Ctrl-C stops the web server, the worker and beat)"
	@# honcho gives each process PORT (web: the base port, the others +100 each).
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python scripts/run.py -f Procfile start --port $${PORT:-8000}

test: $(STAMP)
	bash scripts/system-packages.sh test
	bash scripts/test.sh

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

# Every benchmark with its bounded defaults, as `python -m bench.<name>` (bench/_*.py are shared
# helpers, not benchmarks). soak runs 10 minutes by default: `make bench` takes about 25 minutes.
bench: $(STAMP)
	bash scripts/system-packages.sh bench
	@for script in bench/[!_]*.py; do name=$$(basename $$script .py); echo "== bench.$$name"; $(VENV)/bin/python -m bench.$$name || exit 1; done

clean:
	rm -rf $(VENV) staticfiles
