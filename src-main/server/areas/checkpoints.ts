/**
 * The backend's handlers for the checkpoint browser area (src-main/api/areas/checkpoints.ts).
 */
import type { AreaHandlers, HandlerContext } from './context';

export function createCheckpointsHandlers(_ctx: HandlerContext): AreaHandlers {
  return { methods: {} };
}
