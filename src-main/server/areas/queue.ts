/**
 * The backend's handlers for the queue panel area (src-main/api/areas/queue.ts).
 */
import type { AreaHandlers, HandlerContext } from './context';

export function createQueueHandlers(_ctx: HandlerContext): AreaHandlers {
  return { methods: {} };
}
