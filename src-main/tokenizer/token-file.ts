// The token file format, in one place: raw little-endian uint16 ids (no header; what CS336 reads with np.memmap)
// with a JSON manifest beside it (<file>.json). The one manifest schema and reader, used by the tokenizer (which
// writes them), the dataset pipeline (which reuses up-to-date ones) and the trainer (engine/data/token-file.ts).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { UserError } from '../util/errors';

export const TokenFileManifestSchema = z.object({
  format: z.literal('lmwb-tokens'),
  version: z.literal(1),
  dtype: z.literal('uint16'),
  byte_order: z.literal('little'),
  vocab_size: z.number().int(),
  num_tokens: z.number().int(),
  tokenizer_hash: z.string(),
  special_tokens: z.record(z.string(), z.number().int()),
  source: z.object({ path: z.string(), size: z.number().int(), sha256: z.string() }),
  created_at: z.string(),
  encode_seconds: z.number().optional(),
});
export type TokenFileManifest = z.infer<typeof TokenFileManifestSchema>;

export function manifestPathFor(binPath: string): string {
  return `${binPath}.json`;
}

export type ManifestLookup =
  | { status: 'ok'; manifest: TokenFileManifest }
  | { status: 'missing'; path: string }
  | { status: 'invalid'; path: string; reason: string }
  /** The token file's size disagrees with the manifest's num_tokens (incomplete or stale). */
  | { status: 'stale'; path: string; manifest: TokenFileManifest; bytes: number };

/** Looks up the manifest of a token file and checks it against the file's size, without throwing. */
export function lookupTokenFileManifest(binPath: string): ManifestLookup {
  const mp = manifestPathFor(binPath);
  if (!existsSync(mp)) return { status: 'missing', path: mp };
  let json: unknown;
  try { json = JSON.parse(readFileSync(mp, 'utf8')); } catch (err) { return { status: 'invalid', path: mp, reason: (err as Error).message }; }
  const r = TokenFileManifestSchema.safeParse(json);
  if (!r.success) return { status: 'invalid', path: mp, reason: r.error.issues[0]?.message ?? 'invalid' };
  let bytes: number;
  try { bytes = statSync(binPath).size; } catch { return { status: 'stale', path: mp, manifest: r.data, bytes: -1 }; }
  if (bytes !== r.data.num_tokens * 2) return { status: 'stale', path: mp, manifest: r.data, bytes };
  return { status: 'ok', manifest: r.data };
}

/** The manifest of a token file; UserError (FILE_NOT_FOUND / FILE_INVALID) when missing, invalid or stale. */
export function readTokenFileManifest(binPath: string): TokenFileManifest {
  const l = lookupTokenFileManifest(binPath);
  switch (l.status) {
    case 'ok':
      return l.manifest;
    case 'missing':
      throw new UserError(`token file manifest not found: ${l.path}; encode the text again to create it`, { code: 'FILE_NOT_FOUND', data: { path: l.path } });
    case 'invalid':
      throw new UserError(`${l.path} is not a valid token file manifest: ${l.reason}`, { code: 'FILE_INVALID', data: { path: l.path, reason: l.reason } });
    case 'stale':
      throw new UserError(`${binPath} has ${l.bytes} bytes but its manifest says ${l.manifest.num_tokens} uint16 tokens; the file is incomplete or stale`, {
        code: 'FILE_INVALID',
        data: { path: binPath, bytes: l.bytes, numTokens: l.manifest.num_tokens },
      });
  }
}

/** Reads a whole token file into memory, checking its size against the manifest. */
export function readTokenFile(binPath: string): Uint16Array {
  readTokenFileManifest(binPath);
  const buf = readFileSync(binPath);
  if (buf.byteOffset % 2 !== 0) return new Uint16Array(new Uint8Array(buf).buffer);
  return new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
}
