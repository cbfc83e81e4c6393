/**
 * Config comparison for `lmwb runs diff`, the report's config tables and the app's Compare view: nested keys
 * flattened to dotted paths, only the keys whose values differ between the runs, the first run as the baseline.
 * Pure: no file access (the renderer imports it).
 */

export type Flat = Record<string, unknown>;

/** Flattens nested objects to dotted keys ({a: {b: 1}} → {"a.b": 1}); arrays and primitives are leaves. */
export function flattenConfig(value: unknown, prefix = '', out: Flat = {}): Flat {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.length && prefix) out[prefix] = {};
    for (const [k, v] of entries) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = value;
  }
  return out;
}

/** Equality of two leaf values (arrays compared element by element through JSON). */
function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface ConfigDiff {
  /** Dotted keys whose values differ between at least two runs (a key missing in one run counts), sorted. */
  keys: string[];
  /** Per run, in input order: its values for `keys` (undefined where the run lacks the key). */
  values: Array<Record<string, unknown>>;
  /** Index of the baseline run (always 0: the first run given). */
  baseline: 0;
}

/** Only the keys that differ between configs; `ignore` drops keys (exact, or a prefix ending in '.'). */
export function diffConfigs(configs: unknown[], ignore: string[] = []): ConfigDiff {
  const flats = configs.map((c) => flattenConfig(c));
  const all = new Set<string>();
  for (const f of flats) for (const k of Object.keys(f)) all.add(k);
  const skip = (k: string) => ignore.some((p) => (p.endsWith('.') ? k.startsWith(p) : k === p));
  const keys = [...all]
    .filter((k) => !skip(k))
    .filter((k) => flats.some((f) => !(k in f) || !(k in flats[0]) || !same(f[k], flats[0][k])))
    .sort();
  return { keys, values: flats.map((f) => Object.fromEntries(keys.map((k) => [k, f[k]]))), baseline: 0 };
}
