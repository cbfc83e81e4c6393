/**
 * Run folders (`<workspace>/runs/<id>/`, formats in runs/format.ts): creating one from a config (config.json
 * written once, meta.json, status.json), and reading a folder's config back for `train --run-dir`. Used by the
 * CLI's `train` and by the queue (`queue add`, sweeps), so both make folders the same way.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { RUN_FILES, RUNS_DIR, RunMetaSchema, type RunMeta, type RunStatus } from '../../runs/format';
import { readConfig } from '../../runs/read';
import { updateStatus } from '../../runs/status';
import { writeFileAtomic } from '../../util/atomic-write';
import { UserError } from '../../util/errors';
import { parseRunConfig, resolvedConfigJson, type RunConfig } from './run-config';

export interface CreateRunFolderOptions {
  /** meta.json fields beyond the name (tags, notes, sweep, group); name defaults to the config's name. */
  meta?: Partial<RunMeta>;
  /** The folder id (under runs/); default the config's out_dir when set, else `<name>-<yyyymmdd-HHMMSS>`. */
  id?: string;
  /** status.json's initial state: 'queued' for the queue; the trainer sets 'running' when it starts. */
  state?: RunStatus['state'];
  /** Reuse a folder that already exists (its config.json is kept as written; the new config must match). */
  reuse?: boolean;
  /** The clock, for ids (tests). */
  now?: Date;
}

export interface RunFolder {
  id: string;
  dir: string;
}

/** `<name>-<yyyymmdd-HHMMSS>` in local time, with `-2`, `-3`… when taken. Ids are folder names: [A-Za-z0-9._-]. */
export function newRunId(workspace: string, name: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  const base = `${name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'run'}-${stamp}`;
  let id = base;
  for (let i = 2; existsSync(join(workspace, RUNS_DIR, id)); i++) id = `${base}-${i}`;
  return id;
}

/** Claims a new run folder: mkdir without `recursive` fails when another process took the id first. */
function claimNewFolder(workspace: string, name: string, now?: Date): RunFolder {
  mkdirSync(join(workspace, RUNS_DIR), { recursive: true });
  for (;;) {
    const id = newRunId(workspace, name, now);
    const dir = join(workspace, RUNS_DIR, id);
    try {
      mkdirSync(dir);
      return { id, dir };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/**
 * Creates a run folder for `cfg` in `workspace` and returns its id and path. Writes config.json (the resolved
 * config, all defaults filled in; written once), meta.json and status.json ({state, created}). A config.out_dir
 * names the folder: relative to `<workspace>` (e.g. "runs/smoke-test") or absolute. Throws FILE_EXISTS when the
 * folder already holds a run, unless `reuse` is set and its config is the same.
 */
export function createRunFolder(workspace: string, cfg: RunConfig, opts: CreateRunFolderOptions = {}): RunFolder {
  const ws = resolve(workspace);
  let dir: string;
  let id: string;
  if (opts.id) {
    id = opts.id;
    dir = join(ws, RUNS_DIR, id);
  } else if (cfg.out_dir) {
    dir = isAbsolute(cfg.out_dir) ? cfg.out_dir : join(ws, cfg.out_dir);
    id = dir.split(/[\\/]/).filter(Boolean).pop() ?? 'run';
  } else {
    ({ id, dir } = claimNewFolder(ws, cfg.name, opts.now));
  }
  const json = resolvedConfigJson(cfg);
  const configPath = join(dir, RUN_FILES.config);
  if (existsSync(configPath)) {
    if (!opts.reuse) throw new UserError(`run folder ${dir} already holds a run; resume it or choose another folder`, { code: 'FILE_EXISTS', data: { dir } });
    const old = readConfig(dir);
    if (JSON.stringify(old) !== JSON.stringify(json)) {
      throw new UserError(`run folder ${dir} holds a run with a different config; a run's config.json is written once — choose another folder`, { code: 'RESUME_MISMATCH', data: { dir } });
    }
  } else {
    mkdirSync(join(dir, RUN_FILES.checkpoints), { recursive: true });
    writeFileAtomic(configPath, `${JSON.stringify(json, null, 2)}\n`);
  }
  const metaPath = join(dir, RUN_FILES.meta);
  if (!existsSync(metaPath)) {
    const meta = RunMetaSchema.parse({ name: cfg.name, ...opts.meta });
    writeFileAtomic(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
  }
  updateStatus(dir, (s) => (s.state === 'queued' && opts.state ? { state: opts.state } : {}));
  return { id, dir };
}

/**
 * Replaces config.json of an existing run folder (a resume that changes the config, e.g. more steps): the old
 * one is kept beside it as config.<n>.json so the history stays readable.
 */
export function rewriteRunConfig(dir: string, cfg: RunConfig): boolean {
  const json = resolvedConfigJson(cfg);
  const old = readConfig(dir);
  if (old && JSON.stringify(old) === JSON.stringify(json)) return false;
  if (old) {
    let n = 1;
    while (existsSync(join(dir, `config.${n}.json`))) n++;
    writeFileAtomic(join(dir, `config.${n}.json`), `${JSON.stringify(old, null, 2)}\n`);
  }
  writeFileAtomic(join(dir, RUN_FILES.config), `${JSON.stringify(json, null, 2)}\n`);
  return true;
}

/** The run config of a run folder (its config.json), validated. */
export function loadRunFolderConfig(dir: string): RunConfig {
  if (!existsSync(dir)) throw new UserError(`run folder not found: ${dir}`, { code: 'RUN_NOT_FOUND', data: { dir } });
  const configPath = join(dir, RUN_FILES.config);
  if (!existsSync(configPath)) throw new UserError(`${dir} is not a run folder: it has no ${RUN_FILES.config}`, { code: 'RUN_NOT_FOUND', data: { dir } });
  const raw = readConfig(dir);
  if (!raw) throw new UserError(`${configPath} is not valid JSON`, { code: 'CONFIG_INVALID', data: { path: configPath } });
  return parseRunConfig(raw);
}
