# Sourced by the GPU scripts (gpu_check.sh, gpu_faults.sh) in the repository root: installs what the GPU
# machine lacks into /tmp/site, without network: trl, datasets, math-verify and their small needs as wheels
# carried in .whl/ (gpu_check.sh says how to download them), and gnivo itself, not editable, so that its
# entry points register the built-in rewards. Where gnivo's own environment runs the script, nothing.
if ! python3 -c "import trl, datasets, math_verify" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
if ! python3 -c "import importlib.metadata as m; m.version('gnivo')" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target /tmp/site .
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
