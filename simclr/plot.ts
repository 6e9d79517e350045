/**
 * A PNG chart of SimCLR training, one point per epoch: loss, contrastive accuracy, kNN top-1 and
 * learning rate in a 2x2 grid. Drawn pixel by pixel with pngjs and a built-in 5x7 bitmap font, so
 * the trainer can refresh it every epoch without a browser, a canvas library or fonts on the host.
 */
import { PNG } from 'pngjs';
import { ArgumentError } from '../engine/errors.js';
import { writeFileAtomic } from '../nn/files.js';

export interface PlotEpoch {
  /** 1-based number of epochs completed. */
  epoch: number;
  meanLoss: number;
  /** 0..1 */
  meanAccuracy: number;
  /** 0..1, or null when no kNN monitor ran this epoch. */
  knnTop1: number | null;
  lr: number;
}

export interface PlotOptions {
  width?: number;
  height?: number;
  title?: string;
}

type Rgb = readonly [number, number, number];
const BACKGROUND: Rgb = [255, 255, 255];
const TEXT: Rgb = [30, 30, 30];
const AXIS: Rgb = [70, 70, 70];
const GRID: Rgb = [228, 228, 228];
const LINE: Rgb = [31, 119, 180];

/**
 * 5x7 glyphs, rows top to bottom separated by spaces, '#' = ink. Lowercase only: other text is
 * lowercased first, and characters without a glyph print as '?' so they are visibly missing.
 */
const GLYPH_ROWS: Record<string, string> = {
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '####. ....# ....# .###. ....# ....# ####.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #...# #...#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# ####. #.... #....',
  q: '..... ..... .##.# #..## .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... .##.. ..#.. .#...',
  '-': '..... ..... ..... ##### ..... ..... .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  '/': '..... ....# ...#. ..#.. .#... #.... .....',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '_': '..... ..... ..... ..... ..... ..... #####',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  ' ': '..... ..... ..... ..... ..... ..... .....',
};
const GLYPH_W = 5;
const GLYPH_H = 7;
/** Advance per character: the glyph plus one column of spacing. */
const CELL_W = GLYPH_W + 1;

const GLYPHS = new Map<string, boolean[][]>(Object.entries(GLYPH_ROWS).map(([ch, rows]) => {
  const grid = rows.split(' ').map((row) => [...row].map((c) => c === '#'));
  // A typo in the table would otherwise draw a shifted glyph silently.
  if (grid.length !== GLYPH_H || grid.some((r) => r.length !== GLYPH_W)) throw new Error(`plot: glyph '${ch}' is not ${GLYPH_W}x${GLYPH_H}`);
  return [ch, grid];
}));

/** An RGBA pixel buffer with clipped drawing; `s` is the integer scale for text, strokes and markers. */
class Canvas {
  readonly png: PNG;
  constructor(readonly width: number, readonly height: number, readonly s: number) {
    this.png = new PNG({ width, height });
    this.fillRect(0, 0, width, height, BACKGROUND);
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x)), y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w)), y1 = Math.min(this.height, Math.round(y + h));
    const d = this.png.data;
    for (let py = y0; py < y1; py++) {
      for (let px = x0; px < x1; px++) {
        const o = (py * this.width + px) * 4;
        d[o] = c[0]; d[o + 1] = c[1]; d[o + 2] = c[2]; d[o + 3] = 255;
      }
    }
  }

  /** Bresenham, stamping a square `thickness` wide at each step. */
  line(xa: number, ya: number, xb: number, yb: number, c: Rgb, thickness = 1): void {
    let x = Math.round(xa), y = Math.round(ya);
    const x1 = Math.round(xb), y1 = Math.round(yb);
    const dx = Math.abs(x1 - x), dy = -Math.abs(y1 - y);
    const sx = x < x1 ? 1 : -1, sy = y < y1 ? 1 : -1;
    const half = Math.floor(thickness / 2);
    let err = dx + dy;
    for (;;) {
      this.fillRect(x - half, y - half, thickness, thickness, c);
      if (x === x1 && y === y1) return;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; x += sx; }
      if (e2 <= dx) { err += dx; y += sy; }
    }
  }

  textWidth(text: string): number {
    return text.length * CELL_W * this.s - this.s;
  }

  /** Draws `text` with its top-left corner at (x, y). */
  text(x: number, y: number, text: string, c: Rgb = TEXT): void {
    const s = this.s;
    [...text.toLowerCase()].forEach((ch, i) => {
      const glyph = GLYPHS.get(ch) ?? GLYPHS.get('?')!;
      glyph.forEach((row, gy) => row.forEach((ink, gx) => {
        if (ink) this.fillRect(x + (i * CELL_W + gx) * s, y + gy * s, s, s, c);
      }));
    });
  }
}

/** 1, 2 or 5 times a power of ten, the smallest such step not much below `raw` (so about as many ticks as asked). */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5]) if (m * p >= raw * 0.75) return m * p;
  return 10 * p;
}

/** Multiples of `step` inside [lo, hi], as integer multiples so 0.1 + 0.2 drift cannot add or drop one. */
function ticksOf(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k <= Math.floor(hi / step + 1e-9); k++) out.push(k * step);
  return out;
}

/** Tick label: fixed-point with just enough decimals for the step, or 1.2e-3 style for tiny/huge values. */
function formatTick(v: number, step: number, exponential: boolean): string {
  if (Math.abs(v) < step * 1e-6) return '0';
  if (exponential || step < 1e-3 || Math.abs(v) >= 1e5) {
    const digits = Math.min(3, Math.max(0, Math.floor(Math.log10(Math.abs(v))) - Math.floor(Math.log10(step))));
    return v.toExponential(digits);
  }
  return v.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

/** The data range widened a little, so points never sit on the frame; a flat series gets a band around it. */
function paddedRange(values: readonly number[]): [number, number] {
  const lo = Math.min(...values), hi = Math.max(...values);
  const span = hi - lo;
  if (span <= Math.abs(hi) * 1e-9) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - pad, hi + pad];
  }
  return [lo - span * 0.08, hi + span * 0.08];
}

interface Panel {
  title: string;
  points: { x: number; y: number }[];
  exponential: boolean;
  /** Shown instead of a curve when the series has no points. */
  empty: string;
}

interface Rect { x: number; y: number; w: number; h: number }

function drawPanel(cv: Canvas, r: Rect, panel: Panel, xRange: [number, number]): void {
  const s = cv.s, charH = GLYPH_H * s;
  cv.text(r.x + (r.w - cv.textWidth(panel.title)) / 2, r.y + 4 * s, panel.title);

  const hasData = panel.points.length > 0;
  const [ylo, yhi] = hasData ? paddedRange(panel.points.map((p) => p.y)) : [0, 1];
  const yStep = niceStep((yhi - ylo) / 5);
  const yTicks = hasData ? ticksOf(ylo, yhi, yStep).map((v) => ({ v, label: formatTick(v, yStep, panel.exponential) })) : [];
  const labelW = Math.max(0, ...yTicks.map((t) => cv.textWidth(t.label)));

  // Frame of the plot area: room for y labels on the left, the title above, x labels below.
  const left = r.x + 6 * s + labelW + 4 * s;
  const right = r.x + r.w - 10 * s;
  const top = r.y + 4 * s + charH + 5 * s;
  const bottom = r.y + r.h - charH - 10 * s;
  // Inset so a marker at the edge of the range is drawn whole, not cut by the axis.
  const inset = 4 * s;
  const [xlo, xhi] = xRange;
  const px = (x: number) => left + inset + ((x - xlo) / (xhi - xlo)) * (right - left - 2 * inset);
  const py = (y: number) => bottom - inset - ((y - ylo) / (yhi - ylo)) * (bottom - top - 2 * inset);

  const xDigits = String(Math.round(Math.max(Math.abs(xlo), Math.abs(xhi)))).length;
  const maxXTicks = Math.max(1, Math.min(6, Math.floor((right - left) / ((xDigits + 3) * CELL_W * s))));
  const xStep = Math.max(1, niceStep((xhi - xlo) / maxXTicks));
  const xTicks = ticksOf(xlo, xhi, xStep);

  for (const x of xTicks) cv.line(px(x), top, px(x), bottom, GRID);
  for (const t of yTicks) cv.line(left, py(t.v), right, py(t.v), GRID);
  cv.line(left, top, left, bottom, AXIS, s);
  cv.line(left, bottom, right, bottom, AXIS, s);
  for (const x of xTicks) {
    const label = String(Math.round(x));
    cv.line(px(x), bottom, px(x), bottom + 3 * s, AXIS, s);
    cv.text(px(x) - cv.textWidth(label) / 2, bottom + 5 * s, label);
  }
  for (const t of yTicks) {
    cv.line(left - 3 * s, py(t.v), left, py(t.v), AXIS, s);
    cv.text(left - 5 * s - cv.textWidth(t.label), py(t.v) - charH / 2, t.label);
  }

  if (!hasData) {
    cv.text((left + right - cv.textWidth(panel.empty)) / 2, (top + bottom - charH) / 2, panel.empty);
    return;
  }
  const pts = panel.points.map((p) => [px(p.x), py(p.y)] as const);
  for (let i = 1; i < pts.length; i++) cv.line(pts[i - 1][0], pts[i - 1][1], pts[i][0], pts[i][1], LINE, s);
  const m = 2 * s;
  for (const [x, y] of pts) cv.fillRect(Math.round(x) - m, Math.round(y) - m, 2 * m + 1, 2 * m + 1, LINE);
}

function validate(epochs: readonly PlotEpoch[], opts: PlotOptions): { width: number; height: number } {
  if (epochs.length === 0) throw new ArgumentError('plot', 'no epochs to plot');
  epochs.forEach((e, i) => {
    if (!Number.isFinite(e.epoch)) throw new ArgumentError('plot', `entry ${i}: epoch is ${e.epoch}`);
    for (const key of ['meanLoss', 'meanAccuracy', 'lr'] as const) {
      if (!Number.isFinite(e[key])) throw new ArgumentError('plot', `epoch ${e.epoch}: ${key} is ${e[key]}`);
    }
    if (e.knnTop1 !== null && !Number.isFinite(e.knnTop1)) throw new ArgumentError('plot', `epoch ${e.epoch}: knnTop1 is ${e.knnTop1}`);
    const prev = epochs[i - 1];
    if (prev && !(e.epoch > prev.epoch)) throw new ArgumentError('plot', `epoch ${e.epoch} does not increase (follows epoch ${prev.epoch})`);
  });
  const width = opts.width ?? 800, height = opts.height ?? 600;
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 200 || v > 8192) throw new ArgumentError('plot', `${name} must be an integer in [200, 8192], got ${v}`);
  }
  return { width, height };
}

/** PNG bytes: a 2x2 grid of panels (loss, contrastive accuracy %, kNN top-1 %, learning rate) against epoch. */
export function renderTrainingPlot(epochs: readonly PlotEpoch[], opts: PlotOptions = {}): Buffer {
  const { width, height } = validate(epochs, opts);
  // Text and strokes grow with the image so labels stay legible at large sizes (2 at 800x600).
  const s = Math.max(1, Math.floor(Math.min(width, height) / 300));
  const cv = new Canvas(width, height, s);

  let top = 0;
  if (opts.title) {
    cv.text((width - cv.textWidth(opts.title)) / 2, 4 * s, opts.title);
    top = GLYPH_H * s + 8 * s;
  }

  const first = epochs[0].epoch, last = epochs[epochs.length - 1].epoch;
  // One epoch has no extent; centre it in a range of width 2 so it still gets a marker and ticks.
  const xRange: [number, number] = first === last ? [first - 1, last + 1] : [first, last];
  const series = (f: (e: PlotEpoch) => number | null) =>
    epochs.flatMap((e) => { const y = f(e); return y === null ? [] : [{ x: e.epoch, y }]; });
  const panels: Panel[] = [
    { title: 'loss', points: series((e) => e.meanLoss), exponential: false, empty: 'no loss' },
    { title: 'contrastive acc %', points: series((e) => e.meanAccuracy * 100), exponential: false, empty: 'no accuracy' },
    { title: 'kNN top-1 %', points: series((e) => (e.knnTop1 === null ? null : e.knnTop1 * 100)), exponential: false, empty: 'no kNN monitor' },
    { title: 'learning rate', points: series((e) => e.lr), exponential: true, empty: 'no lr' },
  ];
  const pw = Math.floor(width / 2), ph = Math.floor((height - top) / 2);
  panels.forEach((p, i) => drawPanel(cv, { x: (i % 2) * pw, y: top + Math.floor(i / 2) * ph, w: pw, h: ph }, p, xRange));
  return PNG.sync.write(cv.png);
}

/** Renders and writes atomically (writeFileAtomic from nn/safetensors.ts), so a reader never sees half a file. */
export async function writeTrainingPlot(path: string, epochs: readonly PlotEpoch[], opts?: PlotOptions): Promise<void> {
  await writeFileAtomic(path, renderTrainingPlot(epochs, opts));
}
