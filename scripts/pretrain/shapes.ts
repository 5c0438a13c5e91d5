// Moved to src/demo/shapes.ts (the demo uses it too; library code may not import scripts/).
export * from '../../src/demo/shapes.ts';
