// Training a byte-level BPE tokenizer from a text file (CS336 semantics, see bpe-merge.ts): streaming chunked
// pre-token counting in worker threads, then the incremental merge loop. Vocabulary ids: special tokens first
// (in the order given), then the 256 bytes in GPT-2's byte order, then merges in the order learned, exactly as
// the CS336 reference vocab. Long work reports ProgressEvents ('count' in bytes, 'merge' in merges) and stops
// promptly on an AbortSignal (AbortedError; workers terminated).
import { createHash } from 'node:crypto';
import { throwIfAborted, UserError } from '../util/errors';
import type { DataEvent } from '../engine/events';
import { GPT2_BYTE_ORDER } from './bytes-unicode';
import { readChunks } from './chunks';
import { countPretokens, mergePacked, PretokenCounts, type PackedCounts } from './count';
import { learnMerges, learnMergesAsync, type FlatWords } from './bpe-merge';
import { ChunkPool, defaultWorkers, workersAvailable } from './pool';
import { SpecialSplitter } from './specials';
import { decodeChunk, type InvalidUtf8Mode } from './text-decode';
import { Tokenizer } from './tokenizer';
import { inputSize, invalidUtf8Error, invalidUtf8Offset } from './inputs';

export interface TrainOptions {
  vocabSize: number;
  specials?: string[];
  /** Worker threads for counting (default: available cores, or 0 = this thread for files under 4 MB). */
  workers?: number;
  chunkSize?: number;
  invalidUtf8?: InvalidUtf8Mode;
  /** Progress ('count': bytes, 'merge': merges) and warnings (no special token in the text, too few merges). */
  onEvent?: (e: DataEvent) => void;
  /** Cancels training: AbortedError, workers terminated. */
  signal?: AbortSignal;
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
    throw new UserError(`vocab size ${vocabSize} is too small: it must be at least 256 (one token per byte) + ${specials.length} special token(s) = ${min}`, {
      code: 'INVALID_ARGUMENT',
      data: { vocabSize, min, specials: specials.length },
    });
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
  const words = counts.toFlatWords();
  const numMerges = opts.vocabSize - 256 - specials.length;
  const { tokenBytes, merges } = learnMerges(words, { numMerges, onProgress: mergeProgress(opts) });
  return finish(tokenBytes, merges, specials, { t0, t1, uniquePretokens: counts.size, inputBytes: Buffer.byteLength(text), workers: 0, specialOccurrences: specials.some((s) => text.includes(s)) });
}

/** Merge progress as ProgressEvents, at most ~10 a second (and always the last one). */
function mergeProgress(opts: TrainOptions): ((done: number, total: number) => void) | undefined {
  const on = opts.onEvent;
  if (!on) return undefined;
  let last = -Infinity;
  return (done, total) => {
    const now = performance.now();
    if (now - last < 100 && done < total) return;
    last = now;
    on({ type: 'progress', task: 'merge', done, total, unit: 'merges' });
  };
}

function finish(
  tokenBytes: Uint8Array[],
  merges: Array<[number, number]>,
  specials: string[],
  info: { t0: number; t1: number; uniquePretokens: number; inputBytes: number; workers: number; specialOccurrences: boolean; sha?: string },
): { tokenizer: Tokenizer; stats: TrainStats } {
  const uniquePretokens = info.uniquePretokens;
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

/** Trains on a text file, streaming it in chunks through worker threads. */
export async function trainFromFile(path: string, opts: TrainOptions): Promise<{ tokenizer: Tokenizer; stats: TrainStats }> {
  const specials = opts.specials ?? [];
  checkVocabSize(opts.vocabSize, specials);
  const size = await inputSize(path, 'train a tokenizer on');
  const signal = opts.signal;
  throwIfAborted(signal, 'tokenizer training');
  const invalidUtf8 = opts.invalidUtf8 ?? 'error';
  const t0 = performance.now();
  const hash = opts.hashInput ? createHash('sha256') : undefined;
  const chunkSize = opts.chunkSize ?? 4 * 1024 * 1024;
  // Small files are counted in this thread (starting workers costs ~0.2 s) unless workers are asked for.
  const wanted = opts.workers ?? (size < 4 * 1024 * 1024 ? 0 : defaultWorkers());
  const available = workersAvailable();
  if (wanted > 0 && !available) opts.onEvent?.({ type: 'warning', code: 'WORKERS_UNAVAILABLE', message: 'worker threads are not available here; counting in one thread', data: { wanted } });
  const workers = wanted === 0 || !available ? 0 : Math.max(1, Math.min(wanted, Math.ceil(size / chunkSize)));
  const progress = (done: number) => opts.onEvent?.({ type: 'progress', task: 'count', done, total: size, unit: 'bytes' });
  const specialBytes = specials.map((s) => Buffer.from(s, 'utf8'));
  let specialOccurrences = false;
  let counts = new PretokenCounts();
  const chunks = readChunks(path, { chunkSize, specials, hash });
  let processed = 0;
  const noteSpecials = (data: Buffer) => {
    if (!specialOccurrences) specialOccurrences = specialBytes.some((sp) => data.includes(sp));
  };
  progress(0); // starts the clock of a front end's rate
  try {
    if (workers === 0) {
      const splitter = new SpecialSplitter(specials);
      for await (const chunk of chunks) {
        throwIfAborted(signal, 'tokenizer training');
        noteSpecials(chunk.data);
        countPretokens(decodeChunk(chunk.data, chunk.offset, invalidUtf8), splitter, counts);
        processed += chunk.data.length;
        progress(processed);
      }
    } else {
      const pool = new ChunkPool({ task: 'count', specials, invalidUtf8 }, workers);
      try {
        const tap = async function* () {
          for await (const c of chunks) { noteSpecials(c.data); yield c; }
        };
        await pool.run(tap(), (r) => { processed += r.bytes; progress(processed); }, signal, 'tokenizer training');
        const replies = await pool.finish();
        for (const r of replies) if (r.type === 'counts') mergePacked(counts, r as PackedCounts);
      } finally {
        await pool.close();
      }
    }
  } catch (err) {
    const off = invalidUtf8Offset(err);
    if (off !== undefined) throw invalidUtf8Error(path, off);
    throw err;
  }
  throwIfAborted(signal, 'tokenizer training');
  const t1 = performance.now();
  const uniquePretokens = counts.size;
  let words: FlatWords | undefined = counts.toFlatWords();
  // eslint-disable-next-line no-useless-assignment -- drops the last reference, so the string table can be collected
  counts = undefined as unknown as PretokenCounts; // let the string table go before the merge loop allocates its own
  const numMerges = opts.vocabSize - 256 - specials.length;
  const { tokenBytes, merges } = await learnMergesAsync(words, { numMerges, onProgress: mergeProgress(opts), signal });
  // eslint-disable-next-line no-useless-assignment -- drops the last reference to the flat words
  words = undefined;
  if (specials.length > 0 && !specialOccurrences) {
    opts.onEvent?.({ type: 'warning', code: 'NO_SPECIAL_TOKENS_IN_TEXT', message: `${path} contains none of the special tokens ${specials.map((s) => JSON.stringify(s)).join(', ')}; the text is trained on as one stream (documents are not separated)`, data: { path, specials } });
  }
  if (merges.length < numMerges) {
    opts.onEvent?.({ type: 'warning', code: 'VOCAB_SHORT', message: `the corpus ran out of pairs to merge after ${merges.length} merges; the vocabulary has ${256 + specials.length + merges.length} tokens instead of ${opts.vocabSize}`, data: { merges: merges.length, requested: numMerges } });
  }
  return finish(tokenBytes, merges, specials, { t0, t1, uniquePretokens, inputBytes: size, workers, specialOccurrences, sha: hash?.digest('hex') });
}
