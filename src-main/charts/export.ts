/**
 * Chart export on the server side (node only; the CLI's report and the app's main process): SVG from ECharts' SSR
 * renderer (vector, text kept as <text>), PNG by rasterising that SVG with resvg and the bundled DejaVu Sans font
 * (npm dejavu-fonts-ttf, loaded from node_modules, never from the system), so output is the same on every machine.
 * Size is in output pixels at a DPI: the chart is laid out at width·96/dpi CSS pixels and scaled by dpi/96, like a
 * matplotlib figure of width/dpi inches; the PNG records its DPI (pHYs). White background by default.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import * as echarts from 'echarts';
import { UserError } from '../util/errors';
import { buildChartOption, type ChartOption, type PreparedChart } from './options';
import type { ChartView } from './types';
import { loadFontMetrics, type FontMetrics } from './font-metrics';

export const EXPORT_FONT_FAMILY = 'DejaVu Sans';

let fonts: string[] | undefined;
/** The bundled font files (DejaVu Sans regular and bold). */
export function bundledFontFiles(): string[] {
  if (fonts) return fonts;
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  const files = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => join(dir, f));
  for (const f of files) if (!existsSync(f)) throw new UserError(`the bundled chart font ${f} is missing; reinstall the dependencies (npm ci)`, { code: 'FILE_NOT_FOUND', data: { path: f } });
  fonts = files;
  return fonts;
}

export interface ExportSize {
  /** Output width and height in pixels (PNG). */
  widthPx: number;
  heightPx: number;
  /** Dots per inch: the text and line scale (default 200: 12 px text at 96 dpi becomes 25 px). */
  dpi?: number;
  /** Background colour; default white. 'transparent' for none. */
  background?: string;
}

export const DEFAULT_DPI = 200;

function checkSize(s: ExportSize): { w: number; h: number; dpi: number; lw: number; lh: number; bg: string } {
  const dpi = s.dpi ?? DEFAULT_DPI;
  const ok = (v: number) => Number.isInteger(v) && v >= 16 && v <= 20000;
  if (!ok(s.widthPx) || !ok(s.heightPx)) throw new UserError(`chart size must be whole pixels between 16 and 20000, got ${s.widthPx}×${s.heightPx}`, { code: 'INVALID_ARGUMENT', data: { widthPx: s.widthPx, heightPx: s.heightPx } });
  if (!(dpi >= 24 && dpi <= 2400)) throw new UserError(`chart DPI must be between 24 and 2400, got ${dpi}`, { code: 'INVALID_ARGUMENT', data: { dpi } });
  const scale = dpi / 96;
  return { w: s.widthPx, h: s.heightPx, dpi, lw: s.widthPx / scale, lh: s.heightPx / scale, bg: s.background ?? '#ffffff' };
}

let measuring: { regular: FontMetrics; bold: FontMetrics } | undefined;
/** Makes ECharts measure text with the bundled font's metrics (once per process). */
function useBundledFontMetrics(): void {
  if (measuring) return;
  const [regular, bold] = bundledFontFiles().map(loadFontMetrics);
  measuring = { regular, bold };
  const m = measuring;
  echarts.setPlatformAPI({
    measureText(text: string, font?: string) {
      const size = Number(/(\d+(?:\.\d+)?)px/.exec(font ?? '')?.[1] ?? 12);
      return { width: (/bold|[6-9]00/.test(font ?? '') ? m.bold : m.regular).width(text, size) };
    },
  });
}

/** SVG text of an option rendered at `width`×`height` CSS pixels. */
export function renderOptionSvg(option: ChartOption, width: number, height: number, background = '#ffffff'): string {
  useBundledFontMetrics();
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ ...option, backgroundColor: background === 'transparent' ? 'transparent' : background, animation: false });
    return chart.renderToSVGString();
  } finally {
    chart.dispose(); // also stops zrender's animation loop, which would keep the process alive
  }
}

/** The option an export draws: downsampled for the output pixel width, legend wrapped for the layout width. */
export function exportOption(prepared: PreparedChart, size: ExportSize, view: Pick<ChartView, 'range'> = {}): ChartOption {
  const s = checkSize(size);
  const option = buildChartOption({ ...prepared, spec: { ...prepared.spec, fontFamily: EXPORT_FONT_FAMILY, interactive: false } }, { range: view.range, widthPx: s.w, layoutWidthPx: s.lw });
  return option;
}

/** SVG of a prepared chart: laid out at the size the PNG would have, in CSS pixels; text as text. */
export function chartSvg(prepared: PreparedChart, size: ExportSize, view: Pick<ChartView, 'range'> = {}): string {
  const s = checkSize(size);
  return renderOptionSvg(exportOption(prepared, size, view), Math.round(s.lw), Math.round(s.lh), s.bg);
}

/** Rasterises SVG text to PNG bytes of exactly widthPx×heightPx with the bundled font, recording the DPI. */
export function svgToPng(svg: string, size: ExportSize): Buffer {
  const s = checkSize(size);
  // Loaded on first use, so the single-file CLI bundle (resvg stays external) starts without it.
  const { Resvg } = createRequire(import.meta.url)('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const r = new Resvg(svg, {
    fitTo: { mode: 'width', value: s.w },
    background: s.bg === 'transparent' ? undefined : s.bg,
    font: { fontFiles: bundledFontFiles(), loadSystemFonts: false, defaultFontFamily: EXPORT_FONT_FAMILY, sansSerifFamily: EXPORT_FONT_FAMILY },
  });
  const img = r.render();
  if (img.width !== s.w || Math.abs(img.height - s.h) > 1) {
    throw new UserError(`chart rasterised at ${img.width}×${img.height} instead of ${s.w}×${s.h}`, { code: 'USER_ERROR', data: { width: img.width, height: img.height } });
  }
  return withDpi(img.asPng(), s.dpi);
}

/** PNG of a prepared chart at widthPx×heightPx and `dpi`. */
export function chartPng(prepared: PreparedChart, size: ExportSize, view: Pick<ChartView, 'range'> = {}): Buffer {
  const s = checkSize(size);
  // Lay out at the exact (fractional) CSS size so the raster comes out at exactly the requested pixels.
  const svg = renderOptionSvg(exportOption(prepared, size, view), s.lw, s.lh, s.bg);
  return svgToPng(svg, size);
}

/** Inserts a pHYs chunk (pixels per metre) after IHDR, so TeX and image viewers know the DPI. */
export function withDpi(png: Buffer, dpi: number): Buffer {
  const ihdrEnd = 8 + 8 + 13 + 4; // signature, IHDR length+type, IHDR data, CRC
  if (png.readUInt32BE(8) !== 13 || png.toString('latin1', 12, 16) !== 'IHDR') return png;
  const ppm = Math.round(dpi / 0.0254);
  const chunk = Buffer.alloc(4 + 4 + 9 + 4);
  chunk.writeUInt32BE(9, 0);
  chunk.write('pHYs', 4, 'latin1');
  chunk.writeUInt32BE(ppm, 8);
  chunk.writeUInt32BE(ppm, 12);
  chunk.writeUInt8(1, 16); // unit: metre
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 17)) >>> 0, 17);
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
}


