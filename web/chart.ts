/**
 * The live chart: four panels (loss, contrastive accuracy, kNN top-1, learning rate) on one
 * canvas, steps on the x axis; loss and accuracy per step with a running mean, kNN per epoch.
 */
/** The parts of the trainer's step and epoch records the chart draws. */
export interface StepPoint { step: number; loss: number; accuracy: number; lr: number }
export interface EpochPoint { step: number; knnTop1: number | null }

interface Series { label: string; color: string; points: [number, number][]; dots?: boolean; percent?: boolean }

function smooth(points: [number, number][], k: number): [number, number][] {
  let acc = 0;
  return points.map(([x, y], i) => {
    acc += y;
    if (i >= k) acc -= points[i - k]![1];
    return [x, acc / Math.min(i + 1, k)];
  });
}

function panel(ctx: CanvasRenderingContext2D, x0: number, y0: number, w: number, h: number, title: string, series: Series[], xMax: number): void {
  ctx.strokeStyle = '#ccc'; ctx.lineWidth = 1; ctx.strokeRect(x0 + 0.5, y0 + 0.5, w - 1, h - 1);
  const all = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const pad = { l: 46, r: 8, t: 20, b: 18 };
  ctx.fillStyle = '#222'; ctx.font = '12px system-ui, sans-serif';
  const last = series[0]?.points.at(-1)?.[1];
  const fmt = (v: number) => (series[0]?.percent ? `${(100 * v).toFixed(1)} %` : Math.abs(v) < 0.01 && v !== 0 ? v.toExponential(2) : v.toFixed(3));
  ctx.fillText(`${title}${last !== undefined ? `: ${fmt(last)}` : ''}`, x0 + pad.l, y0 + 14);
  if (!all.length) return;
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi - lo < 1e-9) { lo -= 0.5 * Math.abs(lo) + 1e-3; hi += 0.5 * Math.abs(hi) + 1e-3; }
  const X = (x: number) => x0 + pad.l + (w - pad.l - pad.r) * (xMax > 0 ? x / xMax : 0);
  const Y = (y: number) => y0 + h - pad.b - (h - pad.t - pad.b) * ((y - lo) / (hi - lo));
  ctx.fillStyle = '#666'; ctx.font = '10px system-ui, sans-serif';
  ctx.fillText(fmt(hi), x0 + 2, Y(hi) + 4); ctx.fillText(fmt(lo), x0 + 2, Y(lo));
  ctx.fillText(`step ${xMax}`, x0 + w - pad.r - 50, y0 + h - 4);
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = 1.5;
    ctx.beginPath();
    s.points.forEach(([x, y], i) => { if (i === 0) ctx.moveTo(X(x), Y(y)); else ctx.lineTo(X(x), Y(y)); });
    ctx.stroke();
    if (s.dots) for (const [x, y] of s.points) { ctx.beginPath(); ctx.arc(X(x), Y(y), 3, 0, 2 * Math.PI); ctx.fill(); }
  }
}

export function drawChart(canvas: HTMLCanvasElement, steps: readonly StepPoint[], epochs: readonly EpochPoint[], totalSteps: number): void {
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const w = canvas.width / 2, h = canvas.height / 2;
  const k = Math.max(1, Math.round(steps.length / 20));
  const loss: [number, number][] = steps.map((s) => [s.step + 1, s.loss]);
  const acc: [number, number][] = steps.map((s) => [s.step + 1, s.accuracy]);
  const knn: [number, number][] = epochs.filter((e) => e.knnTop1 !== null).map((e) => [e.step, e.knnTop1!]);
  panel(ctx, 0, 0, w, h, 'NT-Xent loss', [{ label: 'mean', color: '#c33', points: smooth(loss, k) }, { label: 'step', color: '#e9a0a0', points: loss }], totalSteps);
  panel(ctx, w, 0, w, h, 'contrastive accuracy', [{ label: 'mean', color: '#36c', points: smooth(acc, k), percent: true }, { label: 'step', color: '#a8bde8', points: acc, percent: true }], totalSteps);
  panel(ctx, 0, h, w, h, 'kNN top-1 (each epoch)', [{ label: 'kNN', color: '#292', points: knn, dots: true, percent: true }], totalSteps);
  panel(ctx, w, h, w, h, 'learning rate', [{ label: 'lr', color: '#a60', points: steps.map((s) => [s.step + 1, s.lr]) }], totalSteps);
}

/** Draws images (planar RGB, values in [0, 1] or bytes when `bytes`) as a grid of tiles. */
export function drawTiles(canvas: HTMLCanvasElement, pixels: ArrayLike<number>, n: number, size: number, cols: number, scale: number, bytes = false): void {
  const ctx = canvas.getContext('2d')!;
  const rows = Math.ceil(n / cols);
  canvas.width = cols * (size * scale + 2);
  canvas.height = rows * (size * scale + 2);
  const img = ctx.createImageData(size, size);
  const tile = document.createElement('canvas');
  tile.width = tile.height = size;
  const tctx = tile.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  const px = size * size;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < px; p++) {
      for (let c = 0; c < 3; c++) {
        const v = pixels[i * 3 * px + c * px + p]!;
        img.data[4 * p + c] = bytes ? v : Math.max(0, Math.min(255, Math.round(v * 255)));
      }
      img.data[4 * p + 3] = 255;
    }
    tctx.putImageData(img, 0, 0);
    ctx.drawImage(tile, (i % cols) * (size * scale + 2) + 1, Math.floor(i / cols) * (size * scale + 2) + 1, size * scale, size * scale);
  }
}
