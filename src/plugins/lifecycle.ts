import fp from 'fastify-plugin';

export interface Lifecycle {
  /** True from the shutdown signal on: readiness fails and connections are not kept alive. */
  readonly draining: boolean;
  startDraining(): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: Lifecycle;
  }
}

/**
 * Tracks whether the service is draining. While it is, every response carries
 * `Connection: close`, so keep-alive clients leave after their answer instead of sending
 * another request into a connection that is about to close.
 */
export default fp(
  async (app) => {
    let draining = false;
    app.decorate('lifecycle', {
      get draining() {
        return draining;
      },
      startDraining() {
        draining = true;
      },
    });
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (draining) reply.header('connection', 'close');
      done(null, payload);
    });
  },
  { name: 'lifecycle' },
);
