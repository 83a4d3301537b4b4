import sharp from 'sharp';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface SeriesPlot {
  title: string;
  xTitle: string;
  yTitle: string;
  /** Named series over the same x = 0, 1, 2, … (the book: 'predictions' and 'real_sin'). */
  series: Record<string, ArrayLike<number>>;
}

/** The book's matplotlib figure as a Vega-Lite line chart, rendered headless to SVG by Vega. */
export async function renderLinePlotSvg(plot: SeriesPlot): Promise<string> {
  const values: Array<{ x: number; y: number; series: string }> = [];
  for (const [name, ys] of Object.entries(plot.series)) {
    for (let i = 0; i < ys.length; i++) values.push({ x: i, y: ys[i], series: name });
  }
  const names = Object.keys(plot.series);
  const spec: vegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    // Later series are dashed so that curves lying on top of each other stay visible.
    title: names.length > 1 ? { text: plot.title, subtitle: `${names.slice(1).join(', ')} dashed` } : plot.title,
    width: 720,
    height: 360,
    background: 'white',
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: plot.xTitle },
      y: { field: 'y', type: 'quantitative', title: plot.yTitle },
      color: { field: 'series', type: 'nominal', title: null, sort: names, legend: { orient: 'right' } },
      strokeDash: { field: 'series', type: 'nominal', sort: names, legend: null },
    },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes `<base>.svg` and `<base>.png` (the SVG rasterised by sharp/librsvg), atomically. */
export async function writeLinePlot(base: string, plot: SeriesPlot): Promise<{ svg: string; png: string }> {
  const svgText = await renderLinePlotSvg(plot);
  const png = await sharp(Buffer.from(svgText), { density: 144 }).png().toBuffer();
  const files = { svg: `${base}.svg`, png: `${base}.png` };
  await writeFileAtomic(files.svg, svgText);
  await writeFileAtomic(files.png, png);
  return files;
}
