import fp from 'fastify-plugin';
import { apiKeys, type Config } from '../config.js';
import { Credentials, presentedKey } from '../auth/credentials.js';
import { UnauthorizedError } from '../errors.js';

export type Access = 'inference' | 'ops' | 'probe' | 'docs' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Who may call the route, once API_KEYS is set: `inference` (the default, so a new route is
     * closed until it says otherwise) needs an API key; `ops` (/metrics, for scrapers) needs one
     * only with PROTECT_OPS; `probe` and `docs` never do (orchestrators and browsers call them
     * without one, and they reveal nothing); `admin` checks its own token (ADMIN_TOKEN).
     */
    access?: Access;
  }
}

/**
 * Whether a route of this access needs one of API_KEYS, once some are set: the one rule the
 * hook below enforces and the OpenAPI document declares.
 */
export function needsApiKey(access: Access | undefined, protectOps: boolean): boolean {
  switch (access ?? 'inference') {
    case 'inference':
      return true;
    case 'ops':
      return protectOps;
    case 'probe':
    case 'docs':
    case 'admin':
      return false;
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
const REALM = 'churn-service';

/**
 * The API-key check for every route, in one place. Every route needs one of API_KEYS, as
 * `Authorization: Bearer <key>` or `X-API-Key: <key>` (the model card, drift and protocol
 * metadata included), but the probes and the docs, which never do (a HEALTHCHECK or a kubelet
 * sends no key), and /metrics, which needs one only with PROTECT_OPS=true. Keys are compared in
 * constant time; listing an old and a new key together rotates them. /admin routes have their
 * own token (ADMIN_TOKEN). Without API_KEYS no hook is installed at all.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const keys = new Credentials(apiKeys(config));
    if (keys.size === 0) {
      if (!LOOPBACK.test(config.HOST)) {
        app.log.warn(`API_KEYS is not set: anyone who can reach ${config.HOST}:${config.PORT} gets predictions.`);
      }
      return;
    }
    const protectOps = config.PROTECT_OPS;
    app.addHook('onRequest', (request, _reply, done) => {
      // Unknown routes answer 404 whoever asks; every known route says what it needs.
      if (request.is404) return done();
      if (!needsApiKey(request.routeOptions.config.access, protectOps)) return done();
      const presented = presentedKey(request.headers);
      if (keys.accepts(presented)) return done();
      done(new UnauthorizedError('A valid API key is required: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>".', REALM, 'API key', presented !== undefined));
    });
  },
  { name: 'access' },
);
