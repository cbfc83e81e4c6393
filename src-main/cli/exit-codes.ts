// Exit codes of the `lmwb` process, chosen by the front end from an error's code (the engine never picks one).
import type { ErrorCode } from '../util/errors';

/** 2: bad input or config; 3: no usable GPU driver; 4: a run diverged; 130: cancelled (as after Ctrl-C). */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'NO_GPU_DRIVER':
      return 3;
    case 'DIVERGED':
      return 4;
    case 'ABORTED':
      return 130;
    default:
      return 2;
  }
}
