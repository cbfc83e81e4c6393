/**
 * Chart export for the API (PNG, SVG, CSV): loads the runs named in the spec from the workspace and renders them
 * with the charts module's server-side exporter, so the app exports exactly what `lmwb report` draws.
 */
import { UserError } from '../util/errors';
import type { ChartSpec, ExportOptions, ExportResult } from '../api/contract';

export async function exportChart(_workspace: string, _spec: ChartSpec, _options: ExportOptions): Promise<ExportResult> {
  throw new UserError('chart export needs the charts module (not merged yet)', { code: 'USER_ERROR' });
}
