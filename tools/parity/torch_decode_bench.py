#!/usr/bin/env python3
"""PyTorch eager KV-cache decoding of the CS336 model (random weights), the baseline for `npm run bench:generate`:
prefill of the prompt, then greedy decode steps to the context length with a static (preallocated) KV cache, the
argmax kept on the device (no host sync per step). Prints prefill ms, ms per decode step and new tokens/s per batch.

    python3 tools/parity/torch_decode_bench.py --batch 1,32 --prompt-len 16 [--dtype float32|bfloat16] [--compile]

--compile adds torch.compile(mode="reduce-overhead") of the decode step (CUDA graphs; attention over the whole
cache with a position mask so shapes stay static).
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'reference-cases'))
from make_cases import Rng, init_params  # noqa: E402

def _sdpa(q, k, v, attn_mask=None, is_causal=False):
    """F.scaled_dot_product_attention for torch < 2.0 (Debian's 1.13)."""
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if is_causal:
        attn_mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
    if attn_mask is not None:
        s = s.masked_fill(~attn_mask, float('-inf'))
    return s.softmax(-1) @ v


sdpa = getattr(F, 'scaled_dot_product_attention', _sdpa)

CS336 = {'vocab_size': 10000, 'context_length': 256, 'd_model': 512, 'num_layers': 4, 'num_heads': 16, 'd_ff': 1344,
         'rope_theta': 10000.0, 'rmsnorm_eps': 1e-5}


class Decoder:
    """The CS336 pre-norm RoPE SwiGLU LM with a static KV cache [L, B, H, T, dk]."""

    def __init__(self, P, cfg, B, device, dtype, static_attention):
        self.c, self.B, self.static = cfg, B, static_attention
        self.P = {k: v.to(device=device, dtype=dtype) for k, v in P.items()}
        d, H, T, L = cfg['d_model'], cfg['num_heads'], cfg['context_length'], cfg['num_layers']
        self.H, self.dk, self.T = H, d // H, T
        # q, k, v fused as one projection (what a tuned eager implementation does).
        for i in range(L):
            p = f'layers.{i}.attn.'
            self.P[p + 'qkv'] = torch.cat([self.P[p + n + '_proj.weight'] for n in 'qkv'], 0)
        self.k = torch.zeros(L, B, H, T, self.dk, device=device, dtype=dtype)
        self.v = torch.zeros_like(self.k)
        half = self.dk // 2
        inv = cfg['rope_theta'] ** (-torch.arange(half, dtype=torch.float64) * 2 / self.dk)
        ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
        self.cos, self.sin = ang.cos().to(device, dtype), ang.sin().to(device, dtype)
        self.positions = torch.arange(T, device=device)

    def rope(self, x, pos):  # x [B, H, n, dk], adjacent pairs
        cos, sin = self.cos[pos][None, None], self.sin[pos][None, None]
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], -1).flatten(-2)

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.c['rmsnorm_eps']) * w

    def forward(self, ids, pos0):
        """ids [B, n] at positions pos0..pos0+n-1 (pos0 a Python int, or a 0-d tensor when static); returns next ids [B]."""
        P, B, H, dk = self.P, self.B, self.H, self.dk
        n = ids.shape[1]
        pos = (pos0 + torch.arange(n, device=ids.device)) if self.static else torch.arange(pos0, pos0 + n, device=ids.device)
        x = P['token_embeddings.weight'][ids]
        for i in range(self.c['num_layers']):
            p = f'layers.{i}.'
            h = self.rms(x, P[p + 'ln1.weight'])
            q, k, v = (h @ P[p + 'attn.qkv'].T).view(B, n, 3, H, dk).permute(2, 0, 3, 1, 4)
            q, k = self.rope(q, pos), self.rope(k, pos)
            if self.static:
                self.k[i].index_copy_(2, pos, k)
                self.v[i].index_copy_(2, pos, v)
                mask = self.positions[None, :] <= pos[:, None]  # [n, T]
                o = sdpa(q, self.k[i], self.v[i], attn_mask=mask)
            else:
                self.k[i][:, :, pos0:pos0 + n] = k
                self.v[i][:, :, pos0:pos0 + n] = v
                keys, vals = self.k[i][:, :, :pos0 + n], self.v[i][:, :, :pos0 + n]
                o = sdpa(q, keys, vals, is_causal=(pos0 == 0 and n > 1))
            x = x + o.transpose(1, 2).reshape(B, n, H * dk) @ P[p + 'attn.output_proj.weight'].T
            h = self.rms(x, P[p + 'ln2.weight'])
            x = x + (F.silu(h @ P[p + 'ffn.w1.weight'].T) * (h @ P[p + 'ffn.w3.weight'].T)) @ P[p + 'ffn.w2.weight'].T
        x = self.rms(x[:, -1], P['ln_final.weight'])
        return (x @ P['lm_head.weight'].T).argmax(-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--batch', default='1,32')
    ap.add_argument('--prompt-len', type=int, default=16)
    ap.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16', 'float16'])
    ap.add_argument('--compile', action='store_true')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--model', default='{}', help='JSON overrides of the CS336 config')
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args()
    cfg = {**CS336, **json.loads(a.model)}
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    dtype = getattr(torch, a.dtype)
    if device == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = False  # float32 means float32, as in the engine's f32 path
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    T, Pn = cfg['context_length'], min(a.prompt_len, cfg['context_length'] - 1)
    P = init_params(cfg, Rng(0, 'decode-bench'))
    name = torch.cuda.get_device_name() if device == 'cuda' else 'cpu'
    if not a.json:
        print(f'PyTorch {torch.__version__} on {name}, {a.dtype}{", torch.compile reduce-overhead" if a.compile else ", eager"}; '
              f'prompt {Pn}, decode to {T}; median of {a.repeats}')
    rows = []
    for B in [int(b) for b in a.batch.split(',')]:
        dec = Decoder(P, cfg, B, device, dtype, static_attention=a.compile)
        step = torch.compile(dec.forward, mode='reduce-overhead') if a.compile else dec.forward
        prompt = torch.randint(0, cfg['vocab_size'], (1, Pn), generator=torch.Generator().manual_seed(B)).to(device).repeat(B, 1)
        pre, per = [], []
        with torch.inference_mode():
            for rep in range(a.repeats + 1):
                sync()
                t0 = time.perf_counter()
                nxt = dec.forward(prompt, torch.tensor(0, device=device) if a.compile else 0)
                sync()
                t1 = time.perf_counter()
                for pos in range(Pn, T):
                    nxt = step(nxt[:, None], torch.tensor(pos, device=device) if a.compile else pos)
                sync()
                t2 = time.perf_counter()
                if rep > 0:
                    pre.append((t1 - t0) * 1e3)
                    per.append((t2 - t1) * 1e3 / (T - Pn))
        med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
        r = {'batch': B, 'prefill_ms': med(pre), 'ms_per_step': med(per), 'tokens_per_s': B * 1e3 / med(per)}
        rows.append(r)
        if not a.json:
            print(f'batch {B}: prefill {Pn} tokens {r["prefill_ms"]:.2f} ms; decode {r["ms_per_step"]:.3f} ms/step = {r["tokens_per_s"]:.0f} new tokens/s')
    if a.json:
        print(json.dumps({'torch': torch.__version__, 'device': name, 'dtype': a.dtype, 'compile': a.compile, 'rows': rows}))


if __name__ == '__main__':
    main()
