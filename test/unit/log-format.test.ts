import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { readableOutput, reportStartFailure } from '../../src/logger.js';

/** A logger writing readable lines (LOG_FORMAT=pretty) into `lines`, without colour. */
function readableLogger() {
  let text = '';
  const logger = pino({ level: 'debug' }, readableOutput((chunk) => (text += chunk), false));
  return { logger, lines: () => text.split('\n').filter(Boolean) };
}

const REQUEST = { method: 'POST', route: '/predict', path: '/predict', clientIp: '203.0.113.7', statusCode: 200, latencyMs: 3.12 };

describe('readable logs (LOG_FORMAT=pretty)', () => {
  it('writes each request on one line, as uvicorn does, with the process id, client, request id and model run', () => {
    const { logger, lines } = readableLogger();
    logger.child({ reqId: 'crm-7' }).info({ ...REQUEST, modelVersion: '1.2.0', runIds: [12], queueMs: 0.4, modelMs: 1.1, explainMs: 2 }, 'request completed');
    expect(lines()).toEqual([`[${lines()[0]!.slice(1, 13)}] INFO (${process.pid}): 203.0.113.7 "POST /predict" 200 3.12 ms req=crm-7 run=12 (queue 0.4, model 1.1, explain 2 ms)`]);
    expect(lines()[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] /);
  });

  it('ends a refused request\'s line with its reason, and shows a trace id when one is bound', () => {
    const { logger, lines } = readableLogger();
    logger.child({ reqId: 'r-1', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' }).info({ ...REQUEST, statusCode: 401, latencyMs: 0.3, reason: 'no API key' }, 'request completed');
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatch(new RegExp(`INFO \\(${process.pid}\\): 203\\.0\\.113\\.7 "POST /predict" 401 0\\.3 ms req=r-1 trace=4bf92f3577b34da6a3ce929d0e0e4736 - no API key$`));
  });

  it('keeps every other line on one line with its fields, and the process id', () => {
    const { logger, lines } = readableLogger();
    logger.debug({ runId: 12, rows: 3, requestIds: ['a', 'b'] }, 'model run');
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatch(new RegExp(`DEBUG \\(${process.pid}\\): model run \\{"runId":12,"rows":3,"requestIds":\\["a","b"\\]\\}$`));
  });
});

describe('a start-up failure', () => {
  const report = (readable: boolean, ...args: [string, Record<string, unknown>?]) => {
    let text = '';
    reportStartFailure(args[0], args[1], { readable, write: (chunk) => (text += chunk) });
    return text;
  };

  it('reads as a sentence on a terminal, not JSON', () => {
    expect(report(true, 'Model not found at /nonexistent/model.onnx')).toBe('churn-service could not start: Model not found at /nonexistent/model.onnx\n');
    const unexpected = report(true, 'unexpected error: boom', { err: new Error('boom') });
    expect(unexpected).toMatch(/^churn-service could not start: unexpected error: boom\n {2}Error: boom\n {6}at /);
    expect(unexpected).not.toContain('{');
  });

  it('is one JSON line at level 60 when standard error is no terminal', () => {
    const text = report(false, new ConfigError('PORT must be an integer').message);
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(text)).toMatchObject({ level: 60, msg: 'PORT must be an integer' });
  });
});
