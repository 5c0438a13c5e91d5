// The progress line: optimizer steps done / planned, loss (moving average), d*lr, it/s, ETA.
import cliProgress from 'cli-progress';

export class TrainProgress {
  private readonly bar?: cliProgress.SingleBar;
  private readonly t0 = performance.now();
  private startStep = 0;

  constructor(total: number, start: number, enabled: boolean) {
    this.startStep = start;
    if (!enabled) return;
    this.bar = new cliProgress.SingleBar(
      {
        format: 'steps |{bar}| {value}/{total} | epoch {epoch} | loss {loss} | d*lr {dlr} | {ips} it/s | ETA {eta_formatted}',
        noTTYOutput: true,
        notTTYSchedule: 10000,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, start, { epoch: '-', loss: '-', dlr: '-', ips: '-' });
  }

  update(step: number, o: { epoch: number; loss: number; dLr?: number }): void {
    if (!this.bar) return;
    const secs = (performance.now() - this.t0) / 1000;
    const ips = secs > 0 ? (step - this.startStep) / secs : 0;
    this.bar.update(step, {
      epoch: o.epoch,
      loss: o.loss.toFixed(4),
      dlr: o.dLr === undefined ? '-' : o.dLr.toExponential(2),
      ips: ips.toFixed(2),
    });
  }

  setTotal(total: number): void {
    this.bar?.setTotal(total);
  }

  stop(): void {
    this.bar?.stop();
  }
}
