/**
 * A registry of live engine resources (GPU buffers, worker threads, open files) by kind, so that tests and
 * long-lived hosts (the queue worker, the app's backend) can check that an operation released what it took.
 * Register on creation, release on destroy; `liveCount(kind)` tells what is still held.
 */
export type ResourceKind = 'gpu-buffer' | 'gpu-device' | 'worker' | 'file';

const live = new Map<ResourceKind, Set<object>>();

export function trackResource(kind: ResourceKind, handle: object): void {
  let s = live.get(kind);
  if (!s) live.set(kind, (s = new Set()));
  s.add(handle);
}

export function releaseResource(kind: ResourceKind, handle: object): void {
  live.get(kind)?.delete(handle);
}

export function liveCount(kind: ResourceKind): number {
  return live.get(kind)?.size ?? 0;
}

/** The live handles of one kind (a test can reach a worker to kill it, a host can list what leaked). */
export function liveHandles(kind: ResourceKind): object[] {
  return [...(live.get(kind) ?? [])];
}

/** Every kind with its live count (for a leak report). */
export function liveResources(): Record<ResourceKind, number> {
  const out = { 'gpu-buffer': 0, 'gpu-device': 0, worker: 0, file: 0 } as Record<ResourceKind, number>;
  for (const [k, s] of live) out[k] = s.size;
  return out;
}
