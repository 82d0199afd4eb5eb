import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import churnApi from '../../src/churn-api/routes.js';
import { loadConfig } from '../../src/config.js';
import healthRoutes from '../../src/ops/health-routes.js';
import errorHandler from '../../src/plugins/error-handler.js';

describe('plugins declare what they depend on', () => {
  it('the churn API refuses to start without the data plane and the error handler', async () => {
    const app = Fastify();
    app.register(churnApi, { config: loadConfig({}) });
    await expect(app.ready()).rejects.toThrowError(/The dependency 'data-plane' of plugin '(churn-api|health-routes)' is not registered/);
  });

  it('the health routes refuse to start without the data plane', async () => {
    const app = Fastify();
    app.register(healthRoutes);
    await expect(app.ready()).rejects.toThrowError(/The dependency 'data-plane' of plugin '(churn-api|health-routes)' is not registered/);
  });

  it('the error handler refuses to start without the route registry its 405 answers read', async () => {
    const app = Fastify();
    app.register(errorHandler);
    await expect(app.ready()).rejects.toThrowError("The dependency 'route-registry' of plugin 'error-handler' is not registered");
  });
});
