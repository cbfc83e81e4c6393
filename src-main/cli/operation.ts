// Runs one long engine operation for a CLI command: Ctrl-C (SIGINT) or SIGTERM aborts it through its AbortSignal
// (a second Ctrl-C exits at once), and its coded errors get the CLI's own hints (flag names live here, never in the
// engine's messages). Exit codes stay with main.ts (exit-codes.ts).
import { UserError, type ErrorCode } from '../util/errors';

export type Hints = Partial<Record<ErrorCode, string | ((e: UserError) => string)>>;

export async function runOperation<T>(fn: (signal: AbortSignal) => Promise<T>, hints: Hints = {}): Promise<T> {
  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130);
    process.stderr.write(`\n${sig === 'SIGINT' ? 'interrupted' : `got ${sig}`}; stopping (press Ctrl-C again to quit at once)\n`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(ac.signal);
  } catch (err) {
    if (err instanceof UserError) {
      const h = hints[err.code];
      if (h !== undefined) {
        const text = typeof h === 'string' ? h : h(err);
        if (text === '') throw err;
        throw new UserError(`${err.message}${text.startsWith(';') ? '' : ' '}${text}`, { code: err.code, data: err.data, cause: err });
      }
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The hint for invalid UTF-8 input, shared by the commands that read text. */
export const INVALID_UTF8_HINT = '(pass --invalid-utf8 replace for U+FFFD)';
