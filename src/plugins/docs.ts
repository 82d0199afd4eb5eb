import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { needsApiKey, type Access } from './access.js';

const require = createRequire(import.meta.url);

/**
 * ReDoc's browser bundle: the copy `npm run build` puts in dist/assets (inline footer logo, no
 * redoc package needed at run time), or, running from the TypeScript sources in development and
 * tests, the package's own bundle.
 */
async function redocBundle(): Promise<Buffer> {
  try {
    return await readFile(new URL('../assets/redoc.standalone.js', import.meta.url));
  } catch {
    return readFile(require.resolve('redoc/bundles/redoc.standalone.js'));
  }
}

const REDOC_PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Churn prediction API - ReDoc</title>
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="/openapi.json"></redoc>
    <script src="/redoc/redoc.standalone.js"></script>
  </body>
</html>
`;

export interface DocsPluginOptions {
  version: string;
  /** Routes need an API key, but the probes, the docs and /metrics (API_KEYS is set). */
  apiKeys: boolean;
  /** /metrics needs one too (PROTECT_OPS). */
  protectOps: boolean;
  /** The /admin routes exist, behind their own bearer token (ADMIN_TOKEN is set). */
  adminToken: boolean;
}

/** The header the access plugin reads an API key from, besides `Authorization: Bearer`. */
const API_KEY_HEADER = 'X-API-Key';

const API_KEY_SCHEMES = {
  apiKeyHeader: { type: 'apiKey', in: 'header', name: API_KEY_HEADER, description: 'One of API_KEYS, for the prediction routes.' },
  apiKeyBearer: { type: 'http', scheme: 'bearer', description: `One of API_KEYS, as a bearer token (the same keys as ${API_KEY_HEADER}).` },
} as const;
const ADMIN_SCHEMES = {
  adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN, for the /admin routes.' },
} as const;

/** An API key in either form, as OpenAPI `security`. */
const API_KEY_SECURITY: Record<string, string[]>[] = [{ apiKeyHeader: [] }, { apiKeyBearer: [] }];
const ADMIN_SECURITY: Record<string, string[]>[] = [{ adminToken: [] }];

/**
 * The page's introduction (Markdown, shown by Swagger UI and ReDoc): what every caller needs
 * before the first call. Credentials are mentioned only when this server asks for them.
 */
function apiDescription({ apiKeys, protectOps, adminToken }: Omit<DocsPluginOptions, 'version'>): string {
  const open = protectOps ? 'the probes and the docs' : 'the probes, the docs and `/metrics`';
  return [
    'Scores customers for churn risk with an ONNX model. Used by the product dashboard, the CRM ' +
      '(which starts a retention workflow above 80 % risk) and the mobile app.',
    ...(apiKeys
      ? [
          `**API keys.** Send one of the service's keys as \`${API_KEY_HEADER}: <key>\` or \`Authorization: Bearer <key>\` ` +
            `on every operation that lists an authorization (a lock in Swagger UI); ${open} need none. Otherwise: 401.`,
        ]
      : []),
    ...(adminToken ? ['**Admin.** `/admin` routes take the admin token as `Authorization: Bearer <token>`.'] : []),
    "**Errors.** A body or query that breaks the schema gets 422 with FastAPI's `detail` list: one entry per problem " +
      '(`type`, `loc`, `msg`, `input`), at most 20. Other errors carry their message in `message` and again in `detail`. ' +
      'Under `/v2` (Open Inference Protocol) every error is `{"error": "..."}`.',
    '**Explanations.** `?explain=true` on `/predict` and `/predict/batch` adds exact SHAP values and the top reasons to each ' +
      'prediction; leave it out (or `false`) for the prediction alone. `GET /model` says whether the served model can be explained.',
  ].join('\n\n');
}

/**
 * OpenAPI 3 generated from the routes' TypeBox schemas, Swagger UI at /docs and ReDoc at /redoc.
 * Every asset comes from npm packages, so the docs work on air-gapped deployments.
 */
export default fp<DocsPluginOptions>(
  async (app, { version, apiKeys, protectOps, adminToken }) => {
    // Each route's security follows the same `access` the access plugin enforces, so the docs
    // (and Swagger UI's Authorize) can never disagree with what the service checks.
    const securityFor = (access: Access | undefined) => {
      if (access === 'admin') return ADMIN_SECURITY;
      if (apiKeys && needsApiKey(access, protectOps)) return API_KEY_SECURITY;
      return undefined;
    };
    // Only the schemes this server checks: Authorize offering a key nobody asks for would
    // send callers looking for one.
    const securitySchemes = { ...(apiKeys ? API_KEY_SCHEMES : {}), ...(adminToken ? ADMIN_SCHEMES : {}) };
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Churn prediction API',
          description: apiDescription({ apiKeys, protectOps, adminToken }),
          version,
        },
        tags: [
          { name: 'predictions', description: 'Churn predictions' },
          { name: 'outcomes', description: 'What became of customers, posted by the CRM and joined to their predictions (needs PREDICTION_LOG=true)' },
          { name: 'operations', description: 'Probes, metrics and model reload, for orchestrators and operators' },
          {
            name: 'open-inference',
            description:
              'The Open Inference Protocol (KServe V2) REST endpoints, for KServe, Triton and MLServer clients: the same model, ' +
              'micro-batcher, feature ranges, API keys and rate limits as the churn API. Errors are {"error": "..."}.',
          },
        ],
        ...(Object.keys(securitySchemes).length > 0 ? { components: { securitySchemes } } : {}),
      },
      transform: ({ schema, url, route }) => {
        const security = securityFor(route.config?.access);
        return { schema: security && schema ? ({ ...schema, security } as typeof schema) : schema, url };
      },
      // Components are named after each schema's $id, so the docs read "CustomerFeatures", not "def-0".
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => String(json.$id ?? `def-${index}`) },
    });
    // The docs load without a key, whatever PROTECT_OPS says: the page reveals no more than the
    // document does, and Swagger UI asks for a key only to try a call. Swagger UI's own routes
    // (page, assets, its copy of the document) are marked as they are added.
    const docsRoute = { access: 'docs' as const };
    await app.register(async (docsScope) => {
      docsScope.addHook('onRoute', (route) => {
        route.config = { ...route.config, ...docsRoute };
      });
      // No validator badge: it would send the document to validator.swagger.io.
      await docsScope.register(swaggerUi, { routePrefix: '/docs', uiConfig: { validatorUrl: null } });
    });

    const redocScript = await redocBundle();
    // Browsers ask for /favicon.ico on every docs page; Swagger UI's icon answers it.
    const favicon = await readFile(require.resolve('@fastify/swagger-ui/static/favicon-32x32.png'));
    app.get('/favicon.ico', { config: docsRoute, schema: { hide: true } }, async (_request, reply) =>
      reply.type('image/png').header('cache-control', 'public, max-age=86400').send(favicon),
    );
    app.get('/openapi.json', { config: docsRoute, schema: { hide: true } }, async () => app.swagger());
    // Both spellings, as Swagger UI answers /docs and /docs/: the page's URLs are absolute.
    for (const url of ['/redoc', '/redoc/']) {
      app.get(url, { config: docsRoute, schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(REDOC_PAGE));
    }
    // The service has no home page: a browser pointed at the bare host lands on the docs.
    app.get('/', { config: docsRoute, schema: { hide: true } }, async (_request, reply) => reply.redirect('/docs', 302));
    app.get('/redoc/redoc.standalone.js', { config: docsRoute, schema: { hide: true } }, async (_request, reply) =>
      reply.type('application/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(redocScript),
    );
  },
  { name: 'docs' },
);
