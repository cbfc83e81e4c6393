// `lmwb sweep`: queue a sweep — a CS336 §7 preset (lr-coarse, lr-fine, lr-edge, batch-size, ablations, …) or a
// grid (`--grid key=v1,v2,…`, several: the cartesian product) over a base config — one run per point.
import type { Command } from 'commander';
import { freemem } from 'node:os';
import { UserError } from '../../util/errors';
import { gridPoints, parseGrid, queueSweep, type SweepPlan } from '../../runs/sweeps';
import { defaultBase, planPreset, SWEEP_PRESETS, type DeviceLimits } from '../../runs/sweep-presets';
import { resolveRunConfig, getKey } from '../../runs/configs';
import { collect, table, workspaceOf, WORKSPACE_HELP, type WorkspaceOpt } from './runs';
import { loadBase } from './queue';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SWEEPS_DIR } from '../../runs/sweeps';
import { readConfig, runDir } from '../../runs/read';
import { slurmScript, submitNewRuns, timeLimitFor } from '../../runs/slurm/jobs';
import { addSlurmOptions, describeSubmitted, slurmSubmitOptions, type SlurmCliOpts } from './slurm-options';

interface SweepOpts extends WorkspaceOpt, SlurmCliOpts {
  preset?: string;
  config?: string;
  base?: string;
  set: string[];
  grid: string[];
  name?: string;
  from?: string;
  maxBatch?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** The device limits the memory plan needs (batch-size sweep): read from the GPU adapter, nothing allocated. */
async function deviceLimits(precision: unknown): Promise<DeviceLimits> {
  const { openGpu } = await import('../../engine/gpu/device');
  const gpu = await openGpu();
  try {
    const mixed = precision === 'mixed' || (precision !== 'f32' && gpu.info.subgroupMatrix);
    return { maxStorageBufferBindingSize: gpu.info.maxStorageBufferBindingSize, memoryBytes: gpu.info.isSoftware ? freemem() * 0.9 : undefined, mixed };
  } finally {
    gpu.destroy();
  }
}

export function registerSweep(program: Command): void {
  addSlurmOptions(program
    .command('sweep'))
    .description(`queue a sweep: a preset (${SWEEP_PRESETS.join(', ')}) or --grid over a base config`)
    .option('-w, --workspace <dir>', WORKSPACE_HELP)
    .option('-p, --preset <name>', 'sweep preset')
    .option('-c, --config <file>', 'base run config (JSON); default: the preset\'s base')
    .option('-b, --base <preset>', 'base trainer preset (e.g. smoke) instead of a config file')
    .option('-s, --set <key=value>', 'override a base config value, e.g. to scale a preset down (repeatable)', collect, [])
    .option('-g, --grid <key=v1,v2,...>', 'sweep a key over values (repeatable: the cartesian product); with --preset it replaces the preset\'s values for that key', collect, [])
    .option('-n, --name <name>', 'sweep name (default: the preset name, or "grid")')
    .option('--from <sweep>', 'lr-fine: the lr-coarse sweep to refine (default: the newest with a finished run)')
    .option('--max-batch <n>', 'batch-size: the largest batch (default: computed from the memory plan for this device)')
    .option('--dry-run', 'print the runs it would queue, queue nothing')
    .option('--json', 'print the queued sweep as JSON')
    .action(async (o: SweepOpts) => {
      const ws = workspaceOf(o);
      const grids = o.grid.map(parseGrid);
      const given = o.config || o.base ? loadBase({ config: o.config, preset: o.base }, ws) : undefined;
      let plan: SweepPlan;
      let baseDir = given?.baseDir ?? ws;
      if (o.preset) {
        const maxBatch = o.maxBatch !== undefined ? Number(o.maxBatch) : undefined;
        if (maxBatch !== undefined && !(Number.isInteger(maxBatch) && maxBatch > 0)) throw new UserError(`--max-batch must be a positive whole number, got "${o.maxBatch}"`, { code: 'INVALID_ARGUMENT' });
        const ctx = { workspace: ws, base: given?.base, sets: o.set, grids, maxBatch, from: o.from, name: o.name };
        if (o.preset === 'batch-size' && maxBatch === undefined && !grids.some((g) => g.key === 'training.batch_size')) {
          const eff = resolveRunConfig(given?.base ?? defaultBase(ws), { sets: o.set, baseDir });
          Object.assign(ctx, { limits: await deviceLimits(getKey(eff, 'training.precision')) });
        }
        plan = planPreset(o.preset, ctx);
        if (o.preset === 'lr-fine' && !given) baseDir = ws;
      } else {
        if (!given) throw new UserError('give --preset NAME, or a base (--config FILE or --base PRESET) with --grid key=v1,v2,…', { code: 'INVALID_ARGUMENT' });
        if (!grids.length) throw new UserError('a sweep over a config needs at least one --grid key=v1,v2,…', { code: 'INVALID_ARGUMENT' });
        plan = { name: o.name ?? 'grid', base: given.base, points: gridPoints(grids), notes: [] };
      }
      const slurm = slurmSubmitOptions(o);
      if (o.dryRun) {
        process.stdout.write(`sweep ${plan.name}: ${plan.points.length} runs\n`);
        for (const n of plan.notes) process.stdout.write(`  ${n}\n`);
        const configs = plan.points.map((p) => resolveRunConfig(plan.base, { sets: [...o.set, ...p.sets], unset: p.unset, baseDir }));
        process.stdout.write(`${table(['RUN', 'OVERRIDES'], plan.points.map((p) => [p.label, p.sets.join(' ')]))}\n`);
        if (slurm) {
          process.stdout.write(`\n${slurmScript(ws, plan.points.map((_p, i) => `RUN_ID_${i}`), { ...slurm, jobName: `lmwb-${plan.name}`, timeLimitS: slurm.timeLimitS ?? timeLimitFor(configs) })}`);
          process.stderr.write('dry run: RUN_ID_i stands for the id of the i-th run when it is queued; nothing was queued or submitted\n');
        }
        return;
      }
      let sub: Awaited<ReturnType<typeof submitNewRuns>> | undefined;
      let q!: ReturnType<typeof queueSweep>;
      if (slurm) {
        sub = await submitNewRuns(ws, () => {
          q = queueSweep(ws, plan, { sets: o.set, baseDir });
          const ids = q.runs.map((r) => r.id);
          return { ids, configs: ids.map((id) => readConfig(runDir(ws, id)) ?? {}), undo: () => rmSync(join(ws, SWEEPS_DIR, `${q.name}.json`), { force: true }) };
        }, { ...slurm, jobName: `lmwb-${plan.name}` });
      } else q = queueSweep(ws, plan, { sets: o.set, baseDir });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(q)}\n`);
        return;
      }
      process.stderr.write(`sweep ${q.name}: ${q.runs.length} runs queued (swept: ${q.keys.join(', ')})${sub ? `, ${describeSubmitted(sub)}` : ''}\n`);
      for (const n of q.notes) process.stderr.write(`  ${n}\n`);
      for (const r of q.runs) process.stdout.write(`${r.id}\n`);
    });
}
