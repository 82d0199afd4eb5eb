import { Agent, request } from 'node:http';
import { VALID_CUSTOMER } from '../helpers.js';

export interface RequestOutcome {
  id: string;
  client: number;
  status?: number;
  modelVersion?: string;
  /** /predict's churn_probability, for checking which model answered. */
  churnProbability?: number;
  error?: string;
  /** The request went out on a connection that had already carried an answered request. */
  reusedSocket: boolean;
  at: number;
}

const BODIES = [
  JSON.stringify(VALID_CUSTOMER),
  JSON.stringify({ customers: [VALID_CUSTOMER, { ...VALID_CUSTOMER, tenure_months: 40 }, { ...VALID_CUSTOMER, num_products: 5 }] }),
];

/**
 * `count` clients, each with one keep-alive connection at a time, sending /predict and small
 * batches back to back until the server refuses connections or `until` says stop.
 */
export async function runKeepAliveClients(port: number, count: number, until: () => boolean = () => false): Promise<RequestOutcome[]> {
  const outcomes: RequestOutcome[] = [];
  const client = async (index: number) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const answered = new WeakSet<object>();
    try {
      for (let call = 0; !until(); call += 1) {
        const id = `ka-${index}-${call}`;
        const batch = call % 4 === 3;
        const outcome = await new Promise<RequestOutcome>((resolve) => {
          const body = BODIES[batch ? 1 : 0]!;
          let reusedSocket = false;
          let socket: object | undefined;
          const req = request(
            { host: '127.0.0.1', port, method: 'POST', path: batch ? '/predict/batch' : '/predict', agent, headers: { 'content-type': 'application/json', 'x-request-id': id } },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (text += chunk));
              res.on('end', () => {
                if (socket) answered.add(socket);
                let modelVersion: string | undefined;
                let churnProbability: number | undefined;
                try {
                  const parsed = JSON.parse(text) as { model_version?: string; churn_probability?: number; predictions?: { model_version: string }[] };
                  modelVersion = parsed.model_version ?? parsed.predictions?.[0]?.model_version;
                  churnProbability = parsed.churn_probability;
                } catch {
                  // not JSON: the status says what happened
                }
                resolve({
                  id,
                  client: index,
                  status: res.statusCode,
                  ...(modelVersion ? { modelVersion } : {}),
                  ...(churnProbability === undefined ? {} : { churnProbability }),
                  reusedSocket,
                  at: Date.now(),
                });
              });
              res.on('error', (error: NodeJS.ErrnoException) => resolve({ id, client: index, error: error.code ?? error.message, reusedSocket, at: Date.now() }));
            },
          );
          req.on('socket', (assigned) => {
            socket = assigned;
            reusedSocket = answered.has(assigned);
          });
          req.on('error', (error: NodeJS.ErrnoException) => resolve({ id, client: index, error: error.code ?? error.message, reusedSocket, at: Date.now() }));
          req.end(body);
        });
        outcomes.push(outcome);
        if (outcome.error === 'ECONNREFUSED') return;
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: count }, (_, index) => client(index)));
  return outcomes;
}
