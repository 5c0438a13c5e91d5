// DyLoRA maths. LyCORIS (algo=dylora): blocks of `blockSize` ranks; a step uses blocks 0..b with
// scale alpha/(b+1) (alpha over the number of blocks). kohya (networks.dylora): all ranks, scale
// (alpha/r)·sqrt(r/(t+unit)) for the drawn t. Files hold the concatenated up/down either way.
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import { fold } from '../layer.ts';

/** LyCORIS `get_weight(rank)`: blocks used = ceil(rank/blockSize) + 1 (capped at the count), scale alpha/(b+1) with uncapped b. */
export function dyloraLycorisBlocks(rank: number, blockSize: number, blockCount: number): { blocks: number; scaleDiv: number } {
  const b = Math.ceil(rank / blockSize);
  return { blocks: Math.min(b + 1, blockCount), scaleDiv: b + 1 };
}

/** ΔW from the first `blocks` blocks of up (out, r) and down (r, in·k·k): up[:, :n]·down[:n]·alpha/scaleDiv·m. */
export function dyloraDiff(
  up: Tensor,
  down: Tensor,
  blocks: number,
  blockSize: number,
  alpha: number,
  scaleDiv: number,
  multiplier: number,
  shape: number[],
): Tensor {
  return torch.scope(() => {
    const n = blocks * blockSize;
    const u = fold(up).narrow(1, 0, n);
    const d = fold(down).narrow(0, 0, n);
    return u
      .mm(d)
      .mul((alpha / scaleDiv) * multiplier)
      .reshape(shape);
  });
}

/** kohya's DyLoRA scale for a step that trains ranks [t, t+unit): (alpha/r)·sqrt(r/(t+unit)). */
export function dyloraKohyaScale(alpha: number, rank: number, t: number, unit: number): number {
  return (alpha / rank) * Math.sqrt(rank / (t + unit));
}
