// sd-scripts' LossRecorder (loss/average): during the first epoch the mean of every loss so far;
// afterwards a window of one epoch of micro-batch losses, slot `step` overwritten.
export interface LossRecorderState {
  losses: number[];
  sum: number;
}

export class LossRecorder {
  private losses: number[] = [];
  private sum = 0;

  /** epoch is 0-based, step the micro-batch index within the epoch. */
  add(epoch: number, step: number, loss: number): void {
    if (epoch === 0 || step >= this.losses.length) {
      this.losses.push(loss);
    } else {
      this.sum -= this.losses[step];
      this.losses[step] = loss;
    }
    this.sum += loss;
  }

  get average(): number {
    return this.losses.length ? this.sum / this.losses.length : 0;
  }

  state(): LossRecorderState {
    return { losses: [...this.losses], sum: this.sum };
  }

  load(s: LossRecorderState): void {
    this.losses = [...s.losses];
    this.sum = s.sum;
  }
}
