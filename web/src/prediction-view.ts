import type { PredictResult } from './api.js';

/** Draws 28×28 grey values (0..1 or 0..255) onto a canvas, one canvas pixel per image pixel. */
export function paintDigit(canvas: HTMLCanvasElement, values: ArrayLike<number>, scale = 1): void {
  canvas.width = 28;
  canvas.height = 28;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.max(0, Math.min(255, Math.round(values[i] * scale)));
    img.data[i * 4] = v;
    img.data[i * 4 + 1] = v;
    img.data[i * 4 + 2] = v;
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** The big predicted digit, ten probability bars and the 28×28 preview. */
export class PredictionView {
  private readonly bars: Array<{ row: HTMLElement; fill: HTMLElement; pct: HTMLElement }> = [];

  constructor(
    private readonly digitEl: HTMLElement,
    private readonly confidenceEl: HTMLElement,
    barsEl: HTMLElement,
    private readonly preview: HTMLCanvasElement,
    private readonly metaEl: HTMLElement,
  ) {
    for (let d = 0; d < 10; d++) {
      const row = document.createElement('div');
      row.className = 'bar';
      row.dataset.digit = String(d);
      const label = document.createElement('span');
      label.className = 'bar-label';
      label.textContent = String(d);
      const track = document.createElement('span');
      track.className = 'bar-track';
      const fill = document.createElement('span');
      fill.className = 'bar-fill';
      track.append(fill);
      const pct = document.createElement('span');
      pct.className = 'bar-pct';
      row.append(label, track, pct);
      barsEl.append(row);
      this.bars.push({ row, fill, pct });
    }
    this.reset('Draw a digit');
  }

  /** One digit: it and its probabilities. A number: the number, each digit's confidence, and the first digit's bars. */
  show(result: PredictResult): void {
    const digits = result.digits ?? [];
    const number = result.number ?? String(result.digit);
    this.digitEl.textContent = number;
    this.digitEl.dataset.digit = String(result.digit);
    this.digitEl.dataset.number = number;
    this.digitEl.style.fontSize = number.length > 2 ? `${Math.max(36, Math.round(224 / number.length))}px` : '';
    this.digitEl.classList.remove('placeholder');
    const sure = (p: number) => `${(p * 100).toFixed(1)}%`;
    this.confidenceEl.textContent =
      digits.length > 1 ? `${digits.map((d) => `${d.digit}: ${sure(d.confidence)}`).join(' · ')} sure (bars: first digit)` : `${sure(result.probabilities[result.digit])} sure`;
    result.probabilities.forEach((p, d) => {
      const bar = this.bars[d];
      bar.fill.style.width = `${(p * 100).toFixed(2)}%`;
      bar.pct.textContent = p >= 0.001 ? `${(p * 100).toFixed(1)}%` : '';
      bar.row.classList.toggle('top', d === result.digit);
    });
    paintDigit(this.preview, result.input, 255);
    this.metaEl.textContent = `${result.model} · ${result.checkpoint} · step ${result.step}${result.usedEma ? ' · EMA weights' : ''}`;
  }

  reset(message: string): void {
    this.digitEl.textContent = '?';
    this.digitEl.style.fontSize = '';
    delete this.digitEl.dataset.digit;
    delete this.digitEl.dataset.number;
    this.digitEl.classList.add('placeholder');
    this.confidenceEl.textContent = message;
    for (const bar of this.bars) {
      bar.fill.style.width = '0%';
      bar.pct.textContent = '';
      bar.row.classList.remove('top');
    }
    paintDigit(this.preview, new Float32Array(784));
  }
}
