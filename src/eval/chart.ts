/**
 * A grouped bar chart of metrics per retriever, as a self-contained SVG document (no dependencies):
 * one group per retriever, one bar per metric, values 0..1 with gridlines every 0.2 and the value
 * printed above each bar.
 */
import { BiencoderError } from '../errors.ts';

export interface ChartSeries {
  readonly name: string;
  readonly values: Readonly<Record<string, number>>;
}

export interface ChartOptions {
  readonly title?: string;
  /** Metric keys to draw, in order; default the keys of the first series. */
  readonly metrics?: readonly string[];
}

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function metricsChartSvg(series: readonly ChartSeries[], options: ChartOptions = {}): string {
  if (!Array.isArray(series) || series.length === 0) throw new BiencoderError('INVALID_ARGUMENT', 'a chart needs at least one retriever');
  const metrics = options.metrics ?? Object.keys(series[0].values);
  if (metrics.length === 0) throw new BiencoderError('INVALID_ARGUMENT', 'a chart needs at least one metric');
  const bar = 22;
  const gap = 26;
  const groupWidth = metrics.length * bar + gap;
  const left = 50;
  const top = 50;
  const plotHeight = 260;
  const width = left + series.length * groupWidth + 20;
  const legendY = top + plotHeight + 48;
  const height = legendY + 30;
  const y = (v: number): number => top + plotHeight - Math.max(0, Math.min(1, v)) * plotHeight;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  if (options.title) out.push(`<text x="${left}" y="24" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`);
  for (let g = 0; g <= 5; g++) {
    const v = g / 5;
    out.push(`<line x1="${left}" x2="${width - 20}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  series.forEach((s, si) => {
    const x0 = left + si * groupWidth + gap / 2;
    metrics.forEach((m, mi) => {
      const v = s.values[m];
      if (v === undefined || !Number.isFinite(v)) return;
      const x = x0 + mi * bar;
      out.push(`<rect x="${x}" y="${y(v)}" width="${bar - 2}" height="${top + plotHeight - y(v)}" fill="${COLORS[mi % COLORS.length]}"><title>${escapeXml(`${s.name} ${m}: ${v.toFixed(4)}`)}</title></rect>`);
      out.push(`<text x="${x + (bar - 2) / 2}" y="${y(v) - 3}" text-anchor="middle" font-size="8">${v.toFixed(2)}</text>`);
    });
    out.push(`<text x="${x0 + (metrics.length * bar) / 2}" y="${top + plotHeight + 16}" text-anchor="middle">${escapeXml(s.name)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${width - 20}" y1="${top + plotHeight}" y2="${top + plotHeight}" stroke="#333"/>`);
  metrics.forEach((m, mi) => {
    const x = left + mi * 110;
    out.push(`<rect x="${x}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[mi % COLORS.length]}"/>`);
    out.push(`<text x="${x + 16}" y="${legendY}">${escapeXml(m)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
