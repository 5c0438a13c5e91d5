// Noise schedule, training targets and preview samplers.
export { type DDIMOptions, DDIMScheduler, type StepResult } from './ddim.ts';
export { DDPMScheduler } from './ddpm.ts';
export { EulerAncestralScheduler } from './euler-ancestral.ts';
export { type ModelFn, type SampleOptions, type Sampler, sample } from './sample.ts';
export { makeBetas, NoiseSchedule, type PredictionType, type ScheduleConfig, zeroTerminalSnrBetas } from './schedule.ts';
export { roundHalfEven, spacedTimesteps, type TimestepSpacing } from './timesteps.ts';
