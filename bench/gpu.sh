#!/usr/bin/env bash
# The GPU check in one command, for a bare CUDA machine (the device tool's image: torch, transformers,
# accelerate, peft; no trl, datasets, vaderSentiment or SQLAlchemy; no network). Prepare first, here:
#
#   bench/gpu_prepare.sh                 # .gpu/: the missing packages as wheels, GPT-2's tokenizer, Austen
#   (device tool) run  carry: [".gpu"]  command: PYTHONUNBUFFERED=1 bench/gpu.sh 2>&1 | tee $OUT/gpu.log
#   bench/gpu.sh --device cpu --dry-run  # the same steps on a CPU at tiny sizes (CI runs this: it cannot rot)
#
# Steps, within about 8 minutes on one H200-class GPU:
#   1. the carried wheels installed into /tmp/site (nothing is fetched), where the image lacks them;
#   2. a GPT-2-small-shaped model with random weights and GPT-2's real tokenizer (bench/gpu_model.py);
#   3. the training tests on the device (RLHF_TEST_DEVICE): reward, PPO on a learnable reward, SFT,
#      LoRA, checkpoint and resume, and tests/test_on_gpu.py (fp16 with loss scaling, bf16, optimizers);
#   4. bench/ppo.py at batch 64 and 512 in bf16: ours against TRL's PPOTrainer (episodes/s, FLOP/s
#      against the measured bf16 peak, peak memory);
#   5. bench/reward.py: our best-of-4 reward training against TRL's RewardTrainer.
#   6. bench/paper_scale.py: configs/mock_sentiment_gpu.yaml's projected wall time on this GPU, PPO
#      measured at the config's batch of 512.
# Each step prints a "== step" line and its wall time; a failing step is reported and the next runs.
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=cuda
DRY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --device) DEVICE=$2; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        *) echo "bench/gpu.sh: unknown argument $1 (use --device DEVICE, --dry-run)" >&2; exit 2 ;;
    esac
done
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
WORK=${GPU_WORK:-/tmp/rlhf-gpu}
DATA=.gpu/data
[ -d "$DATA" ] || DATA=${RLHF_SHARED_DATA:-../shared/data}
rm -rf "$WORK" && mkdir -p "$WORK"
FAILED=()

step() {  # step NAME COMMAND...: run it, print its wall time, remember a failure
    local name=$1; shift
    echo "== $name"
    local started=$SECONDS
    "$@"
    local code=$?
    echo "== $name: exit $code, $((SECONDS - started)) s"
    [ $code -eq 0 ] || FAILED+=("$name")
}

packages() {
    if "$PY" -c "import trl, datasets, sqlalchemy, vaderSentiment, rouge_score" 2>/dev/null; then
        echo "every package is already installed"; return 0
    fi
    [ -d .gpu/wheels ] || { echo "missing packages and no .gpu/wheels: run bench/gpu_prepare.sh here and carry .gpu" >&2; return 1; }
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/wheels/*.whl
}

step packages packages || true
[ -d /tmp/site ] && export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH} || export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
"$PY" - <<'PYEOF'
import torch, transformers, trl
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
print(f"torch {torch.__version__}, transformers {transformers.__version__}, trl {trl.__version__}; {gpu}")
PYEOF

MODEL=$WORK/gpt2
step model "$PY" bench/gpu_model.py "$DATA/gpt2_tokenizer" "$MODEL" $( [ $DRY -eq 1 ] && echo --tiny )

TESTS=(tests/test_on_gpu.py tests/models/test_loading.py)
[ $DRY -eq 1 ] || TESTS+=(tests/reward/test_reward_train.py tests/policy/test_trainer.py tests/policy/test_policy_train.py
                           tests/sft/test_sft_train.py)
step tests env RLHF_TEST_DEVICE="$DEVICE" "$PY" -m pytest -q -x -p no:cacheprovider -m "not slow" -rs "${TESTS[@]}"

export RLHF_SHARED_DATA=$DATA   # the benches' queries: Austen, carried in .gpu/data
if [ $DRY -eq 1 ]; then
    step ppo "$PY" bench/ppo.py --quick --updates 2
    step reward "$PY" bench/reward.py --quick --repeats 1 --workdir "$WORK/reward"
    step paper-scale "$PY" bench/paper_scale.py --quick --workdir "$WORK/scale"
else
    step ppo-64 "$PY" bench/ppo.py --model "$MODEL" --batch 64 --precision bf16 --updates 4
    step ppo-512 "$PY" bench/ppo.py --model "$MODEL" --batch 512 --precision bf16 --updates 3
    step reward "$PY" bench/reward.py --model "$MODEL" --repeats 2 --workdir "$WORK/reward"
    step paper-scale "$PY" bench/paper_scale.py --model "$MODEL" --ppo-batch 512 --ppo-updates 2 --sample-queries 128 --workdir "$WORK/scale"
fi

if [ ${#FAILED[@]} -gt 0 ]; then echo "bench/gpu.sh: failed steps: ${FAILED[*]}" >&2; exit 1; fi
echo "bench/gpu.sh: every step passed on $DEVICE"
