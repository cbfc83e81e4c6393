// Benchmark: encoding text files to token files. `npm run bench:tokenizer-encode`
//  - `lmwb tokenize` (streaming, worker threads) on the 16 MB web text and on 128 MB (the same text 8 times),
//    with a 10000-token tokenizer trained on it and with GPT-2's vocab/merges;
//  - in the same run and on the same 16 MB text: js-tiktoken's gpt2 encoding (single thread, it has no
//    multi-threaded file mode) and our encoder in a single thread, for a per-core comparison.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEncoding } from 'js-tiktoken';
import { loadTokenizer } from '../tokenizer/files';
import { header, lmwb, need, shared, timed, webtext } from './tokenizer-common';

function rate(bytes: number, s: number): string {
  return `${(bytes / 1e6 / s).toFixed(1)} MB/s`;
}

async function main() {
  console.log(`# tokenizer encoding benchmark\n${header()}\n`);
  const work = mkdtempSync(join(tmpdir(), 'lmwb-bench-encode-'));
  try {
    const web = webtext();
    const webBytes = readFileSync(web);
    const big = join(work, 'web128.txt');
    writeFileSync(big, Buffer.concat(Array.from({ length: 8 }, () => webBytes)));
    const gpt2 = join(work, 'gpt2');
    mkdirSync(gpt2);
    symlinkSync(need(join(shared, 'cs336', 'gpt2_vocab.json')), join(gpt2, 'vocab.json'));
    symlinkSync(need(join(shared, 'cs336', 'gpt2_merges.txt')), join(gpt2, 'merges.txt'));
    const tok10k = join(work, 'tok10k');
    timed(process.execPath, [lmwb, 'tokenizer', 'train', '--input', web, '--vocab-size', '10000', '--out', tok10k]);

    for (const [name, dir] of [['10k (trained on it)', tok10k], ['GPT-2', gpt2]] as const) {
      for (const [label, file, bytes] of [['16 MB', web, webBytes.length], ['128 MB', big, webBytes.length * 8]] as const) {
        const r = timed(process.execPath, [lmwb, 'tokenize', '--tokenizer', dir, '--input', file, '--out', join(work, 'out.bin')]);
        const line = r.stderr.split('\n').find((l) => / tokens \(/.test(l)) ?? '';
        const inner = /in ([\d.]+) s, ([\d.]+) MB\/s/.exec(line);
        console.log(`lmwb tokenize, ${name} tokenizer, ${label}: ${inner ? `${inner[2]} MB/s inside the command (${inner[1]} s)` : '?'}; wall incl. start-up and tokenizer load ${r.seconds.toFixed(2)} s = ${rate(bytes, r.seconds)}; CPU ${r.cpuSeconds?.toFixed(2)} s (user+sys, all threads) = ${r.cpuSeconds ? (bytes / 1e6 / r.cpuSeconds).toFixed(1) : '?'} MB per CPU-second; peak RSS ${r.peakMB?.toFixed(0)} MB`);
      }
    }

    // Same text, single thread, in this process: ours (GPT-2 vocab) vs js-tiktoken gpt2.
    const text = webBytes.toString('utf8');
    const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
    const ours = loadTokenizer(gpt2);
    ours.encode(text.slice(0, 200_000));
    let c0 = cpu();
    let t = performance.now();
    const a = ours.encode(text);
    const oursS = (performance.now() - t) / 1000;
    const oursCpu = cpu() - c0;
    const enc = getEncoding('gpt2');
    enc.encode(text.slice(0, 200_000));
    c0 = cpu();
    t = performance.now();
    const b = enc.encode(text);
    const tkS = (performance.now() - t) / 1000;
    const tkCpu = cpu() - c0;
    let diff = 0;
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) diff++;
    console.log(`baseline, same run, 16 MB, one thread, GPT-2: js-tiktoken ${rate(webBytes.length, tkS)} (${tkS.toFixed(2)} s wall, ${tkCpu.toFixed(2)} CPU s); ours ${rate(webBytes.length, oursS)} (${oursS.toFixed(2)} s wall, ${oursCpu.toFixed(2)} CPU s), ${(tkS / oursS).toFixed(1)}x by wall, ${(tkCpu / oursCpu).toFixed(1)}x by CPU time; token counts ${a.length} vs ${b.length}, ${diff} ids differ in the common prefix`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
