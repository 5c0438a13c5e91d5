// The alpha rule shared by kohya and every LyCORIS version: alpha None or 0 means alpha = dim
// (scale 1); scale = alpha / dim.
export function resolveAlpha(alpha: number | null | undefined, dim: number): number {
  return alpha === null || alpha === undefined || alpha === 0 ? dim : alpha;
}
