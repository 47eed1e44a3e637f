export * from './common.ts';
export * from './adapters.ts';
export * from './system.ts';
