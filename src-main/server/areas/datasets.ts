/**
 * The backend's handlers for the datasets area (src-main/api/areas/datasets.ts): prepared datasets are the folders
 * under `<workspace>/datasets/` with a valid dataset.json (src-main/dataset/prepare.ts writes them); samples are
 * decoded by dataset/samples.ts; preparations run as supervised child processes (server/dataset-jobs.ts) whose
 * progress is pushed as `datasets.jobs` events.
 */
import { existsSync, readdirSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { DatasetSummary, DatasetTokenizerInfo } from '../../api/areas/datasets';
import { datasetSamples, readDatasetManifest, type DatasetManifest } from '../../dataset/index';
import { readTokenizerMeta } from '../../tokenizer/index';
import { UserError } from '../../util/errors';
import { DatasetJobs } from '../dataset-jobs';
import { uploadLimit } from '../dataset-upload';
import type { AreaHandlers, HandlerContext } from './context';

function tokenizerInfo(dir: string, m: DatasetManifest): DatasetTokenizerInfo {
  const meta = readTokenizerMeta(join(dir, m.tokenizer.dir));
  const seconds = meta?.training?.seconds;
  const requested = meta?.training?.vocab_size_requested;
  const trained = (m.tokenizer.origin ?? 'trained') === 'trained';
  return {
    origin: m.tokenizer.origin ?? 'trained',
    hash: m.tokenizer.hash,
    specials: m.tokenizer.special_tokens,
    merges: meta?.num_merges ?? null,
    trainedOn: meta?.trained_on ? { path: meta.trained_on.path, size: meta.trained_on.size } : null,
    copiedFrom: m.tokenizer.copied_from ?? null,
    seconds: typeof seconds === 'number' && trained ? seconds : null,
    requested: typeof requested === 'number' && trained ? requested : null,
  };
}

/** The workspace's prepared datasets, by name; folders without a readable manifest (and staging) are left out. */
export function listDatasets(workspace: string): DatasetSummary[] {
  const root = join(workspace, 'datasets');
  if (!existsSync(root)) return [];
  const out: DatasetSummary[] = [];
  for (const name of readdirSync(root).sort()) {
    if (name.startsWith('.')) continue;
    const dir = join(root, name);
    let m;
    try {
      m = readDatasetManifest(dir);
    } catch {
      continue;
    }
    const rel = (split: string): string | null => {
      const s = m.splits[split];
      return s ? relative(workspace, join(dir, s.file)).split(sep).join('/') : null;
    };
    out.push({
      name,
      train: rel('train'),
      valid: rel('valid'),
      vocabSize: m.tokenizer.vocab_size,
      tokens: Object.fromEntries(Object.entries(m.splits).map(([k, v]) => [k, v.num_tokens])),
      created: m.created_at,
      // A held-out split's parts live in the folder and are named relative to it.
      sources: Object.fromEntries(Object.entries(m.sources).map(([k, v]) => [k, { ...v, path: isAbsolute(v.path) ? v.path : join(dir, v.path) }])),
      tokenizer: tokenizerInfo(dir, m),
      ...(m.holdout ? { holdout: { source: m.holdout.source, validFraction: m.holdout.valid_fraction, cut: m.holdout.cut } } : {}),
    });
  }
  return out;
}

export function createDatasetsHandlers(ctx: HandlerContext): AreaHandlers {
  const jobs = new DatasetJobs(ctx.workspace, (changed) => ctx.broadcast({ type: 'datasets.jobs', jobs: changed }));
  const datasetDir = (name: string): string => {
    const dir = join(ctx.workspace, 'datasets', name);
    if (!existsSync(join(dir, 'dataset.json'))) throw new UserError(`no prepared dataset "${name}" in workspace ${ctx.workspace}`, { code: 'FILE_NOT_FOUND', data: { name } });
    return dir;
  };
  return {
    methods: {
      'datasets.list': () => listDatasets(ctx.workspace),
      'datasets.samples': (p) => datasetSamples(datasetDir(p.name), { count: p.count, length: p.length }),
      'datasets.prepare': (p) => jobs.start(p),
      'datasets.cancel': (p) => jobs.cancel(p.id),
      'datasets.jobs': () => jobs.list(),
      'datasets.discard': (p) => ({ removed: jobs.discard(p.name) }),
      'datasets.uploadLimit': () => ({ maxBytes: uploadLimit() }),
      'datasets.chooseFile': () => {
        // The desktop app answers this itself (an open-file dialog); a browser cannot reach the server's files.
        throw new UserError('a file dialog needs the desktop app; in the browser, type the path of the file on the machine that runs lmwb serve, or upload it', { code: 'INVALID_ARGUMENT' });
      },
    },
    close: () => jobs.close(),
  };
}
