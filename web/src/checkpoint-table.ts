import { api, type CheckpointRow } from './api.js';

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

/**
 * The model picker (newest, or one checkpoint) and the table of checkpoints with their step and
 * validation accuracy. Clicking a row picks that checkpoint.
 */
export class CheckpointTable {
  private rows: CheckpointRow[] = [];
  private refreshTimer: number | undefined;
  private readonly listeners = new Set<(checkpoint: string | undefined) => void>();

  constructor(
    private readonly tbody: HTMLElement,
    private readonly picker: HTMLSelectElement,
    private readonly summary: HTMLElement,
  ) {
    picker.addEventListener('change', () => this.selected(this.picker.value || undefined));
    tbody.addEventListener('click', (e) => {
      const tr = (e.target as HTMLElement).closest('tr');
      if (!tr?.dataset.name) return;
      this.picker.value = tr.dataset.name;
      this.selected(tr.dataset.name);
    });
  }

  /** The picked checkpoint, or undefined for "newest". */
  get checkpoint(): string | undefined {
    return this.picker.value || undefined;
  }

  onSelect(listener: (checkpoint: string | undefined) => void): void {
    this.listeners.add(listener);
  }

  /** Reloads soon, once, however many times it is asked in a burst (one per checkpoint event). */
  refreshSoon(delayMs = 400): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = window.setTimeout(() => void this.refresh(), delayMs);
  }

  async refresh(): Promise<void> {
    const { checkpoints } = await api.checkpoints();
    this.rows = checkpoints;
    this.render();
  }

  private selected(checkpoint: string | undefined): void {
    this.render();
    for (const l of this.listeners) l(checkpoint);
  }

  private render(): void {
    const picked = this.picker.value;
    const pinned = this.rows.find((c) => c.default && !c.latest);
    const options = [new Option(pinned ? `${pinned.name} (chosen with --checkpoint)` : 'Newest (follows training)', '')];
    for (const c of [...this.rows].reverse()) options.push(new Option(`${c.name}${c.step !== null ? ` · step ${c.step}` : ''}`, c.name));
    if (picked && !this.rows.some((c) => c.name === picked)) options.push(new Option(`${picked} (deleted)`, picked));
    this.picker.replaceChildren(...options);
    this.picker.value = picked;

    const best = Math.max(0, ...this.rows.map((c) => c.validationAccuracy ?? 0));
    this.tbody.replaceChildren(
      ...[...this.rows].reverse().map((c) => {
        const tr = document.createElement('tr');
        tr.dataset.name = c.name;
        const inUse = picked ? picked === c.name : c.default;
        tr.classList.toggle('in-use', inUse);
        tr.title = inUse ? 'predictions and mistakes use this checkpoint' : 'click to predict with this checkpoint';
        const acc = c.validationAccuracy;
        tr.innerHTML = `
          <td class="num">${c.step ?? '–'}</td>
          <td><code>${escapeHtml(c.name)}</code>${c.latest ? ' <span class="tag">newest</span>' : ''}</td>
          <td class="muted">${timeFormat.format(new Date(c.savedAt))}</td>
          <td class="acc">${
            acc === null
              ? '<span class="muted">…</span>'
              : `<div class="acc-cell"><span class="acc-bar"><span style="width:${(acc * 100).toFixed(1)}%"></span></span><span class="num${acc === best ? ' best' : ''}">${(acc * 100).toFixed(2)}%</span></div>`
          }</td>`;
        return tr;
      }),
    );
    if (!this.rows.length) {
      const tr = document.createElement('tr');
      tr.innerHTML = '<td colspan="4" class="empty">No checkpoints yet. Start a training run above, or run <code>mnist train</code>.</td>';
      this.tbody.append(tr);
    }
    this.summary.textContent = this.rows.length ? `${this.rows.length} checkpoint${this.rows.length === 1 ? '' : 's'} · best ${(best * 100).toFixed(2)}%` : '';
  }
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
