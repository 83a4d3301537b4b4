/**
 * A canvas to draw a digit on with mouse, pen or finger: white ink on black, like MNIST. The
 * canvas keeps a fixed 280×280 drawing size whatever its size on screen; strokes are smoothed
 * with quadratic curves through the midpoints of the sampled points.
 */
export const PAD_SIZE = 280;
/** Relative to the pad: about the stroke width of an MNIST digit once scaled into 20×20. */
const BRUSH = 20;

export class DrawPad {
  private drawing = false;
  private last: { x: number; y: number } | null = null;
  private mid: { x: number; y: number } | null = null;
  private inked = false;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly listeners = new Set<(final: boolean) => void>();

  constructor(readonly canvas: HTMLCanvasElement) {
    canvas.width = PAD_SIZE;
    canvas.height = PAD_SIZE;
    this.ctx = canvas.getContext('2d')!;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointercancel', (e) => this.up(e));
    canvas.addEventListener('lostpointercapture', (e) => this.up(e));
  }

  get empty(): boolean {
    return !this.inked;
  }

  /** Called while drawing (final = false) and when a stroke ends or the pad is cleared (final = true). */
  onChange(listener: (final: boolean) => void): void {
    this.listeners.add(listener);
  }

  clear(): void {
    const { ctx } = this;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, PAD_SIZE, PAD_SIZE);
    this.inked = false;
    this.emit(true);
  }

  toPng(): Promise<Blob> {
    return new Promise((resolve, reject) => this.canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('canvas is empty'))), 'image/png'));
  }

  private point(e: PointerEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * PAD_SIZE, y: ((e.clientY - r.top) / r.height) * PAD_SIZE };
  }

  private down(e: PointerEvent): void {
    if (e.button !== 0) return;
    e.preventDefault();
    this.canvas.setPointerCapture?.(e.pointerId);
    this.drawing = true;
    const p = this.point(e);
    this.last = p;
    this.mid = p;
    this.dot(p);
    this.emit(false);
  }

  private move(e: PointerEvent): void {
    if (!this.drawing || !this.last || !this.mid) return;
    e.preventDefault();
    // Coalesced events keep fast strokes smooth where the browser batches pointer moves.
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) {
      const p = this.point(ev);
      const mid = { x: (this.last.x + p.x) / 2, y: (this.last.y + p.y) / 2 };
      const { ctx } = this;
      this.brush();
      ctx.beginPath();
      ctx.moveTo(this.mid.x, this.mid.y);
      ctx.quadraticCurveTo(this.last.x, this.last.y, mid.x, mid.y);
      ctx.stroke();
      this.last = p;
      this.mid = mid;
    }
    this.inked = true;
    this.emit(false);
  }

  private up(e: PointerEvent): void {
    if (!this.drawing) return;
    this.drawing = false;
    if (this.last && this.mid) {
      const { ctx } = this;
      this.brush();
      ctx.beginPath();
      ctx.moveTo(this.mid.x, this.mid.y);
      ctx.lineTo(this.last.x, this.last.y);
      ctx.stroke();
    }
    this.last = this.mid = null;
    if (this.canvas.hasPointerCapture?.(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    this.emit(true);
  }

  private dot(p: { x: number; y: number }): void {
    const { ctx } = this;
    this.brush();
    ctx.beginPath();
    ctx.arc(p.x, p.y, BRUSH / 2, 0, Math.PI * 2);
    ctx.fill();
    this.inked = true;
  }

  private brush(): void {
    const { ctx } = this;
    ctx.strokeStyle = '#fff';
    ctx.fillStyle = '#fff';
    ctx.lineWidth = BRUSH;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
  }

  private emit(final: boolean): void {
    for (const l of this.listeners) l(final);
  }
}
