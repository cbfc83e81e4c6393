// Generated test text for the dataset tests (unit, app integration, e2e): short children's stories from a seeded
// generator, each ending with <|endoftext|>, so tests need no download and no ../shared, and every byte is known.
const NAMES = ['Tom', 'Lily', 'Ben', 'Mia', 'Sam', 'Anna', 'Max', 'Sue'];
const THINGS = ['ball', 'kite', 'cat', 'dog', 'tree', 'boat', 'cake', 'hat', 'bird', 'box'];
const FEEL = ['happy', 'sad', 'scared', 'proud', 'tired', 'excited'];
const PLACES = ['park', 'garden', 'beach', 'forest', 'house', 'school'];

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** About `bytes` bytes of stories (ASCII), each followed by <|endoftext|> and a newline. */
export function stories(bytes: number, seed = 1): string {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const a = pick(NAMES);
    const b = pick(NAMES);
    const t = pick(THINGS);
    const lines = [
      `Once upon a time, ${a} went to the ${pick(PLACES)} with a ${t}.`,
      `${a} saw ${b} and felt ${pick(FEEL)}.`,
      `"Can I play with your ${t}?" asked ${b}.`,
      r() < 0.5 ? `${a} said yes, and they played all day.` : `${a} said no, and ${b} went home ${pick(FEEL)}.`,
      `The end.`,
    ];
    const s = `${lines.slice(0, 2 + Math.floor(r() * 4)).join(' ')}<|endoftext|>\n`;
    parts.push(s);
    n += s.length;
  }
  return parts.join('');
}
