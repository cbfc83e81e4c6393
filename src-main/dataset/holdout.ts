// Holding out the end of one text as the validation split, for a user who has a single file: the text is cut at
// a document boundary near `(1 - fraction) × size` — just after the next special token (`<|endoftext|>`), else
// after the next newline, else at the next UTF-8 character boundary — and the two parts are written into the
// dataset folder as raw/train.txt and raw/valid.txt (streamed, each a temporary file renamed when complete, their
// sha256 computed on the way). raw/holdout.json records the source's sha256, the fraction and the cut, so a re-run
// on the same text reuses the parts without copying again.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, lstatSync, openSync, readFileSync, readSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AbortedError, UserError } from '../util/errors';
import { tempPathFor, writeFileAtomic } from '../util/atomic-write';
import type { DataEvent } from '../engine/events';

export const HoldoutRecordSchema = z.object({
  source: z.object({ path: z.string(), size: z.number(), sha256: z.string() }),
  valid_fraction: z.number(),
  cut: z.number(),
  parts: z.record(z.string(), z.object({ size: z.number(), sha256: z.string() })),
});
export type HoldoutRecord = z.infer<typeof HoldoutRecordSchema>;

/** How far past the target the cut looks for a boundary before it settles for a character boundary. */
const SEARCH_BYTES = 16 * 1024 * 1024;

export function checkValidFraction(f: number): void {
  if (!(f > 0 && f <= 0.5)) {
    throw new UserError(`the validation fraction must be above 0 and at most 0.5 (got ${f})`, { code: 'INVALID_ARGUMENT', data: { validFraction: f } });
  }
}

/** The byte offset where the validation part starts. */
export function findCut(path: string, size: number, fraction: number, specials: readonly string[]): number {
  const target = Math.floor(size * (1 - fraction));
  const fd = openSync(path, 'r');
  try {
    const end = Math.min(size, target + SEARCH_BYTES);
    const buf = Buffer.alloc(end - target);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, target + got);
      if (n === 0) break;
      got += n;
    }
    const win = buf.subarray(0, got);
    let best = -1;
    for (const s of specials) {
      const i = win.indexOf(Buffer.from(s, 'utf8'));
      if (i >= 0 && (best < 0 || i + Buffer.byteLength(s) < best)) best = i + Buffer.byteLength(s);
    }
    if (best >= 0 && win[best] === 0x0a) best++; // keep a newline after the special with its document
    if (best < 0) {
      const nl = win.indexOf(0x0a);
      if (nl >= 0) best = nl + 1;
    }
    if (best < 0) {
      best = 0;
      while (best < win.length && (win[best] & 0xc0) === 0x80) best++;
    }
    const cut = target + best;
    if (cut <= 0 || cut >= size) {
      throw new UserError(`the text is too short to hold out ${Math.round(fraction * 100)}% for validation at a document boundary; give a validation text`, { code: 'FILE_INVALID', data: { path, size } });
    }
    return cut;
  } finally {
    closeSync(fd);
  }
}

async function copyRange(src: string, dst: string, start: number, end: number, onBytes: (n: number) => void, signal?: AbortSignal): Promise<string> {
  const tmp = tempPathFor(dst);
  const h = createHash('sha256');
  const out = await open(tmp, 'w');
  try {
    if (end > start) {
      const stream = createReadStream(src, { start, end: end - 1, highWaterMark: 4 * 1024 * 1024 });
      try {
        for await (const chunk of stream) {
          if (signal?.aborted) throw new AbortedError('dataset preparation');
          const b = chunk as Buffer;
          h.update(b);
          let off = 0;
          while (off < b.length) off += (await out.write(b, off, b.length - off)).bytesWritten;
          onBytes(b.length);
        }
      } finally {
        stream.destroy();
      }
    }
    await out.sync();
    await out.close();
    renameSync(tmp, dst);
  } catch (err) {
    await out.close().catch(() => undefined);
    rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new UserError(`the disk is full while writing ${dst}; the partial output was removed. Free some space or write to another disk`, { code: 'DISK_FULL', data: { path: dst } });
    throw err;
  }
  return h.digest('hex');
}

/** Splits `src` (already hashed: `source`) into rawDir/train.txt and rawDir/valid.txt, or reuses an earlier split. */
export async function holdOut(
  source: { path: string; size: number; sha256: string },
  fraction: number,
  specials: readonly string[],
  rawDir: string,
  ev: (e: DataEvent) => void,
  signal?: AbortSignal,
): Promise<{ record: HoldoutRecord; reused: boolean }> {
  const recPath = join(rawDir, 'holdout.json');
  const train = join(rawDir, 'train.txt');
  const valid = join(rawDir, 'valid.txt');
  let prev: HoldoutRecord | undefined;
  try {
    prev = HoldoutRecordSchema.parse(JSON.parse(readFileSync(recPath, 'utf8')));
  } catch {
    prev = undefined;
  }
  const sizeOf = (p: string) => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    return st?.isFile() ? st.size : -1;
  };
  if (
    prev && prev.source.sha256 === source.sha256 && prev.valid_fraction === fraction &&
    sizeOf(train) === prev.parts.train?.size && sizeOf(valid) === prev.parts.valid?.size
  ) {
    ev({ type: 'phase', task: 'split', status: 'reused', detail: `validation = the last ${fmtPct(fraction)}` });
    return { record: prev, reused: true };
  }
  const cut = findCut(source.path, source.size, fraction, specials);
  ev({ type: 'phase', task: 'split', status: 'start', total: source.size, unit: 'bytes' });
  rmSync(recPath, { force: true });
  // raw/train.txt may be a link to a user's file from an earlier preparation: replace the link, never write through it.
  for (const p of [train, valid]) rmSync(p, { force: true });
  let done = 0;
  const progress = (n: number) => {
    done += n;
    ev({ type: 'progress', task: 'split', done, total: source.size, unit: 'bytes' });
  };
  const trainSha = await copyRange(source.path, train, 0, cut, progress, signal);
  const validSha = await copyRange(source.path, valid, cut, source.size, progress, signal);
  const record: HoldoutRecord = {
    source,
    valid_fraction: fraction,
    cut,
    parts: { train: { size: cut, sha256: trainSha }, valid: { size: source.size - cut, sha256: validSha } },
  };
  writeFileAtomic(recPath, `${JSON.stringify(record, null, 2)}\n`);
  ev({ type: 'phase', task: 'split', status: 'done', detail: `validation = the last ${(((source.size - cut) / source.size) * 100).toFixed(1)}% (from byte ${cut})`, data: { cut } });
  return { record, reused: false };
}

function fmtPct(f: number): string {
  return `${+(f * 100).toFixed(2)}%`;
}
