"""PyTorch baseline on this machine's CPU for `npm run bench:cpu`: full training steps (forward, backward, clip,
AdamW) of the CS336 model in float32 with the same code as the reference cases.

    /usr/bin/python3 tools/parity/torch_cpu_bench.py --batch 8 --steps 2
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'reference-cases'))
from make_cases import Rng, init_params, lm_logits, clip_grads, cross_entropy  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--batch', type=int, default=8)
ap.add_argument('--steps', type=int, default=2)
a = ap.parse_args()
cfg = {'vocab_size': 10000, 'context_length': 256, 'd_model': 512, 'num_layers': 4, 'num_heads': 16, 'd_ff': 1344,
       'rope_theta': 10000.0, 'rmsnorm_eps': 1e-5}
T = cfg['context_length']
torch.set_num_threads(os.cpu_count() or 1)
rng = Rng(0, 'cpu-bench')
P = {n: torch.nn.Parameter(t.to(torch.float32)) for n, t in init_params(cfg, rng).items()}
opt = torch.optim.AdamW(list(P.values()), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
x = rng.ints(10000, a.batch, T)
y = rng.ints(10000, a.batch, T)


def step():
    opt.zero_grad(set_to_none=True)
    loss = cross_entropy(lm_logits(P, cfg, x), y)
    loss.backward()
    clip_grads([p.grad for p in P.values()], 1.0)
    opt.step()
    return float(loss)


step()  # warm-up
t0 = time.time()
for _ in range(a.steps):
    step()
dt = (time.time() - t0) / a.steps
print(f'torch {torch.__version__} CPU ({torch.get_num_threads()} threads), fp32, batch {a.batch}: {dt * 1000:.0f} ms/step, {a.batch * T / dt:.0f} tokens/s')
