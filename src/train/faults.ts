// Faults the loop handles: Ctrl-C / SIGTERM (finish the current optimizer step, save adapter and
// state, exit cleanly; a second signal exits at once) and a loss that is not finite.

export class Interrupt {
  requested: NodeJS.Signals | undefined;
  private readonly handler = (sig: NodeJS.Signals) => {
    if (this.requested) {
      process.stderr.write(`\nlyco: ${sig} again: exiting without saving\n`);
      process.exit(130);
    }
    this.requested = sig;
    process.stderr.write(`\nlyco: ${sig}: saving after the current step (press again to exit without saving)\n`);
  };

  install(): this {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
    return this;
  }

  uninstall(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}

/** Thrown when a micro-batch's loss is NaN or infinite; nothing is saved after the last good save. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly epoch: number,
    readonly loss: number,
    readonly lastSave: string | undefined,
  ) {
    super(
      `loss is ${loss} at step ${step} (epoch ${epoch}): training stopped, nothing saved after step ${step - 1}; ` +
        (lastSave ? `last good save: ${lastSave}` : 'no save was made before it') +
        ' — lower the learning rate / d_coef, or check the data and mixed precision',
    );
    this.name = 'NonFiniteLossError';
  }
}

/** Lets signals, timers and finalizers run between steps of the synchronous loop. */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
