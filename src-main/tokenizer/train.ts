// Training a byte-level BPE tokenizer from a text file (CS336 semantics, see bpe-merge.ts): streaming chunked
// pre-token counting in worker threads, then the incremental merge loop. Vocabulary ids: special tokens first
// (in the order given), then the 256 bytes in GPT-2's byte order, then merges in the order learned, exactly as
// the CS336 reference vocab.
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { UserError } from '../util/errors';
import { GPT2_BYTE_ORDER } from './bytes-unicode';
import { readChunks } from './chunks';
import { countPretokens, mergePacked, PretokenCounts, type PackedCounts } from './count';
import { learnMerges } from './bpe-merge';
import { ChunkPool, defaultWorkers, WorkerFailure, workersAvailable } from './pool';
import { SpecialSplitter } from './specials';
import { decodeChunk, InvalidUtf8Error, type InvalidUtf8Mode } from './text-decode';
import { Tokenizer } from './tokenizer';

export interface TrainOptions {
  vocabSize: number;
  specials?: string[];
  /** Worker threads for counting (default: available cores, or 0 = this thread for files under 4 MB). */
  workers?: number;
  chunkSize?: number;
  invalidUtf8?: InvalidUtf8Mode;
  onProgress?: (phase: 'count' | 'merge', done: number, total: number) => void;
  /** Also compute the sha256 of the input while reading it. */
  hashInput?: boolean;
}

export interface TrainStats {
  inputBytes: number;
  inputSha256?: string;
  uniquePretokens: number;
  countSeconds: number;
  mergeSeconds: number;
  totalSeconds: number;
  workers: number;
  specialOccurrences: boolean;
  /** Merges learned (fewer than asked when the corpus has no pairs left). */
  merges: number;
}

export function checkVocabSize(vocabSize: number, specials: readonly string[]): void {
  const min = 256 + specials.length;
  if (!Number.isInteger(vocabSize) || vocabSize < min) {
    throw new UserError(`vocab size ${vocabSize} is too small: it must be at least 256 (one token per byte) + ${specials.length} special token(s) = ${min}`);
  }
}

/** Assembles the final tokenizer from merge results (internal ids: 0..255 bytes, 256+k merge k). */
export function buildTokenizer(tokenBytes: Uint8Array[], merges: Array<[number, number]>, specials: string[]): Tokenizer {
  const S = specials.length;
  const finalId = new Int32Array(tokenBytes.length);
  GPT2_BYTE_ORDER.forEach((b, i) => { finalId[b] = S + i; });
  for (let k = 0; k < merges.length; k++) finalId[256 + k] = S + 256 + k;
  const vocab: Uint8Array[] = specials.map((s) => new Uint8Array(Buffer.from(s, 'utf8')));
  for (const b of GPT2_BYTE_ORDER) vocab.push(tokenBytes[b]);
  for (let k = 0; k < merges.length; k++) vocab.push(tokenBytes[256 + k]);
  return new Tokenizer({ vocab, merges: merges.map(([a, b]) => [finalId[a], finalId[b]]), specials });
}

/** Trains on a text in memory (small corpora, tests). */
export function trainFromText(text: string, opts: TrainOptions): { tokenizer: Tokenizer; stats: TrainStats } {
  const specials = opts.specials ?? [];
  checkVocabSize(opts.vocabSize, specials);
  const t0 = performance.now();
  const counts = new PretokenCounts();
  countPretokens(text, new SpecialSplitter(specials), counts);
  const t1 = performance.now();
  return finish({ current: counts }, opts, specials, { t0, t1, inputBytes: Buffer.byteLength(text), workers: 0, specialOccurrences: specials.some((s) => text.includes(s)) });
}

function finish(
  counts: { current?: PretokenCounts },
  opts: TrainOptions,
  specials: string[],
  info: { t0: number; t1: number; inputBytes: number; workers: number; specialOccurrences: boolean; sha?: string },
): { tokenizer: Tokenizer; stats: TrainStats } {
  const table = counts.current as PretokenCounts;
  const words = table.toFlatWords();
  const uniquePretokens = table.size;
  counts.current = undefined; // let the string table go before the merge loop allocates its own structures
  const numMerges = opts.vocabSize - 256 - specials.length;
  const { tokenBytes, merges } = learnMerges(words, { numMerges, onProgress: (d, t) => opts.onProgress?.('merge', d, t) });
  const tokenizer = buildTokenizer(tokenBytes, merges, specials);
  const t2 = performance.now();
  return {
    tokenizer,
    stats: {
      inputBytes: info.inputBytes,
      inputSha256: info.sha,
      uniquePretokens,
      countSeconds: (info.t1 - info.t0) / 1000,
      mergeSeconds: (t2 - info.t1) / 1000,
      totalSeconds: (t2 - info.t0) / 1000,
      workers: info.workers,
      specialOccurrences: info.specialOccurrences,
      merges: merges.length,
    },
  };
}

function invalidUtf8Message(path: string, offset: number): string {
  return `${path} is not valid UTF-8 (first bad byte at offset ${offset}); fix or re-encode the file, or pass --invalid-utf8 replace to turn invalid bytes into U+FFFD`;
}

/** Trains on a text file, streaming it in chunks through worker threads. */
export async function trainFromFile(path: string, opts: TrainOptions): Promise<{ tokenizer: Tokenizer; stats: TrainStats }> {
  const specials = opts.specials ?? [];
  checkVocabSize(opts.vocabSize, specials);
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new UserError(`${path} is not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size === 0) throw new UserError(`${path} is empty: there is nothing to train a tokenizer on`);
  const invalidUtf8 = opts.invalidUtf8 ?? 'error';
  const t0 = performance.now();
  const hash = opts.hashInput ? createHash('sha256') : undefined;
  const chunkSize = opts.chunkSize ?? 4 * 1024 * 1024;
  // Small files are counted in this thread (starting workers costs ~0.2 s) unless workers are asked for.
  const wanted = opts.workers ?? (size < 4 * 1024 * 1024 ? 0 : defaultWorkers());
  const workers = wanted === 0 || !(await workersAvailable()) ? 0 : Math.max(1, Math.min(wanted, Math.ceil(size / chunkSize)));
  const specialBytes = specials.map((s) => Buffer.from(s, 'utf8'));
  let specialOccurrences = false;
  let counts = new PretokenCounts();
  const chunks = readChunks(path, { chunkSize, specials, hash });
  let processed = 0;
  const noteSpecials = (data: Buffer) => {
    if (!specialOccurrences) specialOccurrences = specialBytes.some((sp) => data.includes(sp));
  };
  try {
    if (workers === 0) {
      const splitter = new SpecialSplitter(specials);
      for await (const chunk of chunks) {
        noteSpecials(chunk.data);
        countPretokens(decodeChunk(chunk.data, chunk.offset, invalidUtf8), splitter, counts);
        processed += chunk.data.length;
        opts.onProgress?.('count', processed, size);
      }
    } else {
      const pool = await ChunkPool.create({ task: 'count', specials, invalidUtf8 }, workers);
      try {
        const tap = async function* () {
          for await (const c of chunks) { noteSpecials(c.data); yield c; }
        };
        await pool.run(tap(), (r) => { processed += r.bytes; opts.onProgress?.('count', processed, size); });
        const replies = await pool.finish();
        for (const r of replies) if (r.type === 'counts') mergePacked(counts, r as PackedCounts);
      } finally {
        await pool.close();
      }
    }
  } catch (err) {
    const off = err instanceof InvalidUtf8Error ? err.offset : err instanceof WorkerFailure ? err.invalidUtf8Offset : undefined;
    if (off !== undefined) throw new UserError(invalidUtf8Message(path, off));
    throw err;
  }
  const t1 = performance.now();
  const holder: { current?: PretokenCounts } = { current: counts };
  counts = undefined as unknown as PretokenCounts;
  return finish(holder, opts, specials, { t0, t1, inputBytes: size, workers, specialOccurrences, sha: hash?.digest('hex') });
}
