import fp from 'fastify-plugin';
import { WorkerGroup } from '../cluster/worker-group.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every worker serving the port, this one included: one when the service runs alone. */
    workers: WorkerGroup;
  }
}

export default fp(
  async (app) => {
    const workers = new WorkerGroup();
    app.decorate('workers', workers);
    app.addHook('onClose', async () => workers.close());
  },
  { name: 'worker-group' },
);
