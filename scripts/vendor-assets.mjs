// Copies the browser assets the service serves into dist/assets (run by `npm run build`), so the
// production image needs neither the redoc package nor its React, MobX and core-js at run time
// (about 65 MB). ReDoc's bundle fetches its footer logo from cdn.redoc.ly; the copy carries the
// logo inline instead, so the docs load nothing from another host (and work air-gapped).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const CDN_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
const INLINE_LOGO =
  'data:image/svg+xml;base64,' +
  Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><circle cx="8" cy="8" r="7" fill="#32329f"/></svg>').toString('base64');

const bundle = readFileSync(require.resolve('redoc/bundles/redoc.standalone.js'), 'utf8');
const occurrences = bundle.split(CDN_LOGO).length - 1;
if (occurrences !== 1) {
  console.error(`vendor-assets: expected ReDoc's CDN logo URL once in the bundle, found it ${occurrences} times; check the redoc update`);
  process.exit(1);
}
const target = new URL('../dist/assets/', import.meta.url);
mkdirSync(target, { recursive: true });
writeFileSync(new URL('redoc.standalone.js', target), bundle.replace(CDN_LOGO, INLINE_LOGO));
