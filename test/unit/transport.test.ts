import { transportFailure } from '../../cloudfunctions/src/providers/transport';

/** How a failed fetch is read: never sent (safe to send again) or maybe sent (query before anything else). */
describe('transportFailure', () => {
  const withCause = (code: string, message = `${code} happened`) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(message), { code }) });

  it.each([
    ['a timeout', Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }), { sent: true, code: 'TIMEOUT', detail: 'no answer in time' }],
    ['an abort', Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }), { sent: true, code: 'TIMEOUT', detail: 'no answer in time' }],
    ['an unknown host', withCause('ENOTFOUND', 'getaddrinfo ENOTFOUND api.huifu.com'), { sent: false, code: 'ENOTFOUND', detail: 'getaddrinfo ENOTFOUND api.huifu.com' }],
    ['a refused connection', withCause('ECONNREFUSED'), { sent: false, code: 'ECONNREFUSED' }],
    ['a connect timeout', withCause('UND_ERR_CONNECT_TIMEOUT'), { sent: false, code: 'UND_ERR_CONNECT_TIMEOUT' }],
    ['an untrusted certificate', withCause('SELF_SIGNED_CERT_IN_CHAIN'), { sent: false, code: 'SELF_SIGNED_CERT_IN_CHAIN' }],
    ['a TLS protocol failure', withCause('ERR_SSL_WRONG_VERSION_NUMBER'), { sent: false, code: 'ERR_SSL_WRONG_VERSION_NUMBER' }],
    ['a TLS handshake failure', withCause('ERR_TLS_CERT_ALTNAME_INVALID'), { sent: false }],
    // Any other TLS error is before the request too: the handshake comes first.
    ['another TLS failure', withCause('ERR_TLS_INVALID_PROTOCOL_VERSION'), { sent: false, code: 'ERR_TLS_INVALID_PROTOCOL_VERSION' }],
    ['a reset after connecting', withCause('ECONNRESET'), { sent: true, code: 'ECONNRESET' }],
    ['a socket closed by the other side', withCause('UND_ERR_SOCKET'), { sent: true, code: 'UND_ERR_SOCKET' }],
    ['an error carrying its own code', Object.assign(new Error('lookup failed'), { code: 'EAI_AGAIN' }), { sent: false, code: 'EAI_AGAIN', detail: 'lookup failed' }],
    ['an error with no code', new Error('something'), { sent: true, code: 'UNKNOWN', detail: 'something' }],
  ])('%s', (_what, error, expected) => {
    expect(transportFailure(error)).toMatchObject(expected);
  });

  it('never throws on what is not an Error', () => {
    expect(transportFailure(undefined)).toEqual({ sent: true, code: 'UNKNOWN', detail: 'undefined' });
    expect(transportFailure(null)).toEqual({ sent: true, code: 'UNKNOWN', detail: 'null' });
    expect(transportFailure('boom')).toEqual({ sent: true, code: 'UNKNOWN', detail: 'boom' });
    expect(transportFailure({ cause: null, message: 'plain object' })).toEqual({ sent: true, code: 'UNKNOWN', detail: 'plain object' });
  });
});
