/**
 * What a view area's request handlers (./*.ts) get from the backend, and what they give it: handlers per API
 * method (params already validated by the contract's schema) and an optional close() for the child processes or
 * jobs the area owns. The backend asks each area in turn for a method before its own core methods.
 */
import type { ApiEvent, Method, ParsedParams, Result } from '../../api/contract';
import type { Launcher } from '../launcher';
import type { RunIndex } from '../run-index';

export interface HandlerContext {
  readonly workspace: string;
  readonly index: RunIndex;
  readonly launcher: Launcher;
  /** Throws RUN_NOT_FOUND unless the workspace holds this run. */
  requireRun(id: string): void;
  /** The run's row changed: push it (batched). */
  markDirty(id: string): void;
  /** Runs were added or removed: push a full listing (batched). */
  refreshAll(): void;
  /** Sends an event to every connected UI now (areas batch their own high-rate events). */
  broadcast(e: ApiEvent): void;
}

export type MethodHandlers = { [M in Method]?: (params: ParsedParams<M>) => Result<M> | Promise<Result<M>> };

export interface AreaHandlers {
  methods: MethodHandlers;
  /** Stops what the area started (generation children, dataset jobs); the backend awaits it on close. */
  close?(): void | Promise<void>;
}
