// A progress bar on stderr (cli-progress) for long dataset passes; silent when asked, so tests
// and `--json` output stay clean.
import cliProgress from 'cli-progress';

export interface Progress {
  tick(n?: number): void;
  stop(): void;
}

export type ProgressOption = boolean | undefined;

const silent: Progress = { tick() {}, stop() {} };

/** `show` defaults to "stderr is a terminal". */
export function progressBar(label: string, total: number, show?: ProgressOption): Progress {
  if (!(show ?? process.stderr.isTTY) || total === 0) return silent;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | {duration_formatted} | eta {eta_formatted}`,
      stream: process.stderr,
      hideCursor: null,
      clearOnComplete: false,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 5000,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick(n = 1) {
      bar.increment(n);
    },
    stop() {
      bar.stop();
    },
  };
}
