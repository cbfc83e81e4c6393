/**
 * The backend's handlers for the new-run form, config schema, validation, estimates and sweep builder area (src-main/api/areas/new-run.ts).
 */
import type { AreaHandlers, HandlerContext } from './context';

export function createNewRunHandlers(_ctx: HandlerContext): AreaHandlers {
  return { methods: {} };
}
