// Named starting points for `lmwb train --preset NAME`.
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resourcesDir } from '../../util/paths';
import { writeFileAtomic } from '../../util/atomic-write';
import { CS336_TINYSTORIES } from '../model/config';
import type { RunConfigInput } from './run-config';
import { UserError } from '../../util/errors';

export function findResourcesDir(): string {
  return resourcesDir();
}

/** Byte-level token files (vocab 256) from a text, split 90/10 into train and valid; reused when present. */
export function byteLevelDataset(textPath: string, outDir: string): { train: string; valid: string } {
  const train = join(outDir, 'train.bin');
  const valid = join(outDir, 'valid.bin');
  if (existsSync(train) && existsSync(valid)) return { train, valid };
  const bytes = readFileSync(textPath);
  const cut = Math.floor(bytes.length * 0.9);
  mkdirSync(outDir, { recursive: true });
  const write = (path: string, part: Uint8Array) => {
    writeFileAtomic(path, new Uint8Array(Uint16Array.from(part).buffer));
    writeFileAtomic(`${path}.json`, `${JSON.stringify({ dtype: 'uint16', vocab_size: 256, num_tokens: part.length, tokenizer: 'bytes', source: textPath }, null, 2)}\n`);
  };
  write(train, bytes.subarray(0, cut));
  write(valid, bytes.subarray(cut));
  return { train, valid };
}

export const PRESET_NAMES = ['smoke', 'cs336-tinystories'] as const;

export function preset(name: string, outRoot = 'runs'): RunConfigInput {
  switch (name) {
    case 'smoke': {
      // A tiny byte-level model on the small text in resources/: trains in about a minute on a CPU.
      const data = byteLevelDataset(join(findResourcesDir(), 'smoke', 'stories.txt'), resolve(outRoot, 'smoke', 'data'));
      return {
        name: 'smoke',
        out_dir: join(outRoot, 'smoke'),
        model: { vocab_size: 256, context_length: 64, d_model: 64, num_layers: 2, num_heads: 4, d_ff: 192, rope_theta: 10000 },
        data,
        training: { batch_size: 8, max_steps: 200, seed: 0, max_learning_rate: 3e-3, min_learning_rate: 3e-4, warmup_iters: 20 },
        eval: { interval: 100, batches: 4 },
        checkpoint: { interval: 100, keep_last: 2 },
        log: { interval: 10 },
      };
    }
    case 'cs336-tinystories':
      // The CS336 §7 TinyStories run: 327.68M tokens = 10,000 steps of 128 × 256. Token files from
      // `lmwb dataset prepare --train data/TinyStoriesV2-GPT4-train.txt --valid … --vocab-size 10000` (its default
      // folder); learning rate and warmup are starting points for the sweep.
      return {
        name: 'cs336-tinystories',
        out_dir: join(outRoot, 'cs336-tinystories'),
        model: { ...CS336_TINYSTORIES },
        data: { train: 'datasets/TinyStoriesV2-GPT4-bpe10000/train.bin', valid: 'datasets/TinyStoriesV2-GPT4-bpe10000/valid.bin' },
        training: { batch_size: 128, total_tokens: 327_680_000, seed: 0, max_learning_rate: 2e-3, min_learning_rate: 2e-4, warmup_iters: 500, weight_decay: 0.1, max_grad_norm: 1.0 },
        eval: { interval: 500, batches: 20 },
        checkpoint: { interval: 1000, keep_last: 3 },
        log: { interval: 20 },
      };
    default:
      throw new UserError(`unknown preset "${name}"; presets: ${PRESET_NAMES.join(', ')}`);
  }
}
