// Wall-clock time for metadata and file names. SOURCE_DATE_EPOCH (the reproducible-builds
// convention) pins it, so two runs of the same config write byte-identical adapter files.
export function nowSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const pinned = env.SOURCE_DATE_EPOCH;
  if (pinned !== undefined && /^\d+$/.test(pinned.trim())) return Number(pinned.trim());
  return Math.floor(Date.now() / 1000);
}

export function nowDate(env: NodeJS.ProcessEnv = process.env): Date {
  return new Date(nowSeconds(env) * 1000);
}
