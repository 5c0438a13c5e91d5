// The `torch` namespace of lyco: PyTorch's API in camelCase over libtorch.
export * as cuda from './cuda.ts';
export { callOp, hasOp, schemas } from './dispatch.ts';
export type { DType, MemoryFormat } from './dtype.ts';
export * from './factories.ts';
export * as F from './functional.ts';
export { baddbmm, cat, chunk, einsum, kron, split, stack, where } from './functional.ts';
export * as ops from './generated/ops.ts';
export { autocast, enableGrad, isAutocastEnabled, isGradEnabled, noGrad } from './grad.ts';
export { gradcheck } from './gradcheck.ts';
export { externalBytes, keep, liveTensors, scope } from './lifetime.ts';
export { Generator, getRngState, manualSeed, setRngState } from './random.ts';
export { getNumThreads, info, profile, setNumThreads } from './runtime.ts';
export * as safetensors from './safetensors.ts';
export { type IndexItem, type Scalar, Tensor } from './tensor.ts';
