// Token files: raw little-endian uint16 ids (the format `lmwb tokenize` writes and CS336 uses with np.memmap),
// optionally with a JSON manifest beside them (read through the one manifest reader, tokenizer/token-file.ts).
// Opened, never loaded: reads go through a file descriptor.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../../util/errors';
import { lookupTokenFileManifest } from '../../tokenizer/token-file';

export interface TokenFileInfo {
  path: string;
  numTokens: number;
  /** vocab_size from the manifest, when there is one. */
  manifestVocab?: number;
}

/** Opens and checks a uint16 token file: exists, even size, long enough for one window, manifest agrees. */
export function inspectTokenFile(path: string, contextLength: number, vocabSize: number, role: string): TokenFileInfo {
  if (!existsSync(path)) throw new UserError(`${role} token file not found: ${path} (encode a text into it, or prepare a dataset)`, { code: 'FILE_NOT_FOUND', data: { path, role } });
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size % 2 !== 0) throw new UserError(`${role} token file ${path} has an odd size (${size} bytes): it is not a uint16 token file`, { code: 'FILE_INVALID', data: { path, role, bytes: size } });
    const numTokens = size / 2;
    if (numTokens < contextLength + 2) {
      throw new UserError(`${role} token file ${path} holds ${numTokens} tokens, fewer than one window of context_length ${contextLength} + 1`, {
        code: 'FILE_INVALID',
        data: { path, role, numTokens, contextLength },
      });
    }
    // A manifest that is missing, unreadable or stale says nothing: the file's own size and ids are checked.
    const look = lookupTokenFileManifest(path);
    const manifestVocab = look.status === 'ok' ? look.manifest.vocab_size : undefined;
    if (manifestVocab !== undefined && manifestVocab > vocabSize) {
      throw new UserError(`${role} token file ${path} was made with a tokenizer of vocab ${manifestVocab}, larger than the model's vocab_size ${vocabSize}; set model.vocab_size to ${manifestVocab}`, {
        code: 'TOKEN_OUT_OF_RANGE',
        data: { path, role, manifestVocab, vocabSize },
      });
    }
    return { path, numTokens, manifestVocab };
  } finally {
    closeSync(fd);
  }
}

/**
 * Scans a token file for ids ≥ vocabSize in 16 MiB blocks (bounded memory). Returns the first offending
 * position, or -1.
 */
export function findOutOfRange(path: string, vocabSize: number): { index: number; value: number } | undefined {
  const fd = openSync(path, 'r');
  const block = Buffer.alloc(16 * 1024 * 1024);
  try {
    let pos = 0;
    for (;;) {
      const n = readSync(fd, block, 0, block.length, pos);
      if (n <= 0) return undefined;
      const ids = new Uint16Array(block.buffer, block.byteOffset, n >> 1);
      for (let i = 0; i < ids.length; i++) if (ids[i] >= vocabSize) return { index: pos / 2 + i, value: ids[i] };
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
}

export function outOfRangeError(path: string, vocabSize: number, bad: { index: number; value: number }): UserError {
  return new UserError(
    `token file ${path} has id ${bad.value} at position ${bad.index}, but the model's vocab_size is ${vocabSize}: ` +
      `the file was made with a larger tokenizer; set model.vocab_size to at least ${bad.value + 1} or re-tokenize`,
    { code: 'TOKEN_OUT_OF_RANGE', data: { path, vocabSize, index: bad.index, value: bad.value } },
  );
}
