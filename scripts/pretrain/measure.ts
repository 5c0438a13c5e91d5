// Moved to src/demo/measure.ts (the demo uses it too; library code may not import scripts/).
export * from '../../src/demo/measure.ts';
