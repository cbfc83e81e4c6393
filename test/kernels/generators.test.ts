// The kernel generators (kernels/gen/): the committed kernels are exactly their output with the defaults (what
// `npm run check:generated` enforces), and the written-out parts follow the options, so a later tuning can change
// the accumulator grid or head-dimension limit from one number.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateAttentionF16 } from '../../kernels/gen/attention_f16';
import { generateLinearF16 } from '../../kernels/gen/linear_f16';
import { generateLinearF16Direct } from '../../kernels/gen/linear_f16_direct';
import { repoRoot } from '../helpers/requirements';

const committed = (f: string): string => readFileSync(join(repoRoot, 'kernels', f), 'utf8');
const count = (s: string, re: RegExp): number => s.match(re)?.length ?? 0;

describe('kernel generators', () => {
  it('give the committed kernels with their defaults', () => {
    expect(generateLinearF16()).toBe(committed('linear_f16.wgsl'));
    expect(generateAttentionF16()).toBe(committed('attention_f16.wgsl'));
    expect(generateLinearF16Direct()).toBe(committed('linear_f16_direct.wgsl'));
  });

  it('linear_f16_direct: two register sets of exactly maxFI + maxFJ blocks, one product per accumulator and set', () => {
    const w = generateLinearF16Direct({ maxFI: 2, maxFJ: 3 });
    expect(count(w, /var c\d\d: subgroup_matrix_result/g)).toBe(6);
    expect(count(w, /var a[xy]\d: subgroup_matrix_left/g)).toBe(4);
    expect(count(w, /var b[xy]\d: subgroup_matrix_right/g)).toBe(6);
    expect(count(w, /subgroupMatrixMultiplyAccumulate\(a[xy]/g)).toBe(12);
    expect(count(w, /store_c\(c/g)).toBe(6);
    expect(w).toContain('if (FI > 1u && FJ > 2u) { c12 = subgroupMatrixMultiplyAccumulate(ay1, by2, c12); }');
    expect(w).not.toContain('workgroupBarrier');
    expect(() => generateLinearF16Direct({ maxFI: 0, maxFJ: 2 })).toThrow(/maxFI and maxFJ/);
  });

  it('linear_f16: writes out exactly the maxFI×maxFJ accumulator grid, each block guarded by its own condition', () => {
    const w = generateLinearF16({ maxFI: 2, maxFJ: 3 });
    expect(count(w, /var c\d\d: subgroup_matrix_result/g)).toBe(6);
    expect(w).toContain('var c12: subgroup_matrix_result');
    expect(w).not.toContain('c13');
    expect(w).not.toContain('c20');
    expect(count(w, /var a\d: subgroup_matrix_left/g)).toBe(2);
    expect(count(w, /var b\d: subgroup_matrix_right/g)).toBe(3);
    // load_c, store_full, store_edge: once per accumulator; multiply-accumulate once per accumulator in each of the
    // four product blocks (checked and FL loops, each with the BO and the all-right-blocks order)
    expect(count(w, /= load_c\(/g)).toBe(6);
    expect(count(w, /subgroupMatrixMultiplyAccumulate\(/g)).toBe(24);
    expect(count(w, /c12 = subgroupMatrixMultiplyAccumulate\(a1, b0, c12\)/g)).toBe(2);
    expect(count(w, /c12 = subgroupMatrixMultiplyAccumulate\(a1, b2, c12\)/g)).toBe(2);
    expect(w).toContain('if (FJ > 2u) { b0 = load_right(s, sc + 32u, tb); { c02 = subgroupMatrixMultiplyAccumulate(a0, b0, c02); } if (FI > 1u) { c12 = subgroupMatrixMultiplyAccumulate(a1, b0, c12); } }');
    expect(count(w, /let checked = false;/g)).toBe(1);
    expect(w).toContain('if (FI > 1u && FJ > 2u) { store_edge(c12, offC, r0 + 16u, c0 + 32u, sg, lane); }');
    expect(w).toContain('written out for FI <= 2, FJ <= 3');
    // the untouched parts are the same text
    const d = generateLinearF16();
    expect(w.slice(0, w.indexOf('fn gemm('))).toBe(d.slice(0, d.indexOf('fn gemm(')).replace('FI <= 4, FJ <= 8', 'FI <= 2, FJ <= 3'));
  });

  it('linear_f16: names stay unambiguous past ten blocks, and bad options are refused', () => {
    const w = generateLinearF16({ maxFI: 1, maxFJ: 12 });
    expect(w).toContain('var c0_11: subgroup_matrix_result');
    expect(w).toContain('if (FJ > 11u) { c0_11 = subgroupMatrixMultiplyAccumulate(a0, b11, c0_11); }');
    expect(() => generateLinearF16({ maxFI: 0, maxFJ: 8 })).toThrow(/positive integers/);
    expect(() => generateLinearF16({ maxFI: 4, maxFJ: 2.5 })).toThrow(/positive integers/);
  });

  it('attention_f16: writes out maxNC blocks in every unrolled place', () => {
    const w = generateAttentionF16({ maxNC: 4 });
    expect(w).toContain('if (NC > 3u) { emit_o(a3, 3u, sg, li, base, q0, 1.0); }');
    expect(w).not.toContain('a4');
    expect(w).not.toContain('NC > 4u');
    expect(w).toContain('NC <= 4 (DK <= 64)');
    // 20 unrolled places in the default kernel (8 lines each), 4 lines each here (backward_key's four are written
    // twice: backward_key and backward_key_ds)
    const lines = (s: string): number => s.split('\n').length;
    expect(lines(generateAttentionF16()) - lines(w)).toBe(20 * 4);
    expect(() => generateAttentionF16({ maxNC: 0 })).toThrow(/positive integer/);
  });
});
