// The reference suite on cases made by real PyTorch at awkward shapes (tools/reference-cases/make_cases.py):
// d_model not a power of two, odd head counts and head dims, odd sequence lengths, vocab sizes off 64, shapes
// that end in a partial kernel tile. The cases are generated into a temp dir when this file is collected; one
// test per case file. Skips (with the reason) where /usr/bin/python3 cannot import torch
// (Debian: `apt-get install -y python3-torch`); under CI a missing torch fails instead (helpers/requirements.ts).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openGpu, type Gpu } from '../../src-main/engine/gpu/device';
import { checkCase, KNOWN_KINDS, type CaseResult } from '../../src-main/engine/reference/cases';
import { readSafetensors } from '../../src-main/engine/checkpoint/safetensors';
import { needTorch, referencePython } from '../helpers/requirements';

// REFGEN_PYTHON only to try another interpreter (e.g. one without torch, to see the skip).
const PYTHON = referencePython;
const GENERATOR = fileURLToPath(new URL('../../tools/reference-cases/make_cases.py', import.meta.url));
const SEED = process.env.REFGEN_SEED ?? '0';
const PRESET = process.env.REFGEN_PRESET ?? 'awkward';

const haveTorch = needTorch('reference suite on generated PyTorch cases', PYTHON);

// Generation runs at collection time so that there is one test per generated file.
let dir = '';
let generated: { ok: boolean; log: string } = { ok: false, log: '' };
let files: string[] = [];
if (haveTorch) {
  dir = mkdtempSync(join(tmpdir(), 'lmwb-refgen-'));
  const g = spawnSync(PYTHON, [GENERATOR, dir, '--seed', SEED, '--preset', PRESET], { encoding: 'utf8', timeout: 180_000 });
  generated = { ok: g.status === 0 && !g.error, log: `${g.error?.message ?? ''}${g.stdout}${g.stderr}` };
  if (generated.ok) files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
}

function describeFailure(r: CaseResult): string {
  const bad = r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
  return `${r.file} (${r.kind}) failed${r.error ? `: ${r.error}` : ''}${bad.length ? `\n  ${bad.join('\n  ')}` : ''}\n` +
    `(cases kept in ${dir}; regenerate with ${PYTHON} tools/reference-cases/make_cases.py DIR --seed ${SEED} --preset ${PRESET})`;
}

describe(`reference suite on PyTorch cases at awkward shapes (${PRESET}, seed ${SEED})`, () => {
  if (!haveTorch) {
    it.skip(`skipped: ${PYTHON} cannot import torch`, () => {});
    return;
  }

  let gpu: Gpu;
  let anyFailed = false;
  beforeAll(async () => {
    gpu = await openGpu();
  });
  afterAll(() => {
    gpu?.destroy();
    if (!anyFailed && generated.ok) rmSync(dir, { recursive: true, force: true });
  });

  it('generates a case of every kind the suite knows', () => {
    expect(generated.ok, `make_cases.py failed:\n${generated.log}`).toBe(true);
    const kinds = new Set(files.map((f) => readSafetensors(join(dir, f)).metadata.kind));
    expect([...KNOWN_KINDS].filter((k) => !kinds.has(k)), 'kinds without a generated case').toEqual([]);
  });

  for (const f of files) {
    it(f, async () => {
      const r = await checkCase(gpu, join(dir, f));
      if (!r.ok) anyFailed = true;
      expect(r.ok, describeFailure(r)).toBe(true);
    });
  }
});
