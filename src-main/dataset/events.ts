// What `dataset prepare` prints in machine-readable mode (one JSON object per line on stdout, for the app's
// supervisor): the preparation's own events, then exactly one `done` (with the manifest) or `error` (with its code).
import type { ErrorEvent } from '../engine/events';
import type { DatasetManifest, PrepareEvent } from './prepare';

export interface PrepareDoneEvent {
  type: 'done';
  /** The dataset folder (absolute). */
  dir: string;
  manifest: DatasetManifest;
  /** The steps that did work (the others were reused). */
  ran: string[];
}

export type PrepareStreamEvent = PrepareEvent | PrepareDoneEvent | ErrorEvent;
