// Moved to src/demo/images.ts (the demo uses it too; library code may not import scripts/).
export * from '../../src/demo/images.ts';
