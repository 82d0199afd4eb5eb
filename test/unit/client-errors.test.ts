import type { Duplex } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { answerClientError } from '../../src/client-errors.js';

describe('answerClientError', () => {
  function fakeSocket(state: { destroyed?: boolean; writable?: boolean } = {}) {
    const socket = { destroyed: state.destroyed ?? false, writable: state.writable ?? true, write: vi.fn(), destroy: vi.fn() };
    return socket;
  }
  const context = { log: { info: vi.fn() } } as unknown as ThisParameterType<typeof answerClientError>;
  const answer = (code: string | undefined, socket: ReturnType<typeof fakeSocket>) =>
    answerClientError.call(context, Object.assign(new Error('client error'), code === undefined ? {} : { code }), socket as unknown as Duplex);

  it.each([
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'Request Timeout', 'The request headers or body did not arrive in time.'],
    ['HPE_HEADER_OVERFLOW', 431, 'Request Header Fields Too Large', 'The request headers are too large.'],
    ['HPE_INVALID_METHOD', 400, 'Bad Request', 'The request is not valid HTTP.'],
    [undefined, 400, 'Bad Request', 'The request is not valid HTTP.'],
  ])('answers %s with a complete %i response, then closes the connection', (code, statusCode, reason, message) => {
    const socket = fakeSocket();
    answer(code, socket);
    const body = JSON.stringify({ statusCode, error: reason, message, detail: message });
    expect(socket.write).toHaveBeenCalledTimes(1);
    expect(socket.write.mock.calls[0]![0]).toBe(
      `HTTP/1.1 ${statusCode} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(socket.destroy).toHaveBeenCalledTimes(1);
    expect(socket.write.mock.invocationCallOrder[0]).toBeLessThan(socket.destroy.mock.invocationCallOrder[0]!);
    // No request line follows: this line is the refusal's only trace, at info like every 4xx, with its reason.
    expect(context.log.info).toHaveBeenLastCalledWith(expect.objectContaining({ statusCode, reason: message }), 'client error');
  });

  it('leaves a connection the client reset alone', () => {
    const socket = fakeSocket();
    answer('ECONNRESET', socket);
    expect(socket.write).not.toHaveBeenCalled();
    expect(socket.destroy).not.toHaveBeenCalled();
  });

  it('writes nothing to a socket that is already destroyed', () => {
    const socket = fakeSocket({ destroyed: true, writable: true });
    answer('HPE_INVALID_METHOD', socket);
    expect(socket.write).not.toHaveBeenCalled();
    expect(socket.destroy).not.toHaveBeenCalled();
  });

  it('only closes a socket that can no longer be written to', () => {
    const socket = fakeSocket({ writable: false });
    answer('ERR_HTTP_REQUEST_TIMEOUT', socket);
    expect(socket.write).not.toHaveBeenCalled();
    expect(socket.destroy).toHaveBeenCalledTimes(1);
  });
});
