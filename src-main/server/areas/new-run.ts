/**
 * The backend's handlers for the new-run form, config schema, validation, estimates and sweep builder area
 * (src-main/api/areas/new-run.ts). Thin: the form description is runs/config-form.ts, the checks runs/validate.ts
 * (the CLI's resolveRunConfig plus the trainer's GPU-free start-up checks), the estimates runs/estimate.ts and the
 * sweeps runs/sweep-build.ts. Runs are queued with createRun / queueSweep — what `lmwb queue add` and `lmwb sweep`
 * call — and handed to the launcher, which makes sure a queue worker runs.
 */
import type { NewRunForm, RunCheck } from '../../api/areas/new-run';
import { FIELD_GROUPS, runConfigFields } from '../../runs/config-form';
import { checkRequest, type RunRequest } from '../../runs/validate';
import { estimateRun, Measurements } from '../../runs/estimate';
import { ABLATION_START_INFO, ABLATION_STARTS, ablationStart, previewSweep, queueSweepRequest, SWEEP_PRESET_INFO, type SweepRequest } from '../../runs/sweep-build';
import { resolveRunConfig } from '../../runs/configs';
import { basePreset, SWEEP_PRESETS } from '../../runs/sweep-presets';
import { PRESETS } from '../../engine/train/presets';
import { createRun } from '../../runs/store';
import { UserError } from '../../util/errors';
import { DeviceProber } from '../device-probe';
import type { AreaHandlers, HandlerContext } from './context';

/** The trainer scans token files without a usable manifest up to 512 MiB; interactive checks scan small ones only. */
const SCAN_INTERACTIVE = 16 * 2 ** 20;
const SCAN_QUEUE = 512 * 2 ** 20;

export function createNewRunHandlers(ctx: HandlerContext): AreaHandlers {
  const prober = new DeviceProber(ctx.workspace);
  const measurements = new Measurements(ctx.workspace);

  const check = (q: { preset: string; set: string[]; unset: string[] }, scanBytes: number): RunCheck => {
    const device = prober.now();
    const req: RunRequest = { preset: q.preset, sets: q.set, unset: q.unset };
    const c = checkRequest(ctx.workspace, req, { device, scanBytes });
    return { ok: c.ok, issues: c.issues, config: c.config, estimate: c.parsed ? estimateRun(c.parsed, device, measurements) : null, device };
  };
  const sweepReq = (q: { base?: string; preset?: string; set: string[]; grids: SweepRequest['grids']; name?: string; maxBatch?: number; from?: string }): SweepRequest => ({
    base: q.base, preset: q.preset, sets: q.set, grids: q.grids, name: q.name, maxBatch: q.maxBatch, from: q.from,
  });

  return {
    methods: {
      'newrun.form': (): NewRunForm => {
        void prober.get(); // start reading the device's limits now: the first checks come right after
        return {
          workspace: ctx.workspace,
          fields: runConfigFields(),
          groups: FIELD_GROUPS,
          presets: PRESETS.map((p) => ({ ...p })),
          starts: ABLATION_STARTS.map((name) => ({ name, base: 'tinystories-base', description: ABLATION_START_INFO[name] })),
          sweepPresets: SWEEP_PRESETS.map((name) => ({ name, description: SWEEP_PRESET_INFO[name] ?? '' })),
        };
      },
      'newrun.device': () => prober.get(),
      'newrun.preset': (q) => {
        const start = (ABLATION_STARTS as readonly string[]).includes(q.preset) ? ablationStart(ctx.workspace, q.preset) : null;
        const preset = start?.base ?? q.preset;
        const base = basePreset(preset, ctx.workspace);
        return {
          preset,
          config: resolveRunConfig(base, { baseDir: ctx.workspace }),
          start: start ? resolveRunConfig(base, { sets: start.sets, baseDir: ctx.workspace }) : null,
          sets: start?.sets ?? [],
        };
      },
      'newrun.validate': (q) => check(q, SCAN_INTERACTIVE),
      'newrun.queue': async (q) => {
        await prober.get(); // the batch is checked against the device before anything is queued
        const c = check(q, SCAN_QUEUE);
        const first = c.issues.find((i) => i.level === 'error');
        if (!c.ok || !c.config) throw new UserError(`not queued: ${first?.message ?? 'the config does not resolve'}`, { code: 'CONFIG_INVALID', data: { key: first?.key } });
        const { id } = createRun(ctx.workspace, { config: c.config });
        ctx.launcher.queued([id]);
        ctx.refreshAll();
        return { id };
      },
      'newrun.sweepPreview': async (q) => {
        const r = sweepReq(q);
        if (r.preset === 'batch-size') await prober.get();
        return previewSweep(ctx.workspace, r, prober.now(), measurements);
      },
      'newrun.sweepQueue': async (q) => {
        await prober.get();
        const s = queueSweepRequest(ctx.workspace, sweepReq(q), prober.now(), measurements);
        ctx.launcher.queued(s.runs.map((r) => r.id));
        ctx.refreshAll();
        return { name: s.name, runs: s.runs.map((r) => ({ id: r.id, label: r.label })) };
      },
    },
    close: () => prober.close(),
  };
}
