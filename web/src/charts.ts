import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Steps shown on the x axis, shared by the charts of one panel so their axes line up. */
export interface StepRange {
  min: number;
  max: number;
}

export interface ChartSpec {
  title: string;
  color: string;
  format: (v: number) => string;
  /** Tick labels, when shorter than `format` (default: `format`). */
  axisFormat?: (v: number) => string;
  /** Log scale for values spanning decades (the loss). */
  log?: boolean;
  /** Fixed y range, e.g. [0, 1] for accuracy; auto otherwise. */
  range?: [number, number];
}

const AXIS = { stroke: '#8b93a7', grid: { stroke: 'rgba(148,163,184,0.12)', width: 1 }, ticks: { stroke: 'rgba(148,163,184,0.2)', width: 1 }, font: '11px system-ui, sans-serif' };
/** Redraws at most this often however fast points arrive. */
const REDRAW_MS = 250;

/**
 * One live line chart (x = training step) in a card of its own: a title, the latest value, and
 * a uPlot chart that follows its container's width. `data-points` on the card tells how many
 * points it holds (tests read it).
 */
export class LiveChart {
  readonly card: HTMLElement;
  private readonly xs: number[] = [];
  private readonly ys: number[] = [];
  private readonly plot: uPlot;
  private readonly valueEl: HTMLElement;
  private redrawPending = false;

  constructor(
    parent: HTMLElement,
    private readonly spec: ChartSpec,
    private readonly steps?: StepRange,
  ) {
    this.card = document.createElement('div');
    this.card.className = 'chart';
    this.card.dataset.points = '0';
    this.card.style.setProperty('--series', spec.color);
    const head = document.createElement('div');
    head.className = 'chart-head';
    const title = document.createElement('span');
    title.className = 'chart-title';
    title.textContent = spec.title;
    this.valueEl = document.createElement('span');
    this.valueEl.className = 'chart-value';
    this.valueEl.textContent = '–';
    head.append(title, this.valueEl);
    const body = document.createElement('div');
    body.className = 'chart-body';
    this.card.append(head, body);
    parent.append(this.card);

    this.plot = new uPlot(
      {
        width: Math.max(200, body.clientWidth),
        height: 150,
        legend: { show: false },
        cursor: { points: { size: 6 }, drag: { x: false, y: false } },
        scales: {
          x: { time: false, range: (_u, min, max) => (this.steps && this.steps.max > this.steps.min ? [this.steps.min, this.steps.max] : [min, max]) },
          y: spec.log ? { distr: 3 } : spec.range ? { range: spec.range } : {},
        },
        axes: [
          { ...AXIS, size: 28 },
          { ...AXIS, size: 52, values: (_u, vals) => vals.map((v) => (v == null ? '' : (spec.axisFormat ?? spec.format)(v))) },
        ],
        series: [
          { label: 'step' },
          { label: spec.title, stroke: spec.color, width: 2, fill: `${spec.color}22`, points: { show: (u) => u.data[0].length < 40, size: 5, fill: spec.color }, spanGaps: true },
        ],
      },
      [[], []],
      body,
    );
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(200, body.clientWidth), height: 150 })).observe(body);
  }

  get points(): number {
    return this.xs.length;
  }

  /** Adds a point; a point at an existing step replaces it (re-evaluated checkpoints). */
  add(step: number, value: number): void {
    if (!Number.isFinite(value) || (this.spec.log && value <= 0)) return;
    let i = this.xs.length;
    while (i > 0 && this.xs[i - 1] > step) i--;
    if (i > 0 && this.xs[i - 1] === step) this.ys[i - 1] = value;
    else {
      this.xs.splice(i, 0, step);
      this.ys.splice(i, 0, value);
    }
    this.valueEl.textContent = this.spec.format(this.ys[this.ys.length - 1]);
    this.card.dataset.points = String(this.xs.length);
    this.scheduleRedraw();
  }

  clear(): void {
    this.xs.length = 0;
    this.ys.length = 0;
    this.valueEl.textContent = '–';
    this.card.dataset.points = '0';
    this.scheduleRedraw();
  }

  /** Redraws soon (after the shared step range changed). */
  touch(): void {
    this.scheduleRedraw();
  }

  private scheduleRedraw(): void {
    if (this.redrawPending) return;
    this.redrawPending = true;
    setTimeout(() => {
      this.redrawPending = false;
      this.plot.setData([this.xs.slice(), this.ys.slice()]);
    }, REDRAW_MS);
  }
}
