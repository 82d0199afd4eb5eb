import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';

const require = createRequire(import.meta.url);
const REDOC_BUNDLE = require.resolve('redoc/bundles/redoc.standalone.js');

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
}

/**
 * OpenAPI 3 generated from the routes' TypeBox schemas, Swagger UI at /docs and ReDoc at /redoc.
 * Every asset comes from npm packages, so the docs work on air-gapped deployments.
 */
export default fp<DocsPluginOptions>(
  async (app, { version }) => {
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
        ],
        components: {
          securitySchemes: {
            adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN, for the /admin routes.' },
          },
        },
      },
      // Components are named after each schema's $id, so the docs read "CustomerFeatures", not "def-0".
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => String(json.$id ?? `def-${index}`) },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });

    const redocScript = await readFile(REDOC_BUNDLE);
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    app.get('/redoc', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(REDOC_PAGE));
    app.get('/redoc/redoc.standalone.js', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('application/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(redocScript),
    );
  },
  { name: 'docs' },
);
