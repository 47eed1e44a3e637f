export * from './common.ts';
export * from './adapters.ts';
export * from './system.ts';
export * from './jobs.ts';
export * from './events.ts';
export * from './archive.ts';
export * from './generation.ts';
export * from './dashboard.ts';
