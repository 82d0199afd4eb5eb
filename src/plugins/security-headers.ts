import helmet from '@fastify/helmet';
import fp from 'fastify-plugin';

/**
 * Security headers on every response (nosniff, frame and referrer policies, HSTS...), and a
 * content security policy under which Swagger UI and ReDoc work while no page may load anything
 * from another host. Both UIs are served from this service; ReDoc needs inline styles (its
 * styled-components), a blob: worker for search and data: images (its inlined logo).
 */
export default fp(
  async (app) => {
    await app.register(helmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          baseUri: ["'self'"],
          scriptSrc: ["'self'"],
          scriptSrcAttr: ["'none'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          workerSrc: ["'self'", 'blob:'],
          objectSrc: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      // The docs are same-origin pages; cross-origin isolation headers would only break embedding them.
      crossOriginEmbedderPolicy: false,
    });
  },
  { name: 'security-headers' },
);
