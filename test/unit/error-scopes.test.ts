import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { answerFrameworkError, ErrorScopes, type ErrorRenderer } from '../../src/error-handling.js';

const renderer = (name: string): ErrorRenderer => ({
  invalidInputStatus: 400,
  invalidInputBody: () => ({ name }),
  errorBody: (statusCode, message) => ({ name, statusCode, message }),
  routeMessageEnd: '',
});

describe('ErrorScopes', () => {
  it('gives a path the renderer of the innermost scope whose prefix holds it', () => {
    const scopes = new ErrorScopes();
    const [root, v2, models] = [renderer('root'), renderer('v2'), renderer('models')];
    scopes.add('/v2', v2);
    scopes.add('', root);
    scopes.add('/v2/models', models);
    expect(scopes.rendererFor('/v2')).toBe(v2);
    expect(scopes.rendererFor('/v2/health/live')).toBe(v2);
    expect(scopes.rendererFor('/v2/models/churn')).toBe(models);
    // A prefix holds whole segments only.
    expect(scopes.rendererFor('/v2x')).toBe(root);
    expect(scopes.rendererFor('/v2/modelsx')).toBe(v2);
    expect(scopes.rendererFor('example.com:443')).toBe(root);
  });

  it('refuses to guess when no scope holds the path', () => {
    const scopes = new ErrorScopes();
    scopes.add('/v2', renderer('v2'));
    expect(() => scopes.rendererFor(`/${'x'.repeat(1000)}`)).toThrowError(`No error handling is installed for /${'x'.repeat(63)}…; install it on the root scope first.`);
  });
});

describe('answerFrameworkError', () => {
  function answer(code: string, statusCode: number, url: string) {
    const scopes = new ErrorScopes();
    scopes.add('', renderer('root'));
    scopes.add('/v2', renderer('v2'));
    const sent: { statusCode?: number; body?: unknown } = {};
    const reply = {
      code(status: number) {
        sent.statusCode = status;
        return this;
      },
      send(body: unknown) {
        sent.body = body;
        return this;
      },
    };
    const log = { error: vi.fn() };
    const request = { url, server: { errorScopes: scopes }, log };
    const error = Object.assign(new Error(`'${url}' from the router`), { code, statusCode }) as FastifyError;
    answerFrameworkError(error, request as unknown as FastifyRequest, reply as unknown as FastifyReply);
    return { sent, log };
  }

  it('words a URL the router cannot read itself, in the shape of the path\'s scope', () => {
    expect(answer('FST_ERR_BAD_URL', 400, '/v2/%zz?q=1').sent).toEqual({
      statusCode: 400,
      body: { name: 'v2', statusCode: 400, message: "'/v2/%zz' is not a valid URL path: it holds a malformed percent-escape." },
    });
  });

  it('answers any other router error as a server fault that shows nothing and is logged', () => {
    const { sent, log } = answer('FST_ERR_ASYNC_CONSTRAINT', 500, '/predict');
    expect(sent).toEqual({ statusCode: 500, body: { name: 'root', statusCode: 500, message: 'Internal Server Error' } });
    expect(log.error).toHaveBeenCalledWith({ err: expect.objectContaining({ code: 'FST_ERR_ASYNC_CONSTRAINT' }) }, 'request failed');
  });
});
