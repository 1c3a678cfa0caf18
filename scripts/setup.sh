#!/usr/bin/env bash
# Set up .venv with ayavision and its test tools on a fresh machine; safe to run again.
# CPU machines get torch==2.13.0 (a CPU wheel on the project's build machines); GPU users set
# AYAVISION_TORCH to the torch requirement that matches their CUDA (e.g. AYAVISION_TORCH="torch==2.13.0").
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  # Installed first and alone: asked for by a package, a bare 'torch' would pull a multi-GB CUDA build.
  .venv/bin/python -m pip install --quiet "${AYAVISION_TORCH:-torch==2.13.0}" 2>&1 | grep -v "is ignored" || true
fi
.venv/bin/python -m pip install --quiet -e ".[dev]" 2>&1 | grep -v "is ignored" || true
.venv/bin/python -c "import ayavision, torch, transformers; print('ayavision', ayavision.__version__, '| torch', torch.__version__, '| transformers', transformers.__version__)"
