import type { GreyImage } from './decode.js';

/** A rectangle in image pixels, inclusive of both corners. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** One digit found in an image: its box and its ink (0..255, digit bright, everything else 0). */
export interface DigitInk {
  box: Box;
  /** (x1 − x0 + 1) × (y1 − y0 + 1) bytes, row by row. */
  ink: Uint8Array;
}

export interface SegmentOptions {
  /** All the ink is one digit (no splitting into several). */
  single?: boolean;
}

/**
 * Separates ink from background and cuts the ink into digits, left to right:
 * 1. polarity: the background is what the border shows; the image is turned so ink is bright;
 * 2. the background level is estimated block by block and subtracted (shading, gradients, paper);
 * 3. a global threshold is chosen from the histogram (Otsu) on a lightly blurred copy (noise);
 * 4. connected groups of ink pixels are found; specks far smaller than the largest are dropped;
 * 5. groups whose columns overlap (the parts of a broken 5, the dot of a 7) are one digit.
 * Returns [] when nothing stands out from the background.
 */
export function findDigits(image: GreyImage, opts: SegmentOptions = {}): DigitInk[] {
  const { width, height } = image;
  const ink = flattenBackground(inkBright(image), width, height);
  const smooth = boxBlur(ink, width, height, Math.floor(Math.min(width, height) / 200));
  const threshold = inkThreshold(smooth);
  if (threshold === undefined) return [];
  const mask = new Uint8Array(width * height);
  for (let i = 0; i < mask.length; i++) mask[i] = smooth[i] > threshold ? 1 : 0;
  const { labels, components } = connectedComponents(mask, width, height);
  const kept = dropSpecks(components);
  if (!kept.length) return [];
  if (opts.single) return [cutDigit(ink, labels, width, kept)];
  return groupByColumns(kept).flatMap((group) => splitTouching(labels, width, group).map((columns) => cutDigit(ink, labels, width, group, columns)));
}

/** Grey → ink intensity with the background dark: light-background images are inverted. */
function inkBright({ pixels, width, height }: GreyImage): Uint8Array {
  const border: number[] = [];
  for (let x = 0; x < width; x++) border.push(pixels[x], pixels[(height - 1) * width + x]);
  for (let y = 1; y < height - 1; y++) border.push(pixels[y * width], pixels[y * width + width - 1]);
  border.sort((a, b) => a - b);
  const hist = histogram(pixels);
  const mid = (percentile(hist, pixels.length, 0.01) + percentile(hist, pixels.length, 0.99)) / 2;
  const invert = border[border.length >> 1] > mid;
  if (!invert) return pixels;
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < out.length; i++) out[i] = 255 - pixels[i];
  return out;
}

function histogram(values: Uint8Array): Uint32Array {
  const hist = new Uint32Array(256);
  for (let i = 0; i < values.length; i++) hist[values[i]]++;
  return hist;
}

function percentile(hist: Uint32Array, total: number, p: number): number {
  const target = p * total;
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += hist[v];
    if (seen > target) return v;
  }
  return 255;
}

/**
 * Subtracts the local background level: the 20th percentile of each block of ~1/8 of the image,
 * then the lowest over each block's neighbours (so a block inside a thick stroke takes the level
 * of the paper beside it), interpolated bilinearly between block centres.
 */
function flattenBackground(ink: Uint8Array, width: number, height: number): Uint8Array {
  const size = Math.max(8, Math.round(Math.max(width, height) / 8));
  const bw = Math.ceil(width / size);
  const bh = Math.ceil(height / size);
  const level = new Float32Array(bw * bh);
  const hist = new Uint32Array(256);
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      hist.fill(0);
      let n = 0;
      for (let y = by * size; y < Math.min(height, (by + 1) * size); y++) {
        for (let x = bx * size; x < Math.min(width, (bx + 1) * size); x++) {
          hist[ink[y * width + x]]++;
          n++;
        }
      }
      level[by * bw + bx] = percentile(hist, n, 0.2);
    }
  }
  const low = new Float32Array(bw * bh);
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      let m = 255;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const x = bx + dx;
          const y = by + dy;
          if (x >= 0 && x < bw && y >= 0 && y < bh) m = Math.min(m, level[y * bw + x]);
        }
      }
      low[by * bw + bx] = m;
    }
  }
  const out = new Uint8Array(ink.length);
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) / size - 0.5, 0), bh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, bh - 1);
    const ty = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) / size - 0.5, 0), bw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, bw - 1);
      const tx = fx - x0;
      const top = low[y0 * bw + x0] * (1 - tx) + low[y0 * bw + x1] * tx;
      const bottom = low[y1 * bw + x0] * (1 - tx) + low[y1 * bw + x1] * tx;
      const bg = top * (1 - ty) + bottom * ty;
      out[y * width + x] = Math.max(0, Math.round(ink[y * width + x] - bg));
    }
  }
  return out;
}

/** Mean over a (2r+1)² square, edges clamped; r = 0 returns the input. */
function boxBlur(src: Uint8Array, width: number, height: number, r: number): Uint8Array {
  if (r <= 0) return src;
  const tmp = new Float32Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let d = -r; d <= r; d++) s += src[y * width + Math.min(width - 1, Math.max(0, x + d))];
      tmp[y * width + x] = s;
    }
  }
  const out = new Uint8Array(src.length);
  const n = (2 * r + 1) ** 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let d = -r; d <= r; d++) s += tmp[Math.min(height - 1, Math.max(0, y + d)) * width + x];
      out[y * width + x] = Math.round(s / n);
    }
  }
  return out;
}

/** Least contrast (of 255) between ink and background for anything to count as ink. */
const MIN_CONTRAST = 40;

/**
 * Otsu's threshold: the level that best splits the histogram into two classes (largest
 * between-class variance). Undefined when the two classes barely differ: a blank image.
 */
function inkThreshold(values: Uint8Array): number | undefined {
  const hist = histogram(values);
  const total = values.length;
  let sumAll = 0;
  for (let v = 0; v < 256; v++) sumAll += v * hist[v];
  let best = -1;
  let threshold = 0;
  let nLow = 0;
  let sumLow = 0;
  for (let t = 0; t < 255; t++) {
    nLow += hist[t];
    sumLow += t * hist[t];
    const nHigh = total - nLow;
    if (!nLow || !nHigh) continue;
    const diff = sumLow / nLow - (sumAll - sumLow) / nHigh;
    const between = nLow * nHigh * diff * diff;
    if (between > best) {
      best = between;
      threshold = t;
    }
  }
  let n = 0;
  let s = 0;
  for (let v = threshold + 1; v < 256; v++) {
    n += hist[v];
    s += v * hist[v];
  }
  if (!n || s / n < MIN_CONTRAST) return undefined;
  // Faint ink (pencil) sits well above a clean background's zero; noise barely does.
  return Math.max(threshold, MIN_CONTRAST / 2);
}

export interface Component {
  label: number;
  area: number;
  box: Box;
}

/** 8-connected components of the mask: a label per pixel (0 = background) and each one's size. */
export function connectedComponents(mask: Uint8Array, width: number, height: number): { labels: Int32Array; components: Component[] } {
  const labels = new Int32Array(mask.length);
  const components: Component[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    const label = components.length + 1;
    const c: Component = { label, area: 0, box: { x0: width, y0: height, x1: -1, y1: -1 } };
    labels[start] = label;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      c.area++;
      if (x < c.box.x0) c.box.x0 = x;
      if (x > c.box.x1) c.box.x1 = x;
      if (y < c.box.y0) c.box.y0 = y;
      if (y > c.box.y1) c.box.y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (mask[q] && !labels[q]) {
            labels[q] = label;
            stack.push(q);
          }
        }
      }
    }
    components.push(c);
  }
  return { labels, components };
}

const heightOf = (b: Box) => b.y1 - b.y0 + 1;
const widthOf = (b: Box) => b.x1 - b.x0 + 1;

/**
 * Specks: components with a twentieth of the largest one's ink, or small and short beside the
 * tallest (a dust spot, a noise cluster, a stray dot).
 */
function dropSpecks(components: Component[]): Component[] {
  const largest = Math.max(0, ...components.map((c) => c.area));
  const tallest = Math.max(0, ...components.filter((c) => c.area >= largest / 4).map((c) => heightOf(c.box)));
  return components.filter((c) => c.area >= Math.max(2, largest / 20) && (c.area >= largest / 6 || heightOf(c.box) >= tallest * 0.4));
}

/**
 * Components whose columns overlap by half the narrower one's width are parts of one digit; a
 * piece that is small and short beside a close neighbour (the detached top bar of a 5) joins it.
 */
function groupByColumns(components: Component[]): Component[][] {
  type Group = { box: Box; area: number; parts: Component[] };
  const groups: Group[] = [];
  for (const c of [...components].sort((a, b) => a.box.x0 - b.box.x0)) {
    const home = groups.find((g) => {
      const overlap = Math.min(g.box.x1, c.box.x1) - Math.max(g.box.x0, c.box.x0) + 1;
      return overlap >= 0.5 * Math.min(widthOf(g.box), widthOf(c.box));
    });
    if (home) {
      home.parts.push(c);
      home.box = union(home.box, c.box);
      home.area += c.area;
    } else {
      groups.push({ box: { ...c.box }, area: c.area, parts: [c] });
    }
  }
  groups.sort((a, b) => a.box.x0 - b.box.x0);
  const isPiece = (g: Group, of: Group) => g.area < 0.4 * of.area && heightOf(g.box) < 0.5 * heightOf(of.box);
  const gap = (a: Group, b: Group) => Math.max(a.box.x0, b.box.x0) - Math.min(a.box.x1, b.box.x1) - 1;
  for (let i = 0; i < groups.length; ) {
    const g = groups[i];
    const near = [groups[i - 1], groups[i + 1]].filter((n): n is Group => n !== undefined && isPiece(g, n) && gap(g, n) <= 0.25 * heightOf(n.box));
    const into = near.sort((a, b) => gap(g, a) - gap(g, b))[0];
    if (!into) {
      i++;
      continue;
    }
    into.parts.push(...g.parts);
    into.box = union(into.box, g.box);
    into.area += g.area;
    groups.splice(i, 1);
    i = Math.max(0, i - 1);
  }
  return groups.map((g) => g.parts);
}

/** The box narrowed to the rows that hold ink of the group within its columns. */
function inkRows(isOwn: (q: number) => boolean, width: number, box: Box): Box {
  let y0 = box.y1;
  let y1 = box.y0;
  for (let y = box.y0; y <= box.y1; y++) {
    for (let x = box.x0; x <= box.x1; x++) {
      if (isOwn(y * width + x)) {
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
        break;
      }
    }
  }
  return y1 >= y0 ? { ...box, y0, y1 } : box;
}

function union(a: Box, b: Box): Box {
  return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
}

/** Marks the labels of a group's components, for `labels[q]` lookups. */
function ownLabels(labels: Int32Array, parts: Component[]): (q: number) => boolean {
  const own = new Uint8Array(Math.max(...parts.map((p) => p.label)) + 1);
  for (const p of parts) own[p.label] = 1;
  return (q: number) => labels[q] < own.length && own[labels[q]] === 1;
}

/** A digit this much wider than tall is taken for several touching digits, if a thin join is found. */
const TOUCHING_ASPECT = 1.2;
/** Expected width of one digit, as a share of the height (MNIST digits are ~0.4–0.9). */
const DIGIT_ASPECT = 0.7;

/**
 * Column ranges of the digits in a group: one range, or — for a group much wider than tall —
 * one per digit, cut where the ink is thinnest near the evenly spaced positions (a join between
 * touching digits is one thin stroke; the middle of a wide single digit has two or three).
 */
function splitTouching(labels: Int32Array, width: number, parts: Component[]): Array<[number, number]> {
  const box = parts.map((p) => p.box).reduce(union);
  const w = widthOf(box);
  const h = heightOf(box);
  const whole: Array<[number, number]> = [[box.x0, box.x1]];
  if (w <= TOUCHING_ASPECT * h) return whole;
  const k = Math.max(2, Math.round(w / (DIGIT_ASPECT * h)));
  const isOwn = ownLabels(labels, parts);
  const columns = new Array<number>(w).fill(0);
  for (let y = box.y0; y <= box.y1; y++) for (let x = box.x0; x <= box.x1; x++) if (isOwn(y * width + x)) columns[x - box.x0]++;
  const inked = columns.filter((c) => c > 0).sort((a, b) => a - b);
  const typical = inked[inked.length >> 1] ?? 0;
  const cuts: number[] = [];
  for (let j = 1; j < k; j++) {
    const centre = Math.round((j * w) / k);
    const reach = Math.max(1, Math.round((0.4 * w) / k));
    let best = centre;
    for (let x = Math.max(1, centre - reach); x <= Math.min(w - 2, centre + reach); x++) if (columns[x] < columns[best]) best = x;
    if (columns[best] <= 0.15 * typical) cuts.push(best);
  }
  if (!cuts.length) return whole;
  const edges = [0, ...cuts, w];
  return edges.slice(1).map((end, i) => [box.x0 + edges[i] + (i ? 1 : 0), box.x0 + end - (end === w ? 1 : 0)]);
}

/**
 * The digit's ink inside its box: pixels of its own components (and their immediate
 * neighbours, which hold the anti-aliased edge) within its columns, scaled so its strokes reach
 * full brightness.
 */
function cutDigit(ink: Uint8Array, labels: Int32Array, width: number, parts: Component[], columns?: [number, number]): DigitInk {
  const isOwn = ownLabels(labels, parts);
  let box = parts.map((p) => p.box).reduce(union);
  if (columns) box = inkRows(isOwn, width, { ...box, x0: columns[0], x1: columns[1] });
  const w = widthOf(box);
  const h = heightOf(box);
  const height = labels.length / width;
  const out = new Uint8Array(w * h);
  const strokes: number[] = [];
  for (let y = box.y0; y <= box.y1; y++) {
    for (let x = box.x0; x <= box.x1; x++) {
      const p = y * width + x;
      let near = isOwn(p);
      if (near) strokes.push(ink[p]);
      for (let dy = -1; dy <= 1 && !near; dy++) {
        for (let dx = -1; dx <= 1 && !near; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx >= 0 && nx < width && ny >= 0 && ny < height && isOwn(ny * width + nx)) near = true;
        }
      }
      if (near) out[(y - box.y0) * w + (x - box.x0)] = ink[p];
    }
  }
  strokes.sort((a, b) => a - b);
  const full = Math.max(1, strokes[Math.floor(strokes.length * 0.75)] ?? 255);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.round((out[i] * 255) / full));
  return { box, ink: out };
}
