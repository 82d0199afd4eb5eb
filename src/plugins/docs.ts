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
}

/** An API key in either form, as OpenAPI `security`. */
const API_KEY_SECURITY: Record<string, string[]>[] = [{ apiKeyHeader: [] }, { apiKeyBearer: [] }];
const ADMIN_SECURITY: Record<string, string[]>[] = [{ adminToken: [] }];

/**
 * OpenAPI 3 generated from the routes' TypeBox schemas, Swagger UI at /docs and ReDoc at /redoc.
 * Every asset comes from npm packages, so the docs work on air-gapped deployments.
 */
export default fp<DocsPluginOptions>(
  async (app, { version, apiKeys, protectOps }) => {
    // Each route's security follows the same `access` the access plugin enforces, so the docs
    // (and Swagger UI's Authorize) can never disagree with what the service checks.
    const securityFor = (access: Access | undefined) => {
      if (access === 'admin') return ADMIN_SECURITY;
      if (apiKeys && needsApiKey(access, protectOps)) return API_KEY_SECURITY;
      return undefined;
    };
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Churn prediction API',
          description:
            'Scores customers for churn risk with an ONNX model. Used by the product dashboard, the CRM ' +
            '(which starts a retention workflow above 80 % risk) and the mobile app.',
          version,
        },
        tags: [
          { name: 'predictions', description: 'Churn predictions' },
          { name: 'operations', description: 'Probes, metrics and model reload, for orchestrators and operators' },
          {
            name: 'open-inference',
            description:
              'The Open Inference Protocol (KServe V2) REST endpoints, for KServe, Triton and MLServer clients: the same model, ' +
              'micro-batcher, feature ranges, API keys and rate limits as the churn API. Errors are {"error": "..."}.',
          },
        ],
        components: {
          securitySchemes: {
            apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'One of API_KEYS, for the prediction routes.' },
            apiKeyBearer: { type: 'http', scheme: 'bearer', description: 'One of API_KEYS, as a bearer token (the same keys as X-API-Key).' },
            adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN, for the /admin routes.' },
          },
        },
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
    app.get('/redoc', { config: docsRoute, schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(REDOC_PAGE));
    app.get('/redoc/redoc.standalone.js', { config: docsRoute, schema: { hide: true } }, async (_request, reply) =>
      reply.type('application/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(redocScript),
    );
  },
  { name: 'docs' },
);
