/**
 * Training plot: the PNG decodes at the asked size, every panel draws its series where it should
 * (decreasing loss goes down, increasing accuracy goes up), single epochs and missing kNN values
 * render, the title is drawn, bad input is refused by name, and the file is written atomically.
 * Pixels are classified by colour: the series is the only blue ink, text and axes the only dark ink.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { ArgumentError } from '../engine/errors.js';
import { renderTrainingPlot, writeTrainingPlot, type PlotEpoch } from '../simclr/plot.js';

const dir = mkdtempSync(join(tmpdir(), 'plot-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Pred = (r: number, g: number, b: number) => boolean;
const isLine: Pred = (r, _g, b) => b - r > 80;
const isDark: Pred = (r, g, b) => Math.max(r, g, b) < 100;

interface Box { x0: number; y0: number; x1: number; y1: number }

/** Pixels in `box` (fractions of the image, [x0, x1) x [y0, y1)) matching `pred`. */
function pixels(png: PNG, box: Box, pred: Pred): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  const [xa, xb] = [Math.floor(box.x0 * png.width), Math.floor(box.x1 * png.width)];
  const [ya, yb] = [Math.floor(box.y0 * png.height), Math.floor(box.y1 * png.height)];
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      const o = (y * png.width + x) * 4;
      if (pred(png.data[o], png.data[o + 1], png.data[o + 2])) out.push({ x, y });
    }
  }
  return out;
}

/** Panel quadrants of an image without an overall title. */
const PANELS = {
  loss: { x0: 0, y0: 0, x1: 0.5, y1: 0.5 },
  acc: { x0: 0.5, y0: 0, x1: 1, y1: 0.5 },
  knn: { x0: 0, y0: 0.5, x1: 0.5, y1: 1 },
  lr: { x0: 0.5, y0: 0.5, x1: 1, y1: 1 },
};

function run(n: number, knn: (i: number) => number | null = (i) => 0.1 + 0.01 * i): PlotEpoch[] {
  return Array.from({ length: n }, (_, i) => ({
    epoch: i + 1, meanLoss: 6 - 0.1 * i, meanAccuracy: 0.1 + 0.02 * i, knnTop1: knn(i), lr: 1e-3 * (1 + i),
  }));
}

const decode = (buf: Buffer) => PNG.sync.read(buf);
const meanY = (ps: { y: number }[]) => ps.reduce((a, p) => a + p.y, 0) / ps.length;

/** Mean y of curve pixels in the left and right quarter of the curve's horizontal extent. */
function leftRightY(png: PNG, box: Box): { left: number; right: number } {
  const ps = pixels(png, box, isLine);
  const xs = ps.map((p) => p.x);
  const lo = Math.min(...xs), hi = Math.max(...xs), q = (hi - lo) / 4;
  return { left: meanY(ps.filter((p) => p.x < lo + q)), right: meanY(ps.filter((p) => p.x > hi - q)) };
}

describe('renderTrainingPlot', () => {
  it('decodes at the default and at a requested size', () => {
    const a = decode(renderTrainingPlot(run(5)));
    expect([a.width, a.height]).toEqual([800, 600]);
    const b = decode(renderTrainingPlot(run(5), { width: 640, height: 480 }));
    expect([b.width, b.height]).toEqual([640, 480]);
    // White background: the corner pixel is not ink.
    expect([...b.data.subarray(0, 4)]).toEqual([255, 255, 255, 255]);
  });

  it('draws a curve in each of the four panels', () => {
    const png = decode(renderTrainingPlot(run(10)));
    for (const [name, box] of Object.entries(PANELS)) {
      expect(pixels(png, box, isLine).length, name).toBeGreaterThan(50);
    }
  });

  it('puts a decreasing loss higher on the left and an increasing accuracy higher on the right', () => {
    const png = decode(renderTrainingPlot(run(20)));
    const loss = leftRightY(png, PANELS.loss);
    expect(loss.left).toBeLessThan(loss.right - 50);
    const acc = leftRightY(png, PANELS.acc);
    expect(acc.left).toBeGreaterThan(acc.right + 50);
  });

  it('marks a single epoch', () => {
    const png = decode(renderTrainingPlot(run(1)));
    for (const [name, box] of Object.entries(PANELS)) {
      const ps = pixels(png, box, isLine);
      const w = Math.max(...ps.map((p) => p.x)) - Math.min(...ps.map((p) => p.x)) + 1;
      const h = Math.max(...ps.map((p) => p.y)) - Math.min(...ps.map((p) => p.y)) + 1;
      // A filled square marker, not a stray pixel.
      expect([w, h, ps.length], name).toEqual([w, w, w * w]);
      expect(w, name).toBeGreaterThanOrEqual(3);
    }
  });

  it('skips null kNN values, and says so when there are none', () => {
    // The message sits in the middle of the kNN plot area, where neither ticks nor curve are.
    const middle = { x0: 0.15, y0: 0.7, x1: 0.4, y1: 0.8 };
    const none = decode(renderTrainingPlot(run(6, () => null)));
    expect(pixels(none, PANELS.knn, isLine)).toEqual([]);
    expect(pixels(none, middle, isDark).length).toBeGreaterThan(20);
    expect(pixels(none, PANELS.loss, isLine).length).toBeGreaterThan(50);

    const some = decode(renderTrainingPlot(run(6)));
    expect(pixels(some, middle, isDark)).toEqual([]);

    // A kNN value every third epoch: the points are joined into a curve.
    const sparse = decode(renderTrainingPlot(run(9, (i) => (i % 3 === 2 ? 0.2 + 0.05 * i : null))));
    const knnInk = pixels(sparse, PANELS.knn, isLine).length;
    expect(knnInk).toBeGreaterThan(50);
    expect(pixels(sparse, middle, isDark)).toEqual([]);
  });

  it('draws the title at the top when one is given', () => {
    const band = { x0: 0.4, y0: 0, x1: 0.6, y1: 0.04 };
    expect(pixels(decode(renderTrainingPlot(run(3))), band, isDark)).toEqual([]);
    expect(pixels(decode(renderTrainingPlot(run(3), { title: 'SimCLR run' })), band, isDark).length).toBeGreaterThan(20);
  });

  it('draws constant series without dividing by zero', () => {
    const flat = run(5).map((e) => ({ ...e, meanLoss: 2, meanAccuracy: 0, lr: 0 }));
    const png = decode(renderTrainingPlot(flat));
    for (const name of ['loss', 'acc', 'lr'] as const) {
      const ps = pixels(png, PANELS[name], isLine);
      expect(ps.length, name).toBeGreaterThan(50);
      // A flat series is one horizontal band: markers and a line of height at most the marker size.
      expect(Math.max(...ps.map((p) => p.y)) - Math.min(...ps.map((p) => p.y)), name).toBeLessThan(10);
    }
  });

  const bad: [string, PlotEpoch[], RegExp][] = [
    ['no epochs', [], /plot: no epochs/],
    ['NaN loss', run(3).map((e) => (e.epoch === 2 ? { ...e, meanLoss: NaN } : e)), /plot: epoch 2: meanLoss is NaN/],
    ['infinite accuracy', run(3).map((e) => (e.epoch === 3 ? { ...e, meanAccuracy: Infinity } : e)), /plot: epoch 3: meanAccuracy is Infinity/],
    ['NaN lr', run(3).map((e) => (e.epoch === 1 ? { ...e, lr: NaN } : e)), /plot: epoch 1: lr is NaN/],
    ['NaN kNN', run(3).map((e) => (e.epoch === 2 ? { ...e, knnTop1: NaN } : e)), /plot: epoch 2: knnTop1 is NaN/],
    ['repeated epoch', run(3).map((e) => (e.epoch === 3 ? { ...e, epoch: 2 } : e)), /plot: epoch 2 does not increase \(follows epoch 2\)/],
    ['decreasing epoch', run(3).map((e) => (e.epoch === 3 ? { ...e, epoch: 1 } : e)), /plot: epoch 1 does not increase \(follows epoch 2\)/],
  ];
  for (const [name, epochs, message] of bad) {
    it(`refuses ${name}`, () => {
      expect(() => renderTrainingPlot(epochs)).toThrow(ArgumentError);
      expect(() => renderTrainingPlot(epochs)).toThrow(message);
    });
  }

  it('refuses unusable sizes', () => {
    expect(() => renderTrainingPlot(run(2), { width: 50 })).toThrow(/plot: width must be an integer/);
    expect(() => renderTrainingPlot(run(2), { height: 300.5 })).toThrow(/plot: height must be an integer/);
  });
});

describe('writeTrainingPlot', () => {
  it('writes a decodable PNG, replaces an old one, and leaves no temporary file', async () => {
    const path = join(dir, 'train.png');
    await writeTrainingPlot(path, run(2), { width: 400, height: 300 });
    await writeTrainingPlot(path, run(4));
    const png = decode(readFileSync(path));
    expect([png.width, png.height]).toEqual([800, 600]);
    expect(readdirSync(dir)).toEqual(['train.png']);
  });
});
