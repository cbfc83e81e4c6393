// Generation benchmark: KV-cache decoding of the CS336 model (random weights) at batch 1 and 32: prefill time of the
// prompt, decode tokens/s and ms per step with GPU-chained greedy steps, with GPU-chained top-p draws (the default
// sampling path), with a readback and a CPU draw per step (sampleOn 'cpu'), and end to end through the Generator. Compare with PyTorch eager on the same
// model: tools/parity/torch_decode_bench.py (same arguments).
//   npm run bench:generate
//   … -- --batch 1,32 --prompt-len 16 --precision f32,mixed --model '{"num_layers":2}' --json
import { parseArgs } from 'node:util';
import { describeGpu, openGpu } from '../engine/gpu/device';
import { parseModelConfig, CS336_TINYSTORIES } from '../engine/model/config';
import { initParameters, layoutParameters, parameterSpecs } from '../engine/model/parameters';
import { KvDecoder, CHAIN_SLOTS } from '../engine/generate/decoder';
import { Generator } from '../engine/generate/generate';
import { resolveDecodePrecision, type DecodePrecision } from '../engine/generate/backend';
import { Sampler } from '../engine/generate/sampler';
import { describeKernels } from '../engine/kernels/choice';
import { rngFor, uniformInt } from '../engine/rng';

const { values: a } = parseArgs({
  options: {
    batch: { type: 'string', default: '1,32' },
    'prompt-len': { type: 'string', default: '16' },
    precision: { type: 'string', default: 'auto' },
    model: { type: 'string', default: '{}' },
    repeats: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});

const cfg = parseModelConfig({ ...CS336_TINYSTORIES, ...(JSON.parse(a.model!) as object) });
const T = cfg.context_length;
const P = Math.min(Number(a['prompt-len']), T - 1);
const repeats = Math.max(1, Number(a.repeats));
const gpu = await openGpu();
const precisions: DecodePrecision[] = a.precision!.split(',').map((p) => resolveDecodePrecision(gpu, p as 'auto' | DecodePrecision));
const layout = layoutParameters(parameterSpecs(cfg));
const flat = initParameters(layout, 0);
const weights = (n: string) => { const s = layout.byName.get(n)!; return flat.subarray(s.offset, s.offset + s.numel); };
const out = (s: string) => { if (!a.json) process.stdout.write(`${s}\n`); };
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

out(`device: ${describeGpu(gpu.info)}; Dawn bounds clamping ${gpu.info.boundsChecks ? 'on' : 'off'}`);
out(`model: ${JSON.stringify(cfg)}; ${(layout.count / 1e6).toFixed(2)}M parameters`);
out(`prompt ${P} tokens, then decode to the context length (${T - P} new tokens); median of ${repeats}`);

interface Row {
  precision: DecodePrecision; batch: number; dispatches_per_step: number;
  prefill_ms: number; chained_ms_per_step: number; chained_tokens_per_s: number;
  gpu_sampled_ms_per_step: number; gpu_sampled_tokens_per_s: number;
  readback_ms_per_step: number; readback_tokens_per_s: number;
  generator_greedy_tokens_per_s: number; generator_sampled_tokens_per_s: number;
}
const rows: Row[] = [];

for (const precision of precisions) {
  for (const B of a.batch!.split(',').map(Number)) {
    const rng = rngFor(0, 77, B);
    const prompt = Uint32Array.from({ length: P }, () => uniformInt(rng, 0, cfg.vocab_size - 1));
    const ids = new Uint32Array(B * P);
    for (let b = 0; b < B; b++) ids.set(prompt, b * P);
    const dec = new KvDecoder(gpu, cfg, { batch: B, precision });
    dec.setWeights(weights);
    const dispatches = dec.stepDispatches('greedy');
    const prefill: number[] = [];
    const chained: number[] = [];
    const readback: number[] = [];
    const sampledGpu: number[] = [];
    for (let rep = 0; rep <= repeats; rep++) {
      // Prefill (the first round is warm-up: pipelines compile, programs record).
      dec.reset();
      await gpu.sync();
      let t0 = performance.now();
      dec.forward(P, 'greedy', ids, 0);
      await dec.readTokens(1);
      const tPrefill = performance.now() - t0;
      // Chained greedy steps to the end of the context, ids read back once per chain.
      t0 = performance.now();
      let steps = 0;
      while (dec.pos < T) {
        let slots = 0;
        while (slots < CHAIN_SLOTS && dec.pos < T) dec.forward(1, 'greedy', undefined, slots++);
        await dec.readTokens(slots);
        steps += slots;
      }
      const tChained = (performance.now() - t0) / steps;
      // The same chain drawing on the GPU (temperature 1, top-p 0.9, uniforms uploaded once per chain).
      dec.setSampling(1, 0, 0.9);
      dec.reset();
      dec.forward(P, 'sample', ids, 0);
      await dec.readTokens(1);
      t0 = performance.now();
      steps = 0;
      while (dec.pos < T) {
        let slots = 0;
        dec.setRandom(Float32Array.from({ length: CHAIN_SLOTS * B }, (_, i) => ((i * 0.618034) % 1)));
        while (slots < CHAIN_SLOTS && dec.pos < T) dec.forward(1, 'sample', undefined, slots++);
        await dec.readTokens(slots);
        steps += slots;
      }
      const tSampledGpu = (performance.now() - t0) / steps;
      // Per-step readback of the logits and a CPU draw (the sampling path), over the same positions.
      dec.reset();
      dec.forward(P, 'last', ids);
      await dec.readLogits();
      const sampler = new Sampler({ temperature: 1, topP: 0.9, topK: 0, seed: 0 });
      t0 = performance.now();
      steps = 0;
      let next = new Uint32Array(B);
      while (dec.pos < T) {
        dec.forward(1, 'last', next);
        const logits = await dec.readLogits();
        next = Uint32Array.from({ length: B }, (_, b) => sampler.next(logits.subarray(b * cfg.vocab_size, (b + 1) * cfg.vocab_size)));
        steps++;
      }
      const tReadback = (performance.now() - t0) / steps;
      if (rep > 0) { prefill.push(tPrefill); chained.push(tChained); readback.push(tReadback); sampledGpu.push(tSampledGpu); }
    }
    dec.destroy();
    // End to end through the Generator (prefill, decode, events, text-free ids).
    const g = new Generator(gpu, cfg, weights, undefined, { numSamples: B, precision });
    const e2e = async (temperature: number) => {
      await g.generateIds(Array.from(prompt), { temperature, topP: 0.9, maxNewTokens: T - P });
      const r = await g.generateIds(Array.from(prompt), { temperature, topP: 0.9, maxNewTokens: T - P });
      return B * r[0].ids.length / Math.max(...r.map((x) => x.ids.length / x.tokens_per_s));
    };
    const greedyTps = await e2e(0);
    const sampledTps = await e2e(1);
    g.destroy();
    const row: Row = {
      precision, batch: B, dispatches_per_step: dispatches,
      prefill_ms: median(prefill), chained_ms_per_step: median(chained), chained_tokens_per_s: (B * 1000) / median(chained),
      gpu_sampled_ms_per_step: median(sampledGpu), gpu_sampled_tokens_per_s: (B * 1000) / median(sampledGpu),
      readback_ms_per_step: median(readback), readback_tokens_per_s: (B * 1000) / median(readback),
      generator_greedy_tokens_per_s: greedyTps, generator_sampled_tokens_per_s: sampledTps,
    };
    rows.push(row);
    out(`${precision} batch ${B}: ${dispatches} dispatches/step (${describeKernels(dec.kernels)})`);
    out(`  prefill ${P} tokens: ${row.prefill_ms.toFixed(2)} ms`);
    out(`  decode, greedy chained on the GPU: ${row.chained_ms_per_step.toFixed(3)} ms/step = ${row.chained_tokens_per_s.toFixed(0)} new tokens/s`);
    out(`  decode, top-p draws chained on the GPU: ${row.gpu_sampled_ms_per_step.toFixed(3)} ms/step = ${row.gpu_sampled_tokens_per_s.toFixed(0)} new tokens/s`);
    out(`  decode, logits read back + CPU top-p draw per step: ${row.readback_ms_per_step.toFixed(3)} ms/step = ${row.readback_tokens_per_s.toFixed(0)} new tokens/s`);
    out(`  Generator end to end (prefill included): greedy ${greedyTps.toFixed(0)} tokens/s, sampled (T 1, top-p 0.9) ${sampledTps.toFixed(0)} tokens/s`);
  }
}
// Mixed precision against f32 on the same weights and ids (teacher-forced, so both see the same tokens): the
// prefill's logits at every prompt position and each decode step's logits; FAIL exits 1.
let mixedCheck: { max_rel_diff: number; argmax_agreement: number; ok: boolean } | undefined;
if (precisions.includes('mixed')) {
  const rng = rngFor(0, 78);
  const steps = Math.min(64, T - P);
  const seq = Uint32Array.from({ length: P + steps }, () => uniformInt(rng, 0, cfg.vocab_size - 1));
  const logitsOf = async (precision: DecodePrecision) => {
    const dec = new KvDecoder(gpu, cfg, { batch: 1, precision });
    dec.setWeights(weights);
    dec.forward(P, 'all', seq.subarray(0, P));
    const rows = [await dec.readAllLogits(P)];
    for (let t = P; t < P + steps; t++) {
      dec.forward(1, 'last', seq.subarray(t, t + 1));
      rows.push(await dec.readLogits());
    }
    dec.destroy();
    return rows;
  };
  const f32 = await logitsOf('f32');
  const mixed = await logitsOf('mixed');
  let maxAbs = 0;
  let maxDiff = 0;
  let agree = 0;
  let total = 0;
  const V = cfg.vocab_size;
  f32.forEach((r, i) => {
    for (let j = 0; j < r.length; j++) { maxAbs = Math.max(maxAbs, Math.abs(r[j])); maxDiff = Math.max(maxDiff, Math.abs(r[j] - mixed[i][j])); }
    for (let row = 0; row < r.length / V; row++) {
      const am = (x: Float32Array) => { let b = 0; for (let c = 1; c < V; c++) if (x[row * V + c] > x[row * V + b]) b = c; return b; };
      agree += am(r) === am(mixed[i]) ? 1 : 0;
      total++;
    }
  });
  const rel = maxDiff / maxAbs;
  mixedCheck = { max_rel_diff: rel, argmax_agreement: agree / total, ok: rel < 2e-2 && agree / total >= 0.95 };
  out(`mixed vs f32 (prefill ${P} + ${steps} decode steps, teacher-forced): max |Δlogit| ${maxDiff.toExponential(2)} = ${(100 * rel).toFixed(3)}% of max |logit|; ` +
    `argmax agrees at ${agree}/${total} positions: ${mixedCheck.ok ? 'PASS' : 'FAIL'} (limits 2% and 95%)`);
}
if (a.json) process.stdout.write(`${JSON.stringify({ device: gpu.info.name, model: cfg, prompt_len: P, rows, mixed_check: mixedCheck })}\n`);
gpu.destroy();
if (mixedCheck && !mixedCheck.ok) process.exit(1);
