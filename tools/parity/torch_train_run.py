"""Makes a long `train_run` reference case on real token data with PyTorch on the GPU, for side-by-side loss
parity of the engine (mixed precision included) with PyTorch on the same batches.

    python3 tools/parity/torch_train_run.py --data train.bin --vocab 10000 --steps 2000 --batch 32 --out case.safetensors

The model is the CS336 TinyStories transformer (d 512, 4 layers, 16 heads, d_ff 1344, ctx 256) unless --model
overrides keys (JSON). Weights are initialised like the reference cases; batches are uniform random windows of
the uint16 token file; PyTorch trains in float32 with TF32 off (the exact reference), or with --autocast bf16 in
the mixed precision PyTorch users train with (torch.autocast to bfloat16 around the forward and loss; float32
weights, gradients and AdamW, as in ref_torch.py's eager bf16). The case's config asks the
checker for the 1% criterion: the mean loss of the last --window steps within --rel-tol of PyTorch's.
Needs torch (CUDA if present, else CPU) and numpy; reuses the model of tools/reference-cases/make_cases.py.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'reference-cases'))
from make_cases import Rng, init_params, lm_logits, lr_at, clip_grads, cross_entropy, write_case  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True, help='uint16 token file')
    ap.add_argument('--vocab', type=int, required=True)
    ap.add_argument('--steps', type=int, default=2000)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--model', default='{}', help='JSON overrides of the model config')
    ap.add_argument('--max-lr', type=float, default=1e-3)
    ap.add_argument('--min-lr', type=float, default=1e-4)
    ap.add_argument('--warmup', type=int, default=100)
    ap.add_argument('--window', type=int, default=100)
    ap.add_argument('--rel-tol', type=float, default=0.01)
    ap.add_argument('--out', required=True)
    ap.add_argument('--autocast', choices=['off', 'bf16'], default='off', help='bf16: forward and loss under torch.autocast(bfloat16)')
    a = ap.parse_args()

    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cfg = {'vocab_size': a.vocab, 'context_length': 256, 'd_model': 512, 'num_layers': 4, 'num_heads': 16, 'd_ff': 1344,
           'rope_theta': 10000.0, 'rmsnorm_eps': 1e-5, 'norm': 'pre', 'pos': 'rope', 'ffn': 'swiglu'}
    cfg.update(json.loads(a.model))
    T = cfg['context_length']
    cfg.update({'batch_size': a.batch, 'steps': a.steps, 'max_learning_rate': a.max_lr, 'min_learning_rate': a.min_lr,
                'warmup_iters': a.warmup, 'cosine_cycle_iters': a.steps, 'betas': [0.9, 0.95], 'eps': 1e-8,
                'weight_decay': 0.1, 'max_l2_norm': 1.0,
                'loss_check': {'window': a.window, 'rel_tol': a.rel_tol}})

    data = torch.from_numpy(np.fromfile(a.data, dtype=np.uint16).astype(np.int64))
    if int(data.max()) >= a.vocab:
        sys.exit(f'{a.data} has id {int(data.max())} >= vocab {a.vocab}')
    rng = Rng(a.seed, 'parity')
    init = init_params(cfg, rng)
    starts = rng.ints(len(data) - T - 1, a.steps, a.batch)

    # The model code makes masks and positions with torch.arange/ones: put those on the GPU too (after the
    # CPU-generator draws above).
    if dev != 'cpu':
        torch.set_default_device(dev)
    P = {n: torch.nn.Parameter(t.to(torch.float32).to(dev).clone()) for n, t in init.items()}
    opt = torch.optim.AdamW(list(P.values()), lr=0.0, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    data_d = data.to(dev)
    ar = torch.arange(T, device=dev)
    losses = []
    t0 = time.time()
    for s in range(a.steps):
        idx = starts[s].to(dev)[:, None] + ar[None, :]
        x, y = data_d[idx], data_d[idx + 1]
        for g in opt.param_groups:
            g['lr'] = lr_at(s, cfg)
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=dev, dtype=torch.bfloat16, enabled=a.autocast == 'bf16'):
            loss = cross_entropy(lm_logits(P, cfg, x), y)
        loss.backward()
        clip_grads([p.grad for p in P.values()], cfg['max_l2_norm'])
        opt.step()
        losses.append(float(loss.detach()))
        if (s + 1) % 250 == 0:
            print(f'torch step {s + 1}: loss {losses[-1]:.4f} ({time.time() - t0:.0f} s)', flush=True)
    if dev != 'cpu':
        torch.set_default_device('cpu')  # the case writer converts on the CPU
    tensors = {'data': data, 'batch_starts': starts, 'losses': torch.tensor(losses, dtype=torch.float64, device='cpu')}
    for n, t in init.items():
        tensors['init.' + n] = t
    write_case(a.out, 'train_run', cfg, tensors)
    w = a.window
    mode = 'bf16 autocast' if a.autocast == 'bf16' else 'fp32'
    print(f'wrote {a.out}: {a.steps} steps, batch {a.batch}, torch ({dev}, {mode}) final mean loss over last {w}: '
          f'{np.mean(losses[-w:]):.4f}, {time.time() - t0:.0f} s')


if __name__ == '__main__':
    main()
