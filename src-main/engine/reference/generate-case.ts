// The generate_greedy reference kind: a model, a prompt and PyTorch's greedy continuation computed with a full
// forward pass per step over the last context_length tokens (tools/reference-cases/make_cases.py). The engine's
// KV-cache Generator (batched prefill, chained GPU argmax, window slides) must produce the same ids.
import type { Gpu } from '../gpu/device';
import { asF32, asU32, type SafetensorsFile } from '../checkpoint/safetensors';
import type { Check } from './compare';
import { modelConfigFrom } from '../generate/load';
import { Generator } from '../generate/generate';
import { parameterSpecs } from '../model/parameters';

export async function checkGenerateGreedy(gpu: Gpu, st: SafetensorsFile): Promise<Check[]> {
  const raw = JSON.parse(st.metadata.config ?? '{}') as Record<string, unknown>;
  const cfg = modelConfigFrom(raw, 'config');
  const get = (n: string) => {
    const t = st.tensors.get(n);
    if (!t) throw new Error(`case has no tensor ${n}`);
    return t;
  };
  for (const s of parameterSpecs(cfg)) get(s.name);
  const prompt = Array.from(asU32(get('prompt_ids')));
  const want = Array.from(asU32(get('generated_ids')));
  const margins = asF32(get('margins'));
  const checks: Check[] = [];
  for (const samples of [1, 3]) {
    const g = new Generator(gpu, cfg, (n) => asF32(get(n)), undefined, { numSamples: samples, precision: 'f32' });
    try {
      const res = await g.generateIds(prompt, { temperature: 0, maxNewTokens: want.length });
      res.forEach((r, b) => {
        const first = r.ids.findIndex((id, i) => id !== want[i]);
        const ok = first < 0 && r.ids.length === want.length;
        checks.push({
          name: `greedy ids (${samples} sample${samples > 1 ? 's' : ''}, sample ${b})`,
          ok,
          maxErr: ok ? 0 : 1,
          detail: ok
            ? `${want.length} ids identical (prompt ${prompt.length}, context ${cfg.context_length}; smallest top-2 margin ${Math.min(...margins).toExponential(1)})`
            : `first difference at new token ${first}: ours ${r.ids[first]}, PyTorch ${want[first]} (top-2 margin there ${margins[first]?.toExponential(2)})`,
        });
      });
    } finally {
      g.destroy();
    }
  }
  return checks;
}
