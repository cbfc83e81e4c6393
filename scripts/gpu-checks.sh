#!/usr/bin/env bash
# The GPU machine's checks and measurements in one call (device time is scarce). Here first:
#   npm run bundle; mkdir -p .refdata; cp ../shared/reference/*.safetensors .refdata/;
#   token files from `lmwb dataset prepare` (TinyStories heads, vocab 10000) as .refdata/ts10k-{train,valid}.bin,
#   run configs .refdata/soak-{a,b}.json (see BENCHMARKS.md)
# There (carry .device dist .refdata):  source .device/preamble.sh && bash scripts/gpu-checks.sh
set -uo pipefail
L=${OUT:-/tmp}/log
say() { echo "== $*" | tee -a "$L"; }
# SECTIONS picks what runs (default all): ref, bench, soak, parity (needs PARITY_STEPS > 0), torch, generate; also
# mm (matmul bench; SWEEP=1 adds the tile sweep) and tiles (the full step with each f16 tile in TILES, "TM,TN,SR,SC[,KS]" ;-separated)
S=",${SECTIONS:-ref,bench,soak,parity,torch,generate},"
want() { [[ "$S" == *",$1,"* ]]; }
run() { "$@" 2>&1 | grep -v '^Warning' | tee -a "$L"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$L"
if want ref; then
say "reference cases, f32";   run timeout 120 node dist/test-reference.mjs .refdata
say "reference cases, mixed"; run timeout 120 node dist/test-reference.mjs .refdata --precision mixed
fi
if want bench; then
say "bench f32 batch 128";    run timeout 120 node dist/train-bench.mjs --batch 128 --steps 10 --warmup 2 --precision f32 --no-kernels
say "bench mixed batch 128";  run timeout 120 node dist/train-bench.mjs --batch 128 --steps 20 --warmup 3 --precision mixed
say "bench mixed batch 128, Dawn bounds clamping on (LMWB_SAFE_KERNELS=1)"
LMWB_SAFE_KERNELS=1 run timeout 120 node dist/train-bench.mjs --batch 128 --steps 20 --warmup 3 --precision mixed --no-kernels
fi
if want mm; then
say "matmul bench (f16: f32 and f16 operands)"; ONLY=f16 run timeout 300 node dist/matmul-bench.mjs
fi
if want tiles; then
  IFS=';' read -ra TS <<< "${TILES:-128,128,2,2;256,128,4,2;128,256,2,4;128,128,2,2,64}"
  for t in "${TS[@]}"; do
    say "bench mixed batch 128, LMWB_F16_TILE=$t"
    LMWB_F16_TILE="$t" run timeout 120 node dist/train-bench.mjs --batch 128 --steps 10 --warmup 2 --precision mixed --no-kernels
  done
fi
if want soak; then
say "soak + resume (mixed, CS336 model, vocab 10000, batch 64)"
run timeout 150 node dist/lmwb.mjs train --config .refdata/soak-a.json | tail -5
run timeout 100 node dist/lmwb.mjs train --config .refdata/soak-b.json --resume /tmp/runs/soak-a/checkpoints/step_0000150.safetensors | tail -3
python3 - /tmp/runs/soak-a/checkpoints/step_0000300.safetensors /tmp/runs/soak-b/checkpoints/step_0000300.safetensors <<'PY' | tee -a "$L"
import sys, struct
a, b = [open(f, 'rb').read() for f in sys.argv[1:]]
ha, hb = 8 + struct.unpack('<Q', a[:8])[0], 8 + struct.unpack('<Q', b[:8])[0]
print('resume on GPU:', 'tensors bitwise identical' if a[ha:] == b[hb:] else 'TENSORS DIFFER')
PY
fi
if want parity && [ "${PARITY_STEPS:-0}" -gt 0 ]; then
  mkdir -p /tmp/parity
  say "parity with PyTorch fp32: ${PARITY_STEPS} steps, batch ${PARITY_BATCH:-32}, TinyStories vocab 10000"
  run timeout 300 python3 tools/parity/torch_train_run.py --data .refdata/ts10k-train.bin --vocab 10000 --steps "$PARITY_STEPS" --batch "${PARITY_BATCH:-32}" --out /tmp/parity/parity.safetensors
  VERBOSE=1 run timeout 300 node dist/test-reference.mjs /tmp/parity --precision mixed
fi
if want torch; then say "PyTorch baseline (ref_torch.py, batch 128)"; BS=128 run timeout 200 python3 .device/ref_torch.py; fi
if want generate; then
say "generate: KV-cache decode, CS336 model, batch 1 and 32 (f32 and mixed)"
run timeout 300 node dist/generate-bench.mjs --batch 1,32 --prompt-len 16 --precision f32,mixed
say "generate: PyTorch eager static-KV-cache decode, same model and call (float32, then bfloat16)"
run timeout 200 python3 tools/parity/torch_decode_bench.py --batch 1,32 --prompt-len 16
run timeout 200 python3 tools/parity/torch_decode_bench.py --batch 1,32 --prompt-len 16 --dtype bfloat16
say "generate: PyTorch-generated awkward cases, generate_greedy included (f32)"
mkdir -p /tmp/refgen && python3 tools/reference-cases/make_cases.py /tmp/refgen --preset awkward >/dev/null 2>&1 && run timeout 180 node dist/test-reference.mjs /tmp/refgen
fi
