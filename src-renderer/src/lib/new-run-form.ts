/**
 * The new-run form's values as text, and the request they make: each field holds what the user typed, and the
 * request is the preset plus one `key=<text>` override per changed field (and the cleared optional keys to
 * remove) — exactly the `--set key=value` / `--unset key` arguments a user gives `lmwb queue add --preset P`, so
 * the backend resolves both the same way (values parse as JSON where they can, else stay strings). Pure.
 */
import type { FormField } from '../../../src-main/api/areas/new-run';

export type Texts = Record<string, string>;

/** A dotted key's value in a nested config. */
export function valueAt(config: Record<string, unknown> | null | undefined, key: string): unknown {
  let node: unknown = config;
  for (const k of key.split('.')) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[k];
  }
  return node;
}

/**
 * A value as the form shows it (undefined: empty). A path inside `workspace` is shown relative to it: relative
 * data paths resolve against the workspace, on the command line too, so it names the same file.
 */
export function textOf(field: FormField, v: unknown, workspace?: string): string {
  if (v === undefined || v === null) return '';
  if (field.kind === 'pair' && Array.isArray(v)) return v.map(String).join(', ');
  if (field.kind === 'path' && typeof v === 'string' && workspace) {
    const root = workspace.replace(/[\\/]+$/, '');
    if (v.startsWith(`${root}/`) || v.startsWith(`${root}\\`)) return v.slice(root.length + 1).replace(/\\/g, '/');
  }
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Every field's text for a resolved config. */
export function textsOf(fields: FormField[], config: Record<string, unknown> | null | undefined, workspace?: string): Texts {
  return Object.fromEntries(fields.map((f) => [f.key, textOf(f, valueAt(config, f.key), workspace)]));
}

/** The right-hand side of `key=…` for what the user typed (as they would type it for the CLI). */
export function overrideValue(field: FormField, text: string): string {
  const t = text.trim();
  if (field.kind === 'pair') return `[${t.replace(/^\[|\]$/g, '')}]`;
  if (field.kind === 'string' || field.kind === 'path') {
    // Text that JSON would read as something else (a name "123", "true") is quoted, as on a command line.
    try {
      const parsed: unknown = JSON.parse(t);
      if (typeof parsed !== 'string') return JSON.stringify(t);
    } catch {
      /* not JSON: a plain string, as is */
    }
    return t;
  }
  return t;
}

export interface FormRequest {
  preset: string;
  set: string[];
  unset: string[];
}

/** The fields whose text differs from the preset's. */
export function changedKeys(fields: FormField[], base: Texts, texts: Texts): string[] {
  return fields.filter((f) => (texts[f.key] ?? base[f.key] ?? '').trim() !== (base[f.key] ?? '').trim()).map((f) => f.key);
}

/** The request for the changed fields: `key=value` for each, `unset` for an optional key the user cleared. */
export function requestFor(preset: string, fields: FormField[], base: Texts, texts: Texts): FormRequest {
  const set: string[] = [];
  const unset: string[] = [];
  for (const key of changedKeys(fields, base, texts)) {
    const f = fields.find((x) => x.key === key)!;
    const t = (texts[key] ?? '').trim();
    if (t === '' && !f.required) unset.push(key);
    else set.push(`${key}=${overrideValue(f, t)}`);
  }
  return { preset, set, unset };
}

/** Values for a range helper: `n` points from `from` to `to`, evenly or on a log scale (rounded to 4 digits). */
export function rangeValues(from: number, to: number, n: number, log: boolean, int: boolean): number[] {
  if (!(n >= 1) || !Number.isFinite(from) || !Number.isFinite(to)) return [];
  if (n === 1) return [from];
  if (log && (from <= 0 || to <= 0)) return [];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = i / (n - 1);
    const v = log ? Math.exp(Math.log(from) + f * (Math.log(to) - Math.log(from))) : from + f * (to - from);
    out.push(int ? Math.round(v) : +v.toPrecision(4));
  }
  return [...new Set(out)];
}

/** A values list as typed ("1e-3, 2e-3" or "pre, post"): each as JSON where it parses, else a string. */
export function parseValues(text: string): Array<number | string | boolean> {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    try {
      const v: unknown = JSON.parse(s);
      return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : s;
    } catch {
      return s;
    }
  });
}
