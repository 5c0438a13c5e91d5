// Progress lines with the seconds since the run started (the README quotes these times).
export type Log = (msg: string) => void;

export function startLog(): Log {
  const t0 = performance.now();
  return (msg) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
}
