// Copies the prediction log's SQL migrations beside the compiled store (run by `npm run build`):
// tsc compiles only TypeScript, and the stores read their migrations from ./migrations next to them.
import { cpSync } from 'node:fs';

cpSync(new URL('../src/prediction-log/migrations/', import.meta.url), new URL('../dist/prediction-log/migrations/', import.meta.url), {
  recursive: true,
});
