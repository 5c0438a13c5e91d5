// lyco's library API: `import { torch, safetensors } from 'lyco'`.

export * as optim from './optim/index.ts';
export * as torch from './torch/index.ts';
export * as safetensors from './torch/safetensors.ts';
