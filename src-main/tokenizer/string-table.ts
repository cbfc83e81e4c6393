// An open-addressing hash table of substrings, keyed by text[start, end) without slicing the text first: the hot
// loops (counting pre-tokens, the encoder's pre-token cache) look up millions of short substrings, and a
// Map<string, ...> would allocate and hash a new string for each. Entries are numbered 0, 1, 2, ... in insertion
// order, so callers keep their values in parallel arrays.

export class StringTable {
  private slots: Int32Array;
  private mask: number;
  keys: string[] = [];
  private hashes: Int32Array;
  /** Number of entries. */
  size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    this.hashes = new Int32Array(Math.max(16, initialCapacity));
  }

  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
    return h ^ (h >>> 15);
  }

  /** Entry of text[start, end), or -1. */
  find(text: string, start: number, end: number): number {
    return this.slots[this.slotOf(text, start, end, StringTable.hash(text, start, end))];
  }

  /** The slot holding text[start, end) (hash h), or the empty slot where it would go. */
  private slotOf(text: string, start: number, end: number, h: number): number {
    const n = end - start;
    let slot = h & this.mask;
    for (;;) {
      const ent = this.slots[slot];
      if (ent < 0) return slot;
      if (this.hashes[ent] === h) {
        const k = this.keys[ent];
        if (k.length === n) {
          let j = 0;
          while (j < n && k.charCodeAt(j) === text.charCodeAt(start + j)) j++;
          if (j === n) return slot;
        }
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /**
   * Entry of text[start, end), adding it if absent (check `size` before and after to tell). With copyKey (the
   * default) a new key is copied out of `text`, so that a table built from large chunks does not keep them alive.
   */
  intern(text: string, start: number, end: number, copyKey = true): number {
    const h = StringTable.hash(text, start, end);
    const n = end - start;
    const slot = this.slotOf(text, start, end, h);
    if (this.slots[slot] >= 0) return this.slots[slot];
    const id = this.size++;
    // Copy the key out of the (large) text so the table does not keep the whole chunk alive.
    this.keys.push(n <= 12 || !copyKey ? text.slice(start, end) : (' ' + text.slice(start, end)).slice(1));
    if (id >= this.hashes.length) {
      const hs = new Int32Array(this.hashes.length * 2);
      hs.set(this.hashes);
      this.hashes = hs;
    }
    this.hashes[id] = h;
    this.slots[slot] = id;
    if (this.size * 2 > this.slots.length) this.grow();
    return id;
  }

  private grow(): void {
    const cap = this.slots.length * 2;
    const slots = new Int32Array(cap).fill(-1);
    const mask = cap - 1;
    for (let id = 0; id < this.size; id++) {
      let slot = this.hashes[id] & mask;
      while (slots[slot] >= 0) slot = (slot + 1) & mask;
      slots[slot] = id;
    }
    this.slots = slots;
    this.mask = mask;
  }
}
