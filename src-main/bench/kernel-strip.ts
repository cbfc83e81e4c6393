// Shared by the kernel probes (gemm-probe, attention-probe): a generated kernel's text with parts replaced, failing
// loudly where a substitution no longer matches (so a probe cannot silently time the unmodified kernel).

/** A text (or pattern; a /g pattern replaces every match) and its replacement. */
export type Sub = [string | RegExp, string];

/** `src` with every substitution applied in order; throws, naming `probe` and `what`, where one does not match. */
export function stripKernel(src: string, subs: Sub[], what: string, probe: string): string {
  let out = src;
  for (const [from, to] of subs) {
    // A fresh non-global copy for the test: RegExp.test on a /g pattern keeps state between calls.
    const hit = typeof from === 'string' ? out.includes(from) : new RegExp(from.source, from.flags.replace('g', '')).test(out);
    if (!hit) throw new Error(`${probe}: the text to strip for "${what}" is not in the generated kernel (${String(from).slice(0, 80)}…); update the probe`);
    out = out.replace(from, to);
  }
  return out;
}
