/**
 * The backend's handlers for the generation playground (src-main/api/areas/playground.ts): thin wiring of the
 * job bookkeeping (../playground-jobs.ts) to the supervised generation child process (../generation-worker.ts),
 * which is started on the first generation and stopped on close().
 */
import { PlaygroundJobs } from '../playground-jobs';
import { GenerationWorker } from '../generation-worker';
import type { AreaHandlers, HandlerContext } from './context';

export function createPlaygroundHandlers(ctx: HandlerContext): AreaHandlers {
  const worker = new GenerationWorker({
    cwd: ctx.workspace,
    onStatus: (status) => ctx.broadcast({ type: 'generation-worker', status }),
  });
  const jobs = new PlaygroundJobs({ workspace: ctx.workspace, index: ctx.index, worker, broadcast: (e) => ctx.broadcast(e), markDirty: (id) => ctx.markDirty(id) });
  return {
    methods: {
      'playground.checkpoints': () => jobs.checkpoints(),
      'playground.generate': (q) => jobs.generate(q),
      'playground.stop': (q) => jobs.stop(q.job),
      'playground.job': (q) => jobs.job(q.job),
      'playground.save': (q) => jobs.save(q),
      'playground.status': () => worker.status(),
    },
    async close() {
      jobs.close();
      await worker.close();
    },
  };
}
