/**
 * Reading runs for charts from a workspace (node only: the CLI's report, the app's main process): a run folder's
 * metrics, meta, status and config through the run store's tolerant readers, as a ChartRun plus what it was made of.
 */
import { existsSync } from 'node:fs';
import { UserError } from '../util/errors';
import type { MetricRecord, RunMeta, RunStatus, SampleRecord } from '../runs/format';
import { readConfig, readMeta, readMetrics, readSamples, readStatus, runDir } from '../runs/read';
import { chartRunFromRecords } from './series';
import type { ChartRun } from './types';

export interface LoadedRun {
  id: string;
  dir: string;
  chart: ChartRun;
  records: MetricRecord[];
  /** metrics.jsonl lines that failed their schema (a torn last line is not counted). */
  skippedLines: number;
  meta?: RunMeta;
  status?: RunStatus;
  config?: Record<string, unknown>;
  samples: SampleRecord[];
}

/** Loads one run; a missing run folder is a RUN_NOT_FOUND UserError. */
export function loadRun(workspace: string, id: string): LoadedRun {
  const dir = runDir(workspace, id);
  if (!existsSync(dir)) throw new UserError(`run "${id}" not found in ${workspace}`, { code: 'RUN_NOT_FOUND', data: { id, workspace } });
  const m = readMetrics(dir);
  const meta = readMeta(dir);
  const status = readStatus(dir);
  const config = readConfig(dir);
  return {
    id, dir, records: m.records, skippedLines: m.skipped, meta, status, config, samples: readSamples(dir),
    chart: chartRunFromRecords({ id, records: m.records, meta, status, config }),
  };
}
