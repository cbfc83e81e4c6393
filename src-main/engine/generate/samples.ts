// Appends generations to a run's samples.jsonl (runs/format.ts SampleRecord): one line per sample, all of a call's
// lines in one append so a crash never leaves half a batch (readers skip a torn last line).
import { appendFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { RUN_FILES, SampleRecordSchema, type SampleRecord } from '../../runs/format';
import type { GenerateSettings, SampleResult } from './generate';

export function sampleRecords(checkpointFile: string, step: number, prompt: string, settings: GenerateSettings, results: SampleResult[], time = new Date()): SampleRecord[] {
  return results.map((r) => SampleRecordSchema.parse({
    time: time.toISOString(),
    checkpoint: basename(checkpointFile),
    step,
    prompt,
    text: r.text,
    prompt_ids: r.prompt_ids,
    ids: r.ids,
    stop_reason: r.stop_reason,
    settings: { temperature: settings.temperature, top_p: settings.topP, top_k: settings.topK, seed: settings.seed, max_new_tokens: settings.maxNewTokens },
    tokens_per_s: Number.isFinite(r.tokens_per_s) ? r.tokens_per_s : undefined,
  }));
}

export function appendSamples(runDir: string, records: SampleRecord[]): string {
  const path = join(runDir, RUN_FILES.samples);
  appendFileSync(path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return path;
}
