// The reader thread loaded through tsx (a plain JavaScript file, so it starts without a loader): used only when the
// reader could not be bundled (reader-bundle.ts), at the cost of loading the TypeScript sources in every thread.
import { register } from 'tsx/esm/api';

register();
await import('./analyse.worker.ts');
