// `lmwb serve`: the workbench UI and its API in a browser, for a headless machine (open it over an SSH tunnel).
import type { Command } from 'commander';
import { UserError } from '../../util/errors';
import { Backend } from '../../server/backend';
import { startServer, isLoopback } from '../../server/http';
import { rendererDir } from '../../server/renderer-dir';
import { defaultWorkspace } from '../../server/workspace';
import { exportChart } from '../../server/export';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the workbench UI and API on this machine (open the printed URL in a browser)')
    .option('--port <n>', 'port (0: any free port)', '8760')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--allow-remote', 'allow a non-loopback --host (anyone who can reach it and has the token gets in)')
    .option('-w, --workspace <dir>', 'workspace folder (default: LMWB_HOME, else the one opened last, else ~/lmwb-workspace)')
    .action(async (o: { port: string; host: string; allowRemote?: boolean; workspace?: string }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port must be 0..65535, got "${o.port}"`);
      if (!isLoopback(o.host) && !o.allowRemote) throw new UserError(`--host ${o.host} exposes the workspace to the network: add --allow-remote to mean it (or use an SSH tunnel to 127.0.0.1)`);
      const workspace = defaultWorkspace(o.workspace);
      const staticDir = rendererDir();
      const backend = new Backend({ workspace, host: 'serve', exportChart });
      const server = await startServer({ backend, port, host: o.host, allowRemote: !!o.allowRemote, staticDir });
      if (!isLoopback(o.host)) process.stderr.write(`warning: listening on ${o.host}: anyone who can reach this machine and has the token can read and start runs\n`);
      if (!staticDir) process.stderr.write('note: the UI is not built (run `npm run build`); serving the API only\n');
      process.stderr.write(`workspace: ${workspace}\n`);
      process.stdout.write(`LM Workbench: ${server.loginUrl}\n`);
      const stop = async () => {
        process.stderr.write('stopping (a running trainer saves a checkpoint first)\n');
        await backend.close();
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
      await new Promise<never>(() => {});
    });
}
