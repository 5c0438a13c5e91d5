// Moved to src/demo/generate.ts (the demo uses it too; library code may not import scripts/).
export * from '../../src/demo/generate.ts';
