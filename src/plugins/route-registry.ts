import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** The methods routes answer on `path` (a concrete path), so a wrong method gets 405 and an Allow header rather than 404. */
    allowedMethods(path: string): string[];
  }
}

/** A route's URL pattern as a regular expression over concrete paths: `:param` is one segment, `*` the rest. */
function patternOf(url: string): RegExp {
  const segments = url.split('/').map((segment) =>
    segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
  );
  return new RegExp(`^${segments.join("/")}$`);
}

/**
 * Every route of the app as it is added (HEAD and OPTIONS aside, which every path answers), so the
 * not-found handlers can tell a wrong method from an unknown path. Registered before any route.
 */
export default fp(
  async (app) => {
    const routes: { pattern: RegExp; methods: string[] }[] = [];
    app.addHook('onRoute', (route) => {
      const methods = [route.method].flat().filter((method) => method !== 'HEAD' && method !== 'OPTIONS');
      if (methods.length > 0) routes.push({ pattern: patternOf(route.url), methods });
    });
    app.decorate('allowedMethods', (path: string) => [...new Set(routes.filter((route) => route.pattern.test(path)).flatMap((route) => route.methods))]);
  },
  { name: 'route-registry' },
);
