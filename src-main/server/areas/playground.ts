/**
 * The backend's handlers for the generation playground area (src-main/api/areas/playground.ts).
 */
import type { AreaHandlers, HandlerContext } from './context';

export function createPlaygroundHandlers(_ctx: HandlerContext): AreaHandlers {
  return { methods: {} };
}
