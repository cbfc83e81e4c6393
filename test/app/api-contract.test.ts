// The API contract's validation of untrusted requests: unknown methods, path-like run ids, bad overrides and
// out-of-range export options are refused with a one-line error naming the field; defaults are applied.
import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../src-main/api/contract';

describe('API contract validation', () => {
  it('accepts a known method and applies defaults', () => {
    const r = parseRequest({ method: 'runs.metrics', params: { id: 'smoke-20260101-000000' } });
    expect(r).toEqual({ ok: true, method: 'runs.metrics', params: { id: 'smoke-20260101-000000', from: 0 } });
    const e = parseRequest({ method: 'charts.export', params: { spec: { runs: ['a'], metrics: ['loss'] }, options: { format: 'png' } } });
    expect(e.ok && e.params).toEqual({
      spec: { runs: ['a'], metrics: ['loss'], x: 'step', yScale: 'linear', smoothing: { kind: 'ema', weight: 0.6 }, hidden: [] },
      options: { format: 'png', width: 2000, height: 1200, dpi: 200, background: 'white' },
    });
  });

  it('refuses unknown methods and malformed requests', () => {
    expect(parseRequest({ method: 'fs.read', params: {} })).toMatchObject({ ok: false, error: { message: 'unknown method "fs.read"' } });
    expect(parseRequest('runs.list')).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(parseRequest({ method: 'runs.list', params: {}, extra: 1 })).toMatchObject({ ok: false });
    expect(parseRequest({ method: 'runs.list', params: { x: 1 } })).toMatchObject({ ok: false });
  });

  it('never lets a run id name a path', () => {
    for (const id of ['../etc', '/etc/passwd', 'a/b', 'a\\b', '.hidden', '..', '', 'x'.repeat(201)]) {
      const r = parseRequest({ method: 'runs.get', params: { id } });
      expect(r.ok, id).toBe(false);
      if (!r.ok) expect(r.error.message).toMatch(/^runs\.get: id: /);
    }
    expect(parseRequest({ method: 'runs.get', params: { id: 'lr=3e-3_bs-64.v2' } }).ok).toBe(true);
  });

  it('checks overrides, tags and export ranges', () => {
    expect(parseRequest({ method: 'runs.start', params: { set: ['training.max_steps=20'] } }).ok).toBe(true);
    expect(parseRequest({ method: 'runs.start', params: { set: ['--config=/etc/x'] } })).toMatchObject({ ok: false, error: { message: 'runs.start: set.0: an override is key=value' } });
    expect(parseRequest({ method: 'runs.start', params: { preset: 'cs336-tinystories' } }).ok).toBe(false);
    expect(parseRequest({ method: 'runs.updateMeta', params: { id: 'a', tags: ['has space'] } }).ok).toBe(false);
    expect(parseRequest({ method: 'runs.updateMeta', params: { id: 'a', tags: ['ok'], notes: 'fine' } }).ok).toBe(true);
    const big = { spec: { runs: ['a'], metrics: ['loss'] }, options: { format: 'png', dpi: 5000 } };
    expect(parseRequest({ method: 'charts.export', params: big })).toMatchObject({ ok: false, error: { message: 'charts.export: options.dpi: Too big: expected number to be <=600' } });
    expect(parseRequest({ method: 'charts.export', params: { ...big, options: { format: 'gif' } } }).ok).toBe(false);
    expect(parseRequest({ method: 'charts.export', params: { spec: { runs: [], metrics: ['loss'] }, options: { format: 'svg' } } }).ok).toBe(false);
  });
});
