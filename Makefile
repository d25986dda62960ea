# edge: photos -> fast, verified classifier. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
RUNTIME_VENV ?= .venv-runtime
FLOWERS = data/flowers5
DATA ?= $(FLOWERS)
# Targets that read DATA fill data/flowers5 first when DATA is it (make data).
NEEDS_DATA = $(if $(filter $(FLOWERS),$(DATA)),data)
RUN ?= runs/flowers5
EXPORT ?= exports/flowers5
BENCH_OUT ?= benchmarks/flowers5
# The machine's pip config may offer a CPU-only torch wheel through find-links; torchvision 0.28
# does not import with it. Ignore every local pip config so the registry's build is installed.
PIP = env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null $(VENV)/bin/pip
RUNTIME_PIP = env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null $(RUNTIME_VENV)/bin/pip

.PHONY: help install wheel install-runtime install-imx500 lint-imports data train export infer bench serve-bench soak accuracy-check unknown-check test test-slow lint pi-check clean

help:
	@echo "install          .venv with edge[train,dev,litert,pnnx] (torch 2.13.0 from the registry)"
	@echo "wheel            dist/edge_classifier-VERSION-py3-none-any.whl: what a Pi or a laptop installs"
	@echo "install-runtime  .venv-runtime from the wheel[pi]: the torch-free runtime, as on a Pi (SYSTEM_SITE=1: see apt packages)"
	@echo "install-imx500   .venv-imx500: Sony's MCT and imxconv-pt for edge export --format imx500 (the AI Camera; Java 17+)"
	@echo "data             fill $(FLOWERS): FROM=PATH, else ../shared/data/flowers5, else download tf_flowers"
	@echo "train            train the default model on DATA=$(DATA) into RUN=$(RUN)"
	@echo "export           export RUN to EXPORT=$(EXPORT) with INT8 artifacts"
	@echo "infer            classify DATA with the INT8 ONNX artifact"
	@echo "bench            benchmark every format of RUN into $(BENCH_OUT)"
	@echo "serve-bench      edge-infer --serve under 1-64 clients on 127.0.0.1 vs the folder pipeline (benchmarks/serve)"
	@echo "soak             10,000 frames through the runtime; RSS must stay flat (benchmarks/soak)"
	@echo "accuracy-check   5-fold CV of the whole edge train + export on DATA (benchmarks/accuracy_check)"
	@echo "unknown-check    which score tells 'none of my classes' best (benchmarks/unknown)"
	@echo "test / lint      fast tests / ruff; test-slow adds the real-data tests"
	@echo "pi-check         run the runtime in an emulated 64-bit ARM Debian (slow, needs root)"

install:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[train,dev,litert,pnnx]'  # litert, pnnx: the tflite and ncnn converters (tests skip without them)
	$(VENV)/bin/python -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"

# The wheel a Pi (or a laptop) installs: pure Python, so one file serves x86 and ARM alike.
wheel:
	rm -rf dist/edge_classifier-*.whl
	env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null $(PYTHON) -m pip wheel --no-deps -q -w dist .
	@ls dist/edge_classifier-*.whl

# The runtime alone, installed from the wheel exactly as the README tells a Pi (the pi extra: LiteRT, the
# server, MQTT; no OpenVINO, no torch). SYSTEM_SITE=1 makes the venv see apt packages (python3-picamera2 on Raspberry Pi OS).
# PYTHON=python3.10 (the README's line) where that Python is missing, a bare pyenv shim included: python3,
# with a message, instead of make's "Error 127". Checked only when install-runtime is asked for.
install-runtime: override PYTHON := $(if $(filter install-runtime,$(MAKECMDGOALS)),$(shell $(PYTHON) -c '' 2>/dev/null \
	&& echo $(PYTHON) || { echo "install-runtime: $(PYTHON) is not installed here; using python3" >&2; echo python3; }),$(PYTHON))
install-runtime: wheel
	rm -rf $(RUNTIME_VENV)
	$(PYTHON) -m venv $(if $(SYSTEM_SITE),--system-site-packages) $(RUNTIME_VENV)
	$(RUNTIME_PIP) install -q "$$(ls dist/edge_classifier-*.whl)[pi]"
	$(RUNTIME_VENV)/bin/python -c "import sys, edge.runtime, edge.devices; assert 'torch' not in sys.modules; print('runtime ok, torch-free')"

# The Raspberry Pi AI Camera's toolchain (edge export --format imx500), beside .venv: Sony's tools pin what edge's
# venv has newer. quantize/: MCT + edge-mdt-tpc (matplotlib<3.10, networkx<3.6), seeing .venv's torch and edge
# behind its own packages (one .pth line), so torch is not installed twice. convert/: imxconv-pt (onnx 1.17,
# onnxruntime 1.21, mct-quantizers 1.6; its compiler runs on Java 17+). .venv itself gets mct-quantizers 1.7 and
# onnxruntime-extensions: the parity check runs MCT's quantizer ops there. ~1 min from a warm pip cache.
IMX500_VENV ?= .venv-imx500
PURELIB = -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
install-imx500:
	@java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])' || { echo "install-imx500: imxconv-pt needs Java 17+:" \
		"sudo apt install -y openjdk-17-jre-headless (or set JAVA_HOME)" >&2; exit 1; }
	$(PIP) install -q 'mct-quantizers==1.7.0' 'onnxruntime-extensions>=0.13'
	rm -rf $(IMX500_VENV)
	$(VENV)/bin/python -m venv $(IMX500_VENV)/quantize
	$(VENV)/bin/python -m venv $(IMX500_VENV)/convert
	echo "import site; site.addsitedir('$$($(VENV)/bin/python $(PURELIB))')" \
		> "$$($(IMX500_VENV)/quantize/bin/python $(PURELIB))/zz-edge-main-venv.pth"
	env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null $(IMX500_VENV)/quantize/bin/pip install -q \
		'setuptools>=77' 'model-compression-toolkit==2.6.1' 'edge-mdt-tpc==1.3.0'
	env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null $(IMX500_VENV)/convert/bin/pip install -q \
		'imx500-converter[pt]==3.19.2'
	$(IMX500_VENV)/quantize/bin/python -c "import model_compression_toolkit as m, edgemdt_tpc, torch, edge; print('MCT', m.__version__, 'torch', torch.__version__)"
	$(VENV)/bin/python -c "from edge.export.imx500_tools import missing; print(missing() or 'imx500 toolchain ok')"

data:
	$(PYTHON) scripts/get_data.py --out $(FLOWERS) $(if $(FROM),--from $(FROM))

train: $(NEEDS_DATA)
	$(VENV)/bin/edge train $(DATA) --out $(RUN) --force

export:
	$(VENV)/bin/edge export $(RUN) --out $(EXPORT) --int8 --force

infer: $(NEEDS_DATA)
	$(VENV)/bin/edge-infer $(EXPORT)/model.int8.onnx $(DATA)

bench:
	$(VENV)/bin/edge bench $(RUN) --export-dir $(EXPORT) --out $(BENCH_OUT) --peers

serve-bench: $(NEEDS_DATA)
	$(VENV)/bin/python scripts/serve_load.py $(EXPORT) $(DATA) --out benchmarks/serve

soak:
	$(VENV)/bin/python scripts/soak.py $(EXPORT)/model.int8.onnx --out benchmarks/soak/result.json

accuracy-check: $(NEEDS_DATA)
	$(VENV)/bin/python scripts/accuracy_check.py $(DATA) --repeats 3 --out benchmarks/accuracy_check/flowers5.json
	$(VENV)/bin/python scripts/accuracy_check.py $(DATA) --classes daisy dandelion --train-per-class 60 \
		--out benchmarks/accuracy_check/daisy_dandelion.json

unknown-check: $(NEEDS_DATA)
	$(VENV)/bin/python scripts/unknown_check.py $(DATA) --out benchmarks/unknown/result.json
	$(VENV)/bin/python scripts/unknown_end_to_end.py $(EXPORT) $(DATA) --out benchmarks/unknown/end_to_end.json

# Whatever hangs (a test, or a library's child process at exit) ends the run instead of CI's 90-minute
# limit: pytest-timeout fails one test after 300 s (pyproject.toml), `timeout` stops the whole run.
TEST_LIMIT ?= 1200
test: lint-imports
	timeout --kill-after=30 $(TEST_LIMIT) $(VENV)/bin/pytest -q

# The layer and no-torch contracts in pyproject.toml ([tool.importlinter])
lint-imports:
	$(VENV)/bin/lint-imports

test-slow:
	timeout --kill-after=30 3600 $(VENV)/bin/pytest -q -m slow

lint:
	$(VENV)/bin/ruff check edge tests

pi-check: $(NEEDS_DATA)
	bash scripts/pi-check.sh $(EXPORT) $(DATA) $(RUN)

clean:
	rm -rf runs exports .pytest_cache
