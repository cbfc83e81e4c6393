/**
 * The API's checkpoint browser (list, delete, export) methods (part of src-main/api/contract.ts, which merges every area): params schemas, result
 * types and the events this area pushes. Pure: no node: imports (the renderer bundles this file).
 */
import type { z } from 'zod';

/** Method name → params schema. */
export const CheckpointsMethods = {} satisfies Record<string, z.ZodType>;

/** Method name → result type. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled as the area's methods land
export interface CheckpointsResults {}

/** Events this area pushes to the UI (plain JSON, discriminated on `type`). */
export type CheckpointsEvent = never;
