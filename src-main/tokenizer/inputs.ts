// Checks and errors for the text inputs of training and encoding: size (missing, not a file, empty) and invalid
// UTF-8, as coded UserErrors (FILE_NOT_FOUND, FILE_INVALID, INVALID_UTF8 with data.path and data.offset).
import { stat } from 'node:fs/promises';
import { UserError } from '../util/errors';
import { InvalidUtf8Error } from './text-decode';

/** The error for a text input that is not valid UTF-8 (front ends add how to choose the 'replace' mode). */
export function invalidUtf8Error(path: string, offset: number, what = ''): UserError {
  return new UserError(`${path} is not valid UTF-8 (first bad byte at offset ${offset}); fix or re-encode the file, or use the invalid-UTF-8 mode "replace" to turn invalid bytes into U+FFFD${what}`, {
    code: 'INVALID_UTF8',
    data: { path, offset },
  });
}

/** The byte offset of an invalid-UTF-8 failure (from this thread or a worker), or undefined. */
export function invalidUtf8Offset(err: unknown): number | undefined {
  if (err instanceof InvalidUtf8Error) return err.offset;
  if (err instanceof UserError && err.code === 'INVALID_UTF8' && typeof err.data.offset === 'number') return err.data.offset;
  return undefined;
}

/** Stat of a text input: its size; UserError FILE_NOT_FOUND / FILE_INVALID when missing, not a file or empty. */
export async function inputSize(path: string, emptyWhat: string): Promise<number> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new UserError(`${path} is not a file`, { code: 'FILE_INVALID', data: { path } });
    size = st.size;
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`cannot read ${path}: ${code ?? (err as Error).message}`, { code: code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_INVALID', data: { path, errno: code ?? null } });
  }
  if (size === 0) throw new UserError(`${path} is empty: there is nothing to ${emptyWhat}`, { code: 'FILE_INVALID', data: { path, size: 0 } });
  return size;
}
