#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: there is no separate server build to keep in step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
