/**
 * The backend's handlers for the datasets area (src-main/api/areas/datasets.ts): prepared datasets are the folders
 * under `<workspace>/datasets/` with a valid dataset.json (src-main/dataset/prepare.ts writes them).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { DatasetSummary } from '../../api/areas/datasets';
import { readDatasetManifest } from '../../dataset/index';
import type { AreaHandlers, HandlerContext } from './context';

/** The workspace's prepared datasets, by name; folders without a readable manifest are left out. */
export function listDatasets(workspace: string): DatasetSummary[] {
  const root = join(workspace, 'datasets');
  if (!existsSync(root)) return [];
  const out: DatasetSummary[] = [];
  for (const name of readdirSync(root).sort()) {
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
    });
  }
  return out;
}

export function createDatasetsHandlers(ctx: HandlerContext): AreaHandlers {
  return {
    methods: {
      'datasets.list': () => listDatasets(ctx.workspace),
    },
  };
}
