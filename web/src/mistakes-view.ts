import { api, ApiError, type Mistakes } from './api.js';
import { paintDigit } from './prediction-view.js';

const PAGE_SIZE = 40;

/** A page of test images the model gets wrong: the image, its true label and the prediction. */
export class MistakesView {
  private offset = 0;
  private checkpoint: string | undefined;
  private loading = 0;

  constructor(
    private readonly grid: HTMLElement,
    private readonly summary: HTMLElement,
    private readonly prev: HTMLButtonElement,
    private readonly next: HTMLButtonElement,
    private readonly pageLabel: HTMLElement,
  ) {
    prev.addEventListener('click', () => void this.load(Math.max(0, this.offset - PAGE_SIZE)));
    next.addEventListener('click', () => void this.load(this.offset + PAGE_SIZE));
  }

  show(checkpoint: string | undefined): Promise<void> {
    this.checkpoint = checkpoint;
    return this.load(0);
  }

  reload(): Promise<void> {
    return this.load(this.offset);
  }

  private async load(offset: number): Promise<void> {
    const ticket = ++this.loading;
    this.grid.classList.add('busy');
    this.summary.textContent = 'Finding the test images the model gets wrong…';
    let page: Mistakes;
    try {
      page = await api.mistakes(offset, PAGE_SIZE, this.checkpoint);
    } catch (err) {
      if (ticket !== this.loading) return;
      this.grid.classList.remove('busy');
      this.grid.replaceChildren();
      this.summary.textContent = err instanceof ApiError && err.status === 404 ? 'No model yet.' : `Could not load mistakes: ${(err as Error).message}`;
      this.pageLabel.textContent = '';
      this.prev.disabled = this.next.disabled = true;
      return;
    }
    if (ticket !== this.loading) return;
    this.offset = page.offset;
    this.grid.classList.remove('busy');
    this.render(page);
  }

  private render(page: Mistakes): void {
    const pct = (page.accuracy * 100).toFixed(2);
    this.summary.innerHTML = `<strong>${page.total.toLocaleString()}</strong> of ${page.testCount.toLocaleString()} test images wrong · <strong>${pct}%</strong> right · <code>${page.checkpoint}</code>`;
    this.grid.replaceChildren(
      ...page.items.map((item) => {
        const cell = document.createElement('figure');
        cell.className = 'mistake';
        cell.dataset.label = String(item.label);
        cell.dataset.prediction = String(item.prediction);
        cell.title = `test image #${item.index}: true ${item.label}, predicted ${item.prediction} (${(item.confidence * 100).toFixed(1)}%); ` +
          `p(${item.label}) = ${(item.probabilities[item.label] * 100).toFixed(1)}%`;
        const canvas = document.createElement('canvas');
        paintDigit(canvas, Uint8Array.from(atob(item.pixels), (c) => c.charCodeAt(0)));
        const caption = document.createElement('figcaption');
        caption.innerHTML = `<span class="truth">${item.label}</span><span class="arrow">→</span><span class="wrong">${item.prediction}</span><span class="conf">${Math.round(item.confidence * 100)}%</span>`;
        cell.append(canvas, caption);
        return cell;
      }),
    );
    if (!page.items.length) {
      const empty = document.createElement('p');
      empty.className = 'empty';
      empty.textContent = page.total ? 'No more mistakes on this page.' : 'No mistakes at all on the test set. Impressive.';
      this.grid.append(empty);
    }
    const end = Math.min(page.offset + page.items.length, page.total);
    this.pageLabel.textContent = page.total ? `${page.offset + 1}–${end} of ${page.total}` : '';
    this.prev.disabled = page.offset === 0;
    this.next.disabled = end >= page.total;
  }
}
