/**
 * The desktop app's preload: a small typed bridge (window.lmwb) from the sandboxed renderer to the main process.
 * It exposes five functions and no Electron or Node object; everything crossing it is plain JSON, validated by
 * the main process. Bundled as CommonJS (a sandboxed preload can require only 'electron').
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { LmwbBridge } from '../../src-renderer/src/api/bridge';
import type { ApiEvent, Response } from '../api/contract';

const bridge: LmwbBridge = {
  call: (request) => ipcRenderer.invoke('lmwb:call', request) as Promise<Response>,
  subscribe: (runs) => ipcRenderer.invoke('lmwb:subscribe', { runs }) as Promise<Response>,
  onEvent(listener) {
    const fn = (_e: IpcRendererEvent, ev: ApiEvent) => listener(ev);
    ipcRenderer.on('lmwb:event', fn);
    return () => ipcRenderer.off('lmwb:event', fn);
  },
  saveFile: (suggestedName, base64) => ipcRenderer.invoke('lmwb:save', { suggestedName, base64 }) as Promise<string | null>,
  chooseSavePath: (suggestedName) => ipcRenderer.invoke('lmwb:choose-save-path', { suggestedName }) as Promise<string | null>,
};

contextBridge.exposeInMainWorld('lmwb', bridge);
