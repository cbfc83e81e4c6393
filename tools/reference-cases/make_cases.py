#!/usr/bin/env python3
"""Makes PyTorch reference cases (safetensors files) for the engine's reference suite at awkward shapes.

    /usr/bin/python3 tools/reference-cases/make_cases.py OUT_DIR [--seed N] [--preset awkward|tiny]
    /usr/bin/python3 tools/reference-cases/make_cases.py --verify DIR

The kinds, tensor names and math are those of shared/reference/README.md (CS336 layout). Everything is computed
in float64 and stored as float32, except train_run, which trains in float32 like the original. `--verify DIR`
recomputes the outputs of every case in DIR (e.g. the hand-made originals) from its inputs with the same code
that generates new cases, and prints the largest differences: that is what makes the generated cases
trustworthy.

Needs torch (Debian: `apt-get install -y python3-torch`, for the system python /usr/bin/python3). numpy comes
with it. The safetensors format is written by hand (the python package is not needed).
"""
import argparse
import json
import math
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch

F64 = torch.float64
F32 = torch.float32

# --------------------------------------------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length, JSON header, raw little-endian data.

_ST_DTYPES = {'F32': (np.float32, 4), 'F64': (np.float64, 8), 'I64': (np.int64, 8), 'I32': (np.int32, 4)}


def write_case(path, kind, config, tensors):
    """Writes one case: floats as F32, integers as I64; metadata {kind, config (a JSON string)}."""
    assert sys.byteorder == 'little'
    items = []
    for name, t in tensors.items():
        t = torch.as_tensor(t).detach()
        if t.is_floating_point():
            a = t.to(F32).contiguous().numpy()
            dt = 'F32'
        else:
            a = t.to(torch.int64).contiguous().numpy()
            dt = 'I64'
        items.append((name, dt, list(a.shape), a.tobytes()))
    # The order the safetensors library uses: larger alignment first, then by name.
    items.sort(key=lambda x: (-_ST_DTYPES[x[1]][1], x[0]))
    header = {'__metadata__': {'kind': kind, 'config': json.dumps(config)}}
    offset = 0
    for name, dt, shape, data in items:
        header[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
    hb = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hb += b' ' * ((8 - len(hb) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for _, _, _, data in items:
            f.write(data)
    os.replace(tmp, path)


def read_case(path):
    """Returns (kind, config dict, {name: tensor}); floats as float64 (exact widening), integers as int64."""
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__', {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        np_dt, _ = _ST_DTYPES[info['dtype']]
        a, b = info['data_offsets']
        arr = np.frombuffer(raw[base + a:base + b], dtype=np_dt).reshape(info['shape']).copy()
        t = torch.from_numpy(arr)
        out[name] = t.to(F64) if t.is_floating_point() else t.to(torch.int64)
    return meta.get('kind', '?'), json.loads(meta.get('config', '{}')), out


# --------------------------------------------------------------------------------------------------------------
# The math (shared/reference/README.md).

def rmsnorm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope(x, positions, theta):
    """x[..., T, dk]: rotates ADJACENT pairs (x[2i], x[2i+1]) by angle pos * theta^(-2i/dk)."""
    dk = x.shape[-1]
    i = torch.arange(dk // 2, dtype=F64)
    inv = float(theta) ** (-2.0 * i / dk)
    ang = positions.to(F64)[:, None] * inv[None, :]  # [T, dk/2], always float64
    c = torch.cos(ang).to(x.dtype)
    s = torch.sin(ang).to(x.dtype)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1).flatten(-2)


def causal_attention(q, k, v):
    T, dk = q.shape[-2], q.shape[-1]
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(dk)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float('-inf'))
    return torch.softmax(scores, dim=-1) @ v


def cross_entropy(logits, targets):
    """Mean over all rows of logsumexp(logits) - logits[target]."""
    V = logits.shape[-1]
    l2 = logits.reshape(-1, V)
    t = targets.reshape(-1)
    return (torch.logsumexp(l2, dim=-1) - l2.gather(1, t[:, None])[:, 0]).mean()


def param_names(cfg):
    """Weight names in CS336 layout for a model config."""
    names = ['token_embeddings.weight']
    for i in range(cfg['num_layers']):
        p = f'layers.{i}.'
        names += [p + f'attn.{n}.weight' for n in ('q_proj', 'k_proj', 'v_proj', 'output_proj')]
        if cfg.get('norm', 'pre') != 'none':
            names += [p + 'ln1.weight', p + 'ln2.weight']
        names += [p + 'ffn.w1.weight', p + 'ffn.w2.weight']
        if cfg.get('ffn', 'swiglu') == 'swiglu':
            names.append(p + 'ffn.w3.weight')
    if cfg.get('norm', 'pre') != 'none':
        names.append('ln_final.weight')
    if not cfg.get('tie_embeddings', False):
        names.append('lm_head.weight')
    return names


def param_shape(cfg, name):
    V, d, dff = cfg['vocab_size'], cfg['d_model'], cfg['d_ff']
    if name in ('token_embeddings.weight', 'lm_head.weight'):
        return [V, d]
    if name.endswith('ln1.weight') or name.endswith('ln2.weight') or name == 'ln_final.weight':
        return [d]
    if '.attn.' in name:
        return [d, d]
    if name.endswith('ffn.w1.weight') or name.endswith('ffn.w3.weight'):
        return [dff, d]
    if name.endswith('ffn.w2.weight'):
        return [d, dff]
    raise KeyError(name)


def lm_logits(P, cfg, ids):
    """The transformer LM (CS336 layout) with the README's ablation switches. P: {name: tensor}."""
    B, T = ids.shape
    d, H = cfg['d_model'], cfg['num_heads']
    dk = d // H
    norm = cfg.get('norm', 'pre')
    use_rope = cfg.get('pos', 'rope') == 'rope'
    swiglu = cfg.get('ffn', 'swiglu') == 'swiglu'
    eps = cfg.get('rmsnorm_eps', 1e-5)
    theta = cfg.get('rope_theta', 10000.0)
    positions = torch.arange(T)

    x = P['token_embeddings.weight'][ids]  # [B, T, d]
    for i in range(cfg['num_layers']):
        p = f'layers.{i}.'

        def attn(h):
            # Head h owns columns h*dk ... h*dk+dk-1 of q, k, v.
            q = (h @ P[p + 'attn.q_proj.weight'].T).view(B, T, H, dk).transpose(1, 2)
            k = (h @ P[p + 'attn.k_proj.weight'].T).view(B, T, H, dk).transpose(1, 2)
            v = (h @ P[p + 'attn.v_proj.weight'].T).view(B, T, H, dk).transpose(1, 2)
            if use_rope:
                q = rope(q, positions, theta)
                k = rope(k, positions, theta)
            o = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, d)
            return o @ P[p + 'attn.output_proj.weight'].T

        def ffn(h):
            g = torch.nn.functional.silu(h @ P[p + 'ffn.w1.weight'].T)
            if swiglu:
                g = g * (h @ P[p + 'ffn.w3.weight'].T)
            return g @ P[p + 'ffn.w2.weight'].T

        if norm == 'pre':
            x = x + attn(rmsnorm(x, P[p + 'ln1.weight'], eps))
            x = x + ffn(rmsnorm(x, P[p + 'ln2.weight'], eps))
        elif norm == 'post':
            x = rmsnorm(x + attn(x), P[p + 'ln1.weight'], eps)
            x = rmsnorm(x + ffn(x), P[p + 'ln2.weight'], eps)
        elif norm == 'none':
            x = x + attn(x)
            x = x + ffn(x)
        else:
            raise ValueError(f'unknown norm {norm}')
    if norm != 'none':
        x = rmsnorm(x, P['ln_final.weight'], eps)
    head = P['token_embeddings.weight'] if cfg.get('tie_embeddings', False) else P['lm_head.weight']
    return x @ head.T


def lr_at(t, c):
    """CS336 cosine schedule with linear warmup."""
    mx, mn = c['max_learning_rate'], c['min_learning_rate']
    tw, tc = c['warmup_iters'], c['cosine_cycle_iters']
    if t < tw:
        return t / tw * mx
    if t <= tc:
        return mn + 0.5 * (1 + math.cos(math.pi * (t - tw) / max(1, tc - tw))) * (mx - mn)
    return mn


def clip_grads(grads, max_norm, eps=1e-6):
    """One global L2 norm over all grads; if above max_norm, scale them all by max_norm / (norm + eps)."""
    total = torch.sqrt(sum((g * g).sum() for g in grads))
    if total > max_norm:
        s = max_norm / (total + eps)
        for g in grads:
            g.mul_(s)
    return total


# --------------------------------------------------------------------------------------------------------------
# Outputs of each kind from its inputs: shared by the generator and by --verify.

def _leaf(t):
    return t.detach().clone().to(F64).requires_grad_(True)


def out_linear(c, T):
    return {'out': T['in'] @ T['weight'].T}


def out_embedding(c, T):
    return {'out': T['weight'][T['ids']]}


def out_rmsnorm(c, T):
    x, w = _leaf(T['in']), _leaf(T['weight'])
    y = rmsnorm(x, w, c.get('eps', 1e-5))
    (y * T['grad_out']).sum().backward()
    return {'out': y.detach(), 'grad_in': x.grad, 'grad_weight': w.grad}


def out_rope(c, T):
    return {'out': rope(T['in'], T['positions'], c.get('theta', 10000.0))}


def out_softmax(c, T):
    return {'out': torch.softmax(T['in'], dim=c.get('dim', -1))}


def out_causal_attention(c, T):
    q, k, v = _leaf(T['q']), _leaf(T['k']), _leaf(T['v'])
    o = causal_attention(q, k, v)
    (o * T['grad_out']).sum().backward()
    return {'out': o.detach(), 'grad_q': q.grad, 'grad_k': k.grad, 'grad_v': v.grad}


def out_cross_entropy(c, T):
    logits = _leaf(T['logits'])
    loss = cross_entropy(logits, T['targets'])
    loss.backward()
    return {'loss': loss.detach().reshape(1), 'grad_logits': logits.grad}


def out_lm_forward_backward(c, T):
    P = {n: _leaf(T[n]) for n in param_names(c)}
    logits = lm_logits(P, c, T['input_ids'])
    loss = cross_entropy(logits, T['targets'])
    loss.backward()
    out = {'logits': logits.detach(), 'loss': loss.detach().reshape(1)}
    for n, p in P.items():
        out['grad.' + n] = p.grad
    return out


def greedy_continuation(P, cfg, prompt, n):
    """Greedy decoding with a full forward pass per step over the last context_length tokens (no cache)."""
    T = cfg['context_length']
    hist = [int(x) for x in prompt]
    ids, margins = [], []
    for _ in range(n):
        logits = lm_logits(P, cfg, torch.tensor([hist[-T:]], dtype=torch.int64))[0, -1]
        top = torch.topk(logits, 2).values
        nxt = int(torch.argmax(logits))
        ids.append(nxt)
        margins.append(float(top[0] - top[1]))
        hist.append(nxt)
    return torch.tensor(ids, dtype=torch.int64), torch.tensor(margins, dtype=F64)


def out_generate_greedy(c, T):
    P = {n: T[n] for n in param_names(c)}
    with torch.no_grad():
        ids, margins = greedy_continuation(P, c, T['prompt_ids'], c['max_new_tokens'])
    return {'generated_ids': ids, 'margins': margins}


def out_adamw(c, T):
    p = torch.nn.Parameter(T['param_init'].detach().clone().to(F64))
    opt = torch.optim.AdamW([p], lr=c['lr'], betas=tuple(c['betas']), eps=c['eps'], weight_decay=c['weight_decay'])
    after = []
    for g in T['grads']:
        p.grad = g.clone().to(F64)
        opt.step()
        after.append(p.detach().clone())
    return {'params_after_each_step': torch.stack(after)}


def out_lr_schedule(c, T):
    return {'lr': torch.tensor([lr_at(int(t), c) for t in T['t']], dtype=F64)}


def out_grad_clip(c, T):
    g = [T['grad0'].clone(), T['grad1'].clone()]
    clip_grads(g, c['max_l2_norm'], c.get('eps', 1e-6))
    return {'clipped0': g[0], 'clipped1': g[1]}


def out_train_run(c, T):
    """Float32 training: the given batches, schedule, global clipping, torch AdamW; losses and final weights."""
    names = param_names(c)
    P = {n: torch.nn.Parameter(T['init.' + n].to(F32).clone()) for n in names}
    opt = torch.optim.AdamW(list(P.values()), lr=0.0, betas=tuple(c['betas']), eps=c['eps'], weight_decay=c['weight_decay'])
    data, starts = T['data'], T['batch_starts']
    ctx = c['context_length']
    losses = []
    for s in range(starts.shape[0]):
        idx = starts[s][:, None] + torch.arange(ctx)[None, :]
        x, y = data[idx], data[idx + 1]
        for g in opt.param_groups:
            g['lr'] = lr_at(s, c)
        opt.zero_grad(set_to_none=True)
        loss = cross_entropy(lm_logits(P, c, x), y)
        loss.backward()
        clip_grads([p.grad for p in P.values()], c['max_l2_norm'])
        opt.step()
        losses.append(float(loss.detach()))
    out = {'losses': torch.tensor(losses, dtype=F64)}
    for n, p in P.items():
        out['final.' + n] = p.detach().to(F64)
    return out


OUTPUTS = {
    'linear': out_linear,
    'embedding': out_embedding,
    'rmsnorm': out_rmsnorm,
    'rope': out_rope,
    'softmax': out_softmax,
    'causal_attention': out_causal_attention,
    'cross_entropy': out_cross_entropy,
    'lm_forward_backward': out_lm_forward_backward,
    'adamw': out_adamw,
    'lr_schedule': out_lr_schedule,
    'grad_clip': out_grad_clip,
    'train_run': out_train_run,
    'generate_greedy': out_generate_greedy,
}

OUTPUT_NAMES = {
    'linear': ['out'],
    'embedding': ['out'],
    'rmsnorm': ['out', 'grad_in', 'grad_weight'],
    'rope': ['out'],
    'softmax': ['out'],
    'causal_attention': ['out', 'grad_q', 'grad_k', 'grad_v'],
    'cross_entropy': ['loss', 'grad_logits'],
    'adamw': ['params_after_each_step'],
    'lr_schedule': ['lr'],
    'grad_clip': ['clipped0', 'clipped1'],
}


def is_output(kind, name):
    if kind == 'lm_forward_backward':
        return name in ('logits', 'loss') or name.startswith('grad.')
    if kind == 'train_run':
        return name == 'losses' or name.startswith('final.')
    if kind == 'generate_greedy':
        return name in ('generated_ids', 'margins')
    return name in OUTPUT_NAMES[kind]


# --------------------------------------------------------------------------------------------------------------
# Inputs at awkward shapes.

class Rng:
    def __init__(self, seed, name):
        self.g = torch.Generator().manual_seed((seed * 1000003 + zlib.crc32(name.encode())) % (2 ** 63))

    def normal(self, *shape, std=1.0):
        return torch.randn(*shape, generator=self.g, dtype=F64) * std

    def trunc_normal(self, *shape, std=1.0):
        """N(0, std²) cut at ±3σ (resampling outside)."""
        t = torch.randn(*shape, generator=self.g, dtype=F64)
        while True:
            bad = t.abs() > 3
            nbad = int(bad.sum())
            if nbad == 0:
                return t * std
            t[bad] = torch.randn(nbad, generator=self.g, dtype=F64)

    def ints(self, high, *shape):
        return torch.randint(0, high, shape, generator=self.g, dtype=torch.int64)


def f32_exact(t):
    """Rounds to float32 and back, so the stored inputs are exactly the values the outputs were computed from."""
    return t.to(F32).to(F64)


def init_params(cfg, rng):
    """Linear weights trunc normal std sqrt(2/(in+out)) cut at ±3σ; embeddings std 1 cut at ±3; gains 1 + 0.1·N(0,1)."""
    P = {}
    for n in param_names(cfg):
        shape = param_shape(cfg, n)
        if n == 'token_embeddings.weight':
            P[n] = rng.trunc_normal(*shape)
        elif len(shape) == 1:
            P[n] = 1 + 0.1 * rng.normal(*shape)
        else:
            P[n] = rng.trunc_normal(*shape, std=math.sqrt(2.0 / (shape[0] + shape[1])))
    return {n: f32_exact(t) for n, t in P.items()}


WORDS = ('the a little big red blue happy sad cat dog bird tree sun moon boy girl mom dad ball toy park house '
         'ran jumped saw found said played looked wanted liked made went ate slept smiled helped shared '
         'and then but so because very too with in on under over to of at').split()
NAMES = ('Tom Lily Sam Mia Ben Zoe Max Anna').split()


def synthetic_text(rng, n_bytes):
    """Byte-level story-like text (ASCII), deterministic in the rng."""
    out = []
    size = 0
    while size < n_bytes:
        k = 4 + int(rng.ints(8))
        words = [NAMES[int(rng.ints(len(NAMES)))]] + [WORDS[int(i)] for i in rng.ints(len(WORDS), k)]
        s = ' '.join(words) + ('.' if int(rng.ints(4)) else '!')
        if int(rng.ints(5)) == 0:
            s += '\n\n'
        else:
            s += ' '
        out.append(s)
        size += len(s)
    return ''.join(out).encode('ascii')[:n_bytes]


def lm_case(cfg, B, rng):
    T = cfg['context_length']
    seq = rng.ints(cfg['vocab_size'], B, T + 1)
    seq[0, 0] = cfg['vocab_size'] - 1  # the largest id
    seq[-1, -1] = 0
    inputs = {'input_ids': seq[:, :-1].contiguous(), 'targets': seq[:, 1:].contiguous()}
    inputs.update(init_params(cfg, rng))
    return inputs


def lm_cfg(V, T, d, L, H, dff, norm='pre', pos='rope', ffn='swiglu', tie=None, theta=10000.0):
    c = {'vocab_size': V, 'context_length': T, 'd_model': d, 'num_layers': L, 'num_heads': H, 'd_ff': dff,
         'rope_theta': theta, 'rmsnorm_eps': 1e-5, 'norm': norm, 'pos': pos, 'ffn': ffn}
    if tie is not None:
        c['tie_embeddings'] = tie
    return c


PRESETS = {
    # Shapes chosen to be off every power of two and multiple of 16/64 the kernels might assume, and to cross
    # the engine's tile sizes (64-row linear tiles, 64-query attention blocks, 256-wide softmax/cross-entropy
    # workgroups, 4096-element grad-norm partials) with a partial last tile.
    'awkward': dict(
        B=3, T=13, D=48, V=300, V2=257, DFF=100, LIN=(3, 23, 45, 100),
        rope=(3, 5, 37, 12), attn=(3, 5, 77, 12), adamw=(37, 45), clip=((67, 71), (100,)),
        lms={
            # d 48, 3 heads of 16, vocab 300, d_ff 100, 2 layers
            'lm_pre_rope_swiglu': lm_cfg(300, 13, 48, 2, 3, 100),
            # 6 heads of 8, vocab 257, T 37
            'lm_post_norm': lm_cfg(257, 37, 48, 2, 6, 100, norm='post'),
            # 5 heads of 12 (odd head count), 3 layers
            'lm_no_norm': lm_cfg(300, 13, 60, 3, 5, 100, norm='none'),
            # nope: 5 heads of odd dim 9 (allowed without RoPE)
            'lm_nope': lm_cfg(257, 13, 45, 2, 5, 100, pos='nope'),
            # silu FFN, d_ff 100, 3 layers, non-default rope_theta, T 67 (two attention blocks)
            'lm_silu_ffn': lm_cfg(300, 67, 48, 3, 3, 100, ffn='silu', theta=500.0),
            # tied, 5 heads of 12, d_ff 72
            'lm_tied': lm_cfg(257, 13, 60, 2, 5, 72, tie=True),
        },
        train=dict(V=256, T=24, d=40, L=2, H=2, dff=72, B=3, steps=30, warmup=3, data_bytes=6000),
    ),
    # Smaller awkward shapes for a quick run.
    'tiny': dict(
        B=2, T=5, D=24, V=67, V2=33, DFF=40, LIN=(2, 5, 15, 21),
        rope=(2, 3, 7, 8), attn=(2, 3, 7, 6), adamw=(5, 7), clip=((5, 7), (11,)),
        lms={
            'lm_pre_rope_swiglu': lm_cfg(67, 5, 24, 2, 3, 40),
            'lm_post_norm': lm_cfg(33, 7, 24, 2, 4, 40, norm='post'),
            'lm_no_norm': lm_cfg(67, 5, 30, 2, 5, 40, norm='none'),
            'lm_nope': lm_cfg(33, 5, 15, 2, 5, 40, pos='nope'),
            'lm_silu_ffn': lm_cfg(67, 5, 24, 2, 3, 40, ffn='silu', theta=500.0),
            'lm_tied': lm_cfg(33, 5, 30, 2, 5, 24, tie=True),
        },
        train=dict(V=256, T=9, d=24, L=2, H=2, dff=40, B=3, steps=12, warmup=2, data_bytes=2000),
    ),
}


def make_cases(out_dir, seed, preset):
    p = PRESETS[preset]
    B, T, D, V, V2, DFF = p['B'], p['T'], p['D'], p['V'], p['V2'], p['DFF']
    cases = []  # (file stem, kind, config, inputs)

    r = Rng(seed, 'linear')
    lb, lt, lin, lout = p['LIN']
    cases.append(('linear', 'linear', {}, {'in': r.normal(lb, lt, lin), 'weight': r.trunc_normal(lout, lin, std=math.sqrt(2 / (lin + lout)))}))

    r = Rng(seed, 'embedding')
    ids = r.ints(V2, B, T)
    ids[0, 0], ids[-1, -1] = V2 - 1, 0
    cases.append(('embedding', 'embedding', {}, {'ids': ids, 'weight': r.trunc_normal(V2, D)}))

    r = Rng(seed, 'rmsnorm')
    x = r.normal(B, T, D) * torch.exp(r.normal(B, T, 1))  # rows of different scales
    cases.append(('rmsnorm', 'rmsnorm', {'eps': 1e-5}, {'in': x, 'weight': 1 + 0.1 * r.normal(D), 'grad_out': r.normal(B, T, D)}))

    r = Rng(seed, 'rope')
    Bq, Hq, Tq, dq = p['rope']
    cases.append(('rope', 'rope', {'theta': 10000.0, 'd_k': dq}, {'in': r.normal(Bq, Hq, Tq, dq), 'positions': torch.arange(Tq) + 5}))

    r = Rng(seed, 'softmax')
    x = r.normal(B, T, V, std=3.0)
    x[0, 0] += 80.0  # a row that overflows exp() without the max shift
    x[-1, -1, 7] = 40.0  # one dominant entry
    cases.append(('softmax', 'softmax', {'dim': -1}, {'in': x}))

    r = Rng(seed, 'causal_attention')
    n = p['attn']
    cases.append(('causal_attention', 'causal_attention', {}, {'q': r.normal(*n), 'k': r.normal(*n), 'v': r.normal(*n), 'grad_out': r.normal(*n)}))

    r = Rng(seed, 'cross_entropy')
    tg = r.ints(V, B, T)
    tg[0, 0], tg[-1, -1] = V - 1, 0
    cases.append(('cross_entropy', 'cross_entropy', {}, {'logits': r.normal(B, T, V, std=4.0), 'targets': tg}))

    for stem, cfg in p['lms'].items():
        cases.append((stem, 'lm_forward_backward', cfg, lm_case(cfg, B, Rng(seed, stem))))

    # Greedy continuations past the context (window slides) for every variant; the prompt and weights are redrawn
    # until no step's top two logits are within 1e-3, so float32 decoding cannot flip a tie.
    for stem, cfg in p['lms'].items():
        Tc = cfg['context_length']
        gcfg = dict(cfg, max_new_tokens=Tc // 2 + 5)
        for attempt in range(50):
            r = Rng(seed, f'generate_{stem}_{attempt}')
            gin = {'prompt_ids': r.ints(cfg['vocab_size'], max(1, Tc - 3))}
            gin.update(init_params(cfg, r))
            if out_generate_greedy(gcfg, gin)['margins'].min().item() >= 1e-3:
                break
        cases.append(('generate_' + stem[3:], 'generate_greedy', gcfg, gin))

    r = Rng(seed, 'adamw')
    shp = p['adamw']
    cases.append(('adamw', 'adamw', {'lr': 0.002, 'betas': [0.85, 0.97], 'eps': 1e-7, 'weight_decay': 0.05},
                  {'param_init': r.normal(*shp), 'grads': r.normal(10, *shp, std=2.0)}))

    cases.append(('lr_schedule', 'lr_schedule',
                  {'max_learning_rate': 0.002, 'min_learning_rate': 0.0002, 'warmup_iters': 5, 'cosine_cycle_iters': 23},
                  {'t': torch.arange(31)}))

    r = Rng(seed, 'grad_clip')
    s0, s1 = p['clip']
    cases.append(('grad_clip', 'grad_clip', {'max_l2_norm': 2.5, 'eps': 1e-6}, {'grad0': r.normal(*s0), 'grad1': r.normal(*s1, std=3.0)}))

    tr = p['train']
    r = Rng(seed, 'train_run')
    tcfg = lm_cfg(tr['V'], tr['T'], tr['d'], tr['L'], tr['H'], tr['dff'])
    tcfg.update({'batch_size': tr['B'], 'steps': tr['steps'], 'max_learning_rate': 0.003, 'min_learning_rate': 0.0003,
                 'warmup_iters': tr['warmup'], 'cosine_cycle_iters': tr['steps'], 'betas': [0.9, 0.95], 'eps': 1e-8,
                 'weight_decay': 0.1, 'max_l2_norm': 1.0})
    data = torch.tensor(list(synthetic_text(r, tr['data_bytes'])), dtype=torch.int64)
    tin = {'data': data, 'batch_starts': r.ints(len(data) - tr['T'] - 1, tr['steps'], tr['B'])}
    for n, t in init_params(tcfg, r).items():
        tin['init.' + n] = t
    cases.append(('train_run', 'train_run', tcfg, tin))

    os.makedirs(out_dir, exist_ok=True)
    for stem, kind, cfg, inputs in cases:
        t0 = time.time()
        inputs = {k: (f32_exact(v) if v.is_floating_point() else v) for k, v in inputs.items()}
        outputs = OUTPUTS[kind](cfg, inputs)
        path = os.path.join(out_dir, stem + '.safetensors')
        write_case(path, kind, cfg, {**inputs, **outputs})
        shapes = ', '.join(f'{k}{list(v.shape)}' for k, v in inputs.items() if not k.startswith(('init.', 'layers.', 'ln_final', 'lm_head', 'token_emb')))
        print(f'{stem}.safetensors ({kind}, {os.path.getsize(path) / 1024:.0f} KiB, {time.time() - t0:.1f} s): {shapes}'
              + (f' config {json.dumps(cfg)}' if kind in ('lm_forward_backward', 'train_run', 'generate_greedy') else ''))
    return [c[0] for c in cases]


# --------------------------------------------------------------------------------------------------------------
# --verify: recompute every case in a directory from its inputs and compare.

def verify(dir_):
    files = sorted(f for f in os.listdir(dir_) if f.endswith('.safetensors'))
    if not files:
        print(f'{dir_} holds no *.safetensors cases')
        return 1
    worst = 0.0
    for f in files:
        t0 = time.time()
        kind, cfg, T = read_case(os.path.join(dir_, f))
        if kind not in OUTPUTS:
            print(f'{f}: unknown kind {kind}')
            worst = math.inf
            continue
        inputs = {k: v for k, v in T.items() if not is_output(kind, k)}
        got = OUTPUTS[kind](cfg, inputs)
        missing = sorted(set(k for k in T if is_output(kind, k)) ^ set(got))
        lines = []
        case_worst = 0.0
        for name in sorted(got):
            if name not in T:
                continue
            want = T[name]
            g = got[name].to(F64)
            if list(g.shape) != list(want.shape):
                lines.append(f'{name}: shape {list(g.shape)} != {list(want.shape)}')
                case_worst = math.inf
                continue
            diff = (g - want).abs().max().item()
            scale = max(want.abs().max().item(), 1e-30)
            lines.append((name, diff, diff / scale))
        if kind == 'train_run':
            # Float32 training: compare the loss curve; weights after many steps are reported but drift is expected.
            loss = [x for x in lines if x[0] == 'losses'][0]
            wmax = max((x[1] for x in lines if isinstance(x, tuple) and x[0].startswith('final.')), default=0.0)
            first = abs(got['losses'][0].item() - T['losses'][0].item())
            case_worst = max(case_worst, first)
            print(f'{f} ({kind}, {time.time() - t0:.1f} s): loss step 1 diff {first:.2e}, max loss diff over '
                  f'{len(T["losses"])} steps {loss[1]:.2e}, max final weight diff {wmax:.2e}'
                  + (f'; MISMATCHED NAMES {missing}' if missing else ''))
        else:
            rel = max((x[2] for x in lines if isinstance(x, tuple)), default=0.0)
            absd = max((x[1] for x in lines if isinstance(x, tuple)), default=0.0)
            wname = max((x for x in lines if isinstance(x, tuple)), key=lambda x: x[2])[0]
            case_worst = max(case_worst, rel)
            print(f'{f} ({kind}, {time.time() - t0:.1f} s): max abs diff {absd:.2e}, max diff / max|ref| {rel:.2e} (worst: {wname})'
                  + (f'; MISMATCHED NAMES {missing}' if missing else '')
                  + ''.join(f'; {x}' for x in lines if isinstance(x, str)))
        if missing:
            case_worst = math.inf
        worst = max(worst, case_worst)
    print(f'worst: {worst:.2e}')
    return 0 if worst < 1e-4 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('out_dir', nargs='?', help='directory to write the cases into')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--preset', choices=sorted(PRESETS), default='awkward')
    ap.add_argument('--verify', metavar='DIR', help='recompute the cases in DIR and report the differences')
    a = ap.parse_args()
    torch.set_num_threads(min(4, os.cpu_count() or 1))
    if a.verify:
        sys.exit(verify(a.verify))
    if not a.out_dir:
        ap.error('give OUT_DIR or --verify DIR')
    t0 = time.time()
    stems = make_cases(a.out_dir, a.seed, a.preset)
    total = sum(os.path.getsize(os.path.join(a.out_dir, s + '.safetensors')) for s in stems)
    print(f'{len(stems)} cases ({a.preset}, seed {a.seed}) in {a.out_dir}: {total / 1e6:.2f} MB, {time.time() - t0:.1f} s')


if __name__ == '__main__':
    main()
