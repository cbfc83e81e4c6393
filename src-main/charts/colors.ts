/**
 * Run colours: a categorical palette (Okabe–Ito, colour-blind safe, then Tableau) for runs or non-numeric swept
 * values, and a sequential viridis scale (its dark-to-green part, legible on white) for numeric swept values, spaced
 * by rank so a log-spaced learning-rate sweep spreads evenly. Pure.
 */

export const CATEGORICAL = [
  '#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442',
  '#4E79A7', '#F28E2B', '#59A14F', '#E15759', '#76B7B2', '#EDC948', '#B07AA1', '#FF9DA7', '#9C755F', '#BAB0AC',
];

// viridis at 0, 0.1, …, 0.8 (the yellow end is dropped: unreadable on white).
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b'];

function hex(c: string): [number, number, number] {
  return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
}

/** The viridis colour at t in [0, 1]. */
export function sequential(t: number): string {
  const u = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const a = hex(VIRIDIS[i]);
  const b = hex(VIRIDIS[i + 1]);
  return `#${a.map((v, k) => Math.round(v + (b[k] - v) * f).toString(16).padStart(2, '0')).join('')}`;
}

const keyOf = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v) ?? 'undefined');

/**
 * One colour per item: by index when `values` is undefined; else by value: numbers (all of them finite) on the
 * sequential scale by rank, anything else categorically (equal values share a colour).
 */
export function assignColors(count: number, values?: readonly unknown[]): string[] {
  if (!values) return Array.from({ length: count }, (_, i) => CATEGORICAL[i % CATEGORICAL.length]);
  const numeric = values.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (numeric) {
    const distinct = [...new Set(values as number[])].sort((a, b) => a - b);
    const rank = new Map(distinct.map((v, i) => [v, i]));
    return (values as number[]).map((v) => sequential(distinct.length === 1 ? 0.4 : (rank.get(v) ?? 0) / (distinct.length - 1)));
  }
  const order = new Map<string, number>();
  for (const v of values) if (!order.has(keyOf(v))) order.set(keyOf(v), order.size);
  return values.map((v) => CATEGORICAL[(order.get(keyOf(v)) ?? 0) % CATEGORICAL.length]);
}
