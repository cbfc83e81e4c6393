/**
 * The shape of the desktop app's preload bridge (`window.lmwb`), shared by the preload script (which implements
 * it with ipcRenderer) and the renderer's IPC transport. Plain JSON crosses it; the main process validates all.
 */
import type { ApiEvent, Response } from '../../../src-main/api/contract';

export interface LmwbBridge {
  /** One API request ({method, params}); answered like POST /api. */
  call(request: { method: string; params?: unknown }): Promise<Response>;
  /** Sets this window's live subscriptions. */
  subscribe(runs: Array<{ id: string; from: number }>): Promise<Response>;
  /** Live events; returns an unsubscribe function. */
  onEvent(listener: (e: ApiEvent) => void): () => void;
  /** Saves bytes to a file the user picks in a save dialog; resolves to the path, or null when cancelled. */
  saveFile(suggestedName: string, base64: string): Promise<string | null>;
  /** A save dialog only: the path the user picked (the main process then lets the API write there once), or null. */
  chooseSavePath?(suggestedName: string): Promise<string | null>;
}
