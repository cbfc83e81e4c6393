// What a test needs from outside the repository: the fixtures in ../shared and PyTorch (Debian's python3-torch,
// for the generated reference cases). Locally a missing one skips, with a line saying what is missing and how to
// get it; under CI (CI set to anything but "" / "0" / "false") it throws, so a CI machine that lacks them fails
// instead of passing with the parity tests silently skipped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = resolve(repoRoot, '..', 'shared');

/** True under CI: missing requirements fail instead of skipping. */
export const strictRequirements = !['', '0', 'false'].includes((process.env.CI ?? '').trim().toLowerCase());

/** A missing requirement: throws under CI, warns and returns false locally. */
function missing(what: string, problem: string, fix: string): false {
  if (strictRequirements) {
    throw new Error(`${what}: ${problem}. Under CI=${process.env.CI} a missing requirement fails the run instead of skipping; ${fix}`);
  }
  console.warn(`SKIP ${what}: ${problem}; ${fix}`);
  return false;
}

/**
 * Whether the fixtures at `paths` (relative to ../shared) all exist; `what` names the tests that need them.
 * Call it where the tests are declared (`describe.skipIf(!needShared(...))`), or inside a test for a part of it.
 */
export function needShared(what: string, paths: readonly string[]): boolean {
  const absent = paths.filter((p) => !existsSync(join(sharedDir, p)));
  if (absent.length === 0) return true;
  return missing(what, `${absent.map((p) => join(sharedDir, p)).join(', ')} ${absent.length === 1 ? 'is' : 'are'} absent`,
    `the project's shared fixtures belong in ${sharedDir}, beside the checkout`);
}

/** The interpreter the generated reference cases run on (REFGEN_PYTHON to try another, e.g. one without torch). */
export const referencePython = process.env.REFGEN_PYTHON ?? '/usr/bin/python3';

const torchProbe = new Map<string, string | undefined>();

/** Why `python` cannot import torch, or undefined when it can (asked once per interpreter and process). */
function torchProblem(python: string): string | undefined {
  if (!torchProbe.has(python)) {
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    torchProbe.set(python, r.error ? `${python} cannot run (${r.error.message})`
      : r.status !== 0 ? `${python} cannot import torch (${r.stderr.trim().split('\n').pop() || `exit status ${r.status}`})` : undefined);
  }
  return torchProbe.get(python);
}

/** Whether `python` can import torch; `what` names the tests that need it. */
export function needTorch(what: string, python = referencePython): boolean {
  const problem = torchProblem(python);
  if (problem === undefined) return true;
  return missing(what, problem, "install Debian's python3-torch (apt-get install -y --no-install-recommends python3-torch)");
}
