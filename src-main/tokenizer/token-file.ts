// Reading token files written by encodeFile: raw little-endian uint16 ids + <file>.json manifest.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { UserError } from '../util/errors';
import { manifestPathFor, TokenFileManifestSchema, type TokenFileManifest } from './encode-file';

export function readTokenFileManifest(binPath: string): TokenFileManifest {
  const mp = manifestPathFor(binPath);
  if (!existsSync(mp)) throw new UserError(`token file manifest not found: ${mp} (re-run \`lmwb tokenize\` to create it)`);
  const r = TokenFileManifestSchema.safeParse(JSON.parse(readFileSync(mp, 'utf8')));
  if (!r.success) throw new UserError(`${mp} is not a valid token file manifest: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

/** Reads a whole token file into memory, checking its size against the manifest. */
export function readTokenFile(binPath: string): Uint16Array {
  const m = readTokenFileManifest(binPath);
  const size = statSync(binPath).size;
  if (size !== m.num_tokens * 2) throw new UserError(`${binPath} has ${size} bytes but its manifest says ${m.num_tokens} uint16 tokens; the file is incomplete or stale`);
  const buf = readFileSync(binPath);
  if (buf.byteOffset % 2 !== 0) return new Uint16Array(new Uint8Array(buf).buffer);
  return new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
}
