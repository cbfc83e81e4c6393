// Benchmark: BPE training. `npm run bench:tokenizer-train`
//  1. corpus.en -> vocab 500 (CS336 reference fixture): our trainer in-process (median of 5) and through the CLI,
//     against a straightforward Python trainer (regex pre-tokenization, full pair recount per merge, the usual
//     assignment route) run on the same machine in the same run, when python3 + regex are installed.
//  2. 16 MB of web text -> vocab 10000: the CLI (wall time, peak RSS of the process including worker threads),
//     against Python pre-tokenization + counting alone (a lower bound for any single-process Python trainer).
//  3. Memory scaling: 40 MB of random words (~5 M distinct pre-tokens), to size memory for OpenWebText.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainFromFile } from '../tokenizer/train';
import { serializeMerges } from '../tokenizer/files';
import { header, havePythonRegex, lmwb, median, need, shared, timed, webtext } from './tokenizer-common';

const PY_TRAIN = String.raw`
import regex as re, sys, time
from collections import Counter
PAT = re.compile(r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
def train(path, vocab_size, specials, count_only):
    text = open(path, encoding='utf-8').read()
    parts = re.split('|'.join(re.escape(s) for s in specials), text) if specials else [text]
    counts = Counter()
    for p in parts:
        for m in PAT.finditer(p):
            counts[m.group()] += 1
    if count_only:
        return []
    words = {tuple(bytes([b]) for b in k.encode('utf-8')): c for k, c in counts.items()}
    merges = []
    n = 256 + len(specials)
    while n < vocab_size:
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))
        merges.append(best)
        new = best[0] + best[1]
        n += 1
        nw = {}
        for w, c in words.items():
            out = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == best[0] and w[i + 1] == best[1]:
                    out.append(new); i += 2
                else:
                    out.append(w[i]); i += 1
            t = tuple(out)
            nw[t] = nw.get(t, 0) + c
        words = nw
    return merges
t0 = time.perf_counter()
m = train(sys.argv[1], int(sys.argv[2]), ['<|endoftext|>'], sys.argv[3] == 'count')
print(f"SECONDS={time.perf_counter() - t0:.4f} MERGES={len(m)}")
`;

async function main() {
  console.log(`# tokenizer training benchmark\n${header()}\n`);
  const corpus = need(join(shared, 'cs336', 'corpus.en'));
  const work = mkdtempSync(join(tmpdir(), 'lmwb-bench-train-'));
  try {
    // 1. corpus.en, vocab 500.
    const times: number[] = [];
    let merges = '';
    for (let i = 0; i < 6; i++) {
      const { tokenizer, stats } = await trainFromFile(corpus, { vocabSize: 500, specials: ['<|endoftext|>'] });
      if (i > 0) times.push(stats.totalSeconds); // first run warms up the JIT
      merges = serializeMerges(tokenizer);
    }
    const same = merges === readFileSync(join(shared, 'cs336', 'train-bpe-reference-merges.txt'), 'utf8');
    console.log(`corpus.en vocab 500, in-process train (count + merges), median of 5 warm runs: ${median(times).toFixed(3)} s (min ${Math.min(...times).toFixed(3)}); merges equal reference: ${same}`);
    const cli = timed(process.execPath, [lmwb, 'tokenizer', 'train', '--input', corpus, '--vocab-size', '500', '--out', join(work, 'c500')]);
    const cliLine = cli.stderr.split('\n').find((l) => l.startsWith('trained')) ?? '';
    console.log(`corpus.en vocab 500, CLI \`lmwb tokenizer train\` wall time incl. Node/tsx start-up: ${cli.seconds.toFixed(2)} s (${/in ([\d.]+) s/.exec(cliLine)?.[0] ?? '?'} inside), peak RSS ${cli.peakMB?.toFixed(0) ?? '?'} MB`);
    const py = havePythonRegex();
    if (py) {
      const r = timed('python3', ['-c', PY_TRAIN, corpus, '500', 'train']);
      console.log(`baseline, same run: straightforward Python trainer (regex + full recount per merge), corpus.en vocab 500: ${/SECONDS=([\d.]+)/.exec(r.stdout)?.[1]} s in-process, ${r.seconds.toFixed(2)} s wall`);
    } else console.log('baseline skipped: python3 with the regex module is not installed');

    // 2. 16 MB web text, vocab 10000.
    const web = webtext();
    const runs: Array<{ s: number; inside: string; peak?: number }> = [];
    for (let i = 0; i < 3; i++) {
      const r = timed(process.execPath, [lmwb, 'tokenizer', 'train', '--input', web, '--vocab-size', '10000', '--out', join(work, 'w10k')]);
      const line = r.stderr.split('\n').find((l) => l.startsWith('trained')) ?? '';
      runs.push({ s: r.seconds, inside: line, peak: r.peakMB });
    }
    const best = runs.reduce((a, b) => (a.s <= b.s ? a : b));
    console.log(`16 MB web text vocab 10000, CLI wall (best of 3: ${runs.map((r) => r.s.toFixed(2)).join(', ')} s): ${best.s.toFixed(2)} s, peak RSS ${best.peak?.toFixed(0)} MB; ${best.inside.replace(/^trained /, '')}`);
    if (py) {
      const r = timed('python3', ['-c', PY_TRAIN, web, '10000', 'count']);
      console.log(`baseline, same run: Python pre-tokenization + counting only (regex, one process), 16 MB: ${/SECONDS=([\d.]+)/.exec(r.stdout)?.[1]} s`);
    }

    // 3. Memory with many distinct pre-tokens (OpenWebText has millions).
    const parts: string[] = [];
    let seed = 1;
    const rand = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) / 16777216; };
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    let size = 0;
    while (size < 40e6) {
      let w = ' ';
      const n = 3 + Math.floor(rand() * 8);
      for (let k = 0; k < n; k++) w += letters[Math.floor(rand() * 26)];
      parts.push(w);
      size += w.length;
      if (parts.length % 200 === 0) parts.push('<|endoftext|>');
    }
    const synth = join(work, 'synthetic.txt');
    writeFileSync(synth, parts.join(''));
    parts.length = 0;
    const r = timed(process.execPath, [lmwb, 'tokenizer', 'train', '--input', synth, '--vocab-size', '2000', '--out', join(work, 'syn')]);
    const line = r.stderr.split('\n').find((l) => l.startsWith('trained')) ?? '';
    console.log(`memory scaling: 40 MB synthetic text, ${/([\d,]+) distinct pre-tokens/.exec(line)?.[1]} distinct pre-tokens, vocab 2000: wall ${r.seconds.toFixed(1)} s, peak RSS ${r.peakMB?.toFixed(0)} MB`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
