/**
 * The hostile-request corpus (issue 10): requests that two HTTP stacks could read differently, or
 * that try to reach a route the gateway did not check. Each is sent as raw bytes over TLS; every one
 * must be refused with the listed status and reach no upstream.
 */
export const OPEN = '/open-banking/products-services/v1';
export const CONSENTS = '/open-banking/consents/v3';

export interface AttackCase {
  readonly name: string;
  readonly request: string | Buffer;
  /** Status the gateway must answer with (400 unless said). */
  readonly status: number;
}

/** A request line plus headers; `Connection: close` so the server ends the exchange. */
export function request(target: string, o: { method?: string; version?: string; headers?: string[]; body?: string } = {}): string {
  const line = `${o.method ?? 'GET'} ${target}${o.version === '' ? '' : ` ${o.version ?? 'HTTP/1.1'}`}`;
  const headers = o.headers ?? ['Host: localhost'];
  return `${line}\r\n${[...headers, 'Connection: close'].join('\r\n')}\r\n\r\n${o.body ?? ''}`;
}

/** Parent-segment spellings: raw, with path parameters (Tomcat), percent-encoded, double-encoded, overlong UTF-8. */
const TRAVERSALS = [
  '..;/', '..;x=1/', '..;jsessionid=0/', '%2e%2e;/', '%2E%2E;/', '.%2e;/', '%2e.;/', '../', './', '..\\', '..%5c', '..%5C',
  '%2e%2e/', '%2E%2E/', '.%2e/', '%2e./', '..%2f', '..%2F', '%2e%2e%2f', '..%252f', '%252e%252e/', '..%00/', '..%0d/',
  '%c0%ae%c0%ae/', '%e0%80%ae%e0%80%ae/', '..%c0%af', '..%c1%9c', '%u002e%u002e/', ';/..;/', '.;/', '..%3b/', '..%3B/',
  '%2e%2e%3b/', '.%00./', '%%32%65%%32%65/', '..%09/',
];

/** Characters and escapes refused anywhere in the path (SPEC §4 request hygiene). */
const PATH_INJECTIONS = [
  ';', ';jsessionid=1', '\\', '#frag', '%2f', '%2F', '%5c', '%3b', '%3B', '%2e', '%25', '%252F', '%00', '%0a', '%0d', '%09',
  '%1f', '%7f', '%', '%g1', '%2', '%zz', '%c0%ae', '%ff', '%80', '%ed%a0%80', '%c3%28', '%f8%88%80%80%80',
];

function traversalCases(): AttackCase[] {
  const cases: AttackCase[] = [];
  for (const t of TRAVERSALS) {
    cases.push({ name: `open-data route, parent segment ${t} twice → accounts`, request: request(`${OPEN}/${t}${t}accounts/v2/accounts`), status: 400 });
    cases.push({ name: `consents route, parent segment ${t} twice → accounts`, request: request(`${CONSENTS}/${t}${t}accounts/v2/accounts`), status: 400 });
  }
  return cases;
}

function pathCases(): AttackCase[] {
  const cases: AttackCase[] = PATH_INJECTIONS.map((inj) => ({ name: `path contains ${inj}`, request: request(`${OPEN}/personal${inj}x`), status: 400 }));
  const raw = (name: string, bytes: number[]): AttackCase => ({
    name,
    request: Buffer.concat([Buffer.from(`GET ${OPEN}/`), Buffer.from(bytes), Buffer.from('x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')]),
    status: 400,
  });
  cases.push(raw('raw byte 0x80 in the path', [0x80]), raw('raw UTF-8 é in the path', [0xc3, 0xa9]), raw('raw DEL in the path', [0x7f]));
  cases.push(raw('raw NUL in the path', [0x00]), raw('raw tab in the path', [0x09]), raw('raw 0xff in the path', [0xff]));
  for (const target of [`${OPEN}//personal`, `/${OPEN}`, `${OPEN}/a//b`, '///', `${OPEN}/.`, `${OPEN}/..`, `${OPEN}/./personal`, '/.', '/..', `${OPEN}/x/.?q=1`, `${OPEN}/x/..?q=1`]) {
    cases.push({ name: `empty or dot segment: ${target}`, request: request(target), status: 400 });
  }
  for (const query of ['q=\x80', 'q=a#b', 'q=%zz', 'q=%', 'q=%g0', 'q=a b']) {
    cases.push({ name: `query ${JSON.stringify(query)}`, request: request(`${OPEN}/personal?${query}`), status: 400 });
  }
  return cases;
}

function requestLineCases(): AttackCase[] {
  const line = (name: string, text: string): AttackCase => ({ name, request: text, status: 400 });
  const host = 'Host: localhost\r\nConnection: close\r\n\r\n';
  return [
    line('absolute-form target with a foreign authority', `GET http://evil.example${OPEN}/personal HTTP/1.1\r\n${host}`),
    line('absolute-form target with userinfo', `GET https://user:secret@evil.example${OPEN}/personal HTTP/1.1\r\n${host}`),
    line('absolute-form target to this host', `GET https://localhost${OPEN}/personal HTTP/1.1\r\n${host}`),
    line('network-path reference //host/path', `GET //evil.example${OPEN}/personal HTTP/1.1\r\n${host}`),
    line('CONNECT authority-form', 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n'),
    line('OPTIONS asterisk-form', `OPTIONS * HTTP/1.1\r\n${host}`),
    line('GET asterisk-form', `GET * HTTP/1.1\r\n${host}`),
    line('GET authority-form', `GET evil.example:443 HTTP/1.1\r\n${host}`),
    line('HTTP/2.0 in an HTTP/1 request line', `GET ${OPEN}/personal HTTP/2.0\r\n${host}`),
    line('HTTP/1.2', `GET ${OPEN}/personal HTTP/1.2\r\n${host}`),
    line('HTTP/0.9 version', `GET ${OPEN}/personal HTTP/0.9\r\n${host}`),
    line('HTTP/3.0', `GET ${OPEN}/personal HTTP/3.0\r\n${host}`),
    line('version-less request line', `GET ${OPEN}/personal\r\n${host}`),
    line('extra token after the version', `GET ${OPEN}/personal HTTP/1.1 x\r\n${host}`),
    line('lower-case method', `get ${OPEN}/personal HTTP/1.1\r\n${host}`),
    line('unknown method', `FOO ${OPEN}/personal HTTP/1.1\r\n${host}`),
    line('HTTP/2 connection preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    line('TRACE-style method with a tab separator', `GET\t${OPEN}/personal HTTP/1.1\r\n${host}`),
  ];
}

function headerCases(): AttackCase[] {
  const target = `${OPEN}/personal`;
  const h = (name: string, headers: string[], status = 400): AttackCase => ({ name, request: request(target, { headers }), status });
  return [
    h('two Host headers', ['Host: localhost', 'Host: evil.example']),
    h('two Host headers, differing case', ['Host: localhost', 'hOST: evil.example']),
    h('two identical Host headers', ['Host: localhost', 'Host: localhost']),
    h('no Host header in HTTP/1.1', []),
    h('space before the colon of Host', ['Host : localhost']),
    h('control character in a header name', ['Host: localhost', 'X-A\x01: b']),
    h('obs-fold continuation line', ['Host: localhost', 'X-Fold: a', ' continued']),
    h('NUL in a header value', ['Host: localhost', 'X-Nul: a\x00b']),
    h('header line without a colon', ['Host: localhost', 'NoColonHere']),
    h('bare CR inside a header value', ['Host: localhost', 'X-Cr: a\rb']),
    h('header block over maxHeaderSize', ['Host: localhost', `X-Big: ${'a'.repeat(20_000)}`], 431),
    { name: 'request target over maxHeaderSize', request: request(`${OPEN}/${'a'.repeat(20_000)}`), status: 431 },
  ];
}

function framingCases(): AttackCase[] {
  const target = `${OPEN}/personal`;
  const post = (name: string, headers: string[], body: string): AttackCase => ({
    name,
    request: request(target, { method: 'POST', headers: ['Host: localhost', 'Content-Type: application/json', ...headers], body }),
    status: 400,
  });
  const cases: AttackCase[] = [
    post('Content-Length and Transfer-Encoding together (CL.TE)', ['Content-Length: 4', 'Transfer-Encoding: chunked'], '0\r\n\r\n'),
    post('Transfer-Encoding then Content-Length (TE.CL)', ['Transfer-Encoding: chunked', 'Content-Length: 4'], '0\r\n\r\n'),
    post('two differing Content-Length headers', ['Content-Length: 4', 'Content-Length: 5'], 'abcde'),
    post('Content-Length list "4, 5"', ['Content-Length: 4, 5'], 'abcde'),
    post('negative Content-Length', ['Content-Length: -1'], ''),
    post('Content-Length with a plus sign', ['Content-Length: +4'], 'abcd'),
    post('Transfer-Encoding xchunked', ['Transfer-Encoding: xchunked'], '0\r\n\r\n'),
    post('Transfer-Encoding chunked, identity', ['Transfer-Encoding: chunked, identity'], '0\r\n\r\n'),
    post('Transfer-Encoding with a space before the colon', ['Transfer-Encoding : chunked'], '0\r\n\r\n'),
    post('Transfer-Encoding obs-folded', ['Transfer-Encoding:', ' chunked'], '0\r\n\r\n'),
    post('two Transfer-Encoding headers, identity last', ['Transfer-Encoding: chunked', 'Transfer-Encoding: identity'], '0\r\n\r\n'),
  ];
  const smuggled = `GET ${OPEN}/x HTTP/1.1\r\nHost: localhost\r\n\r\n`;
  for (const method of ['GET', 'HEAD', 'DELETE', 'OPTIONS']) {
    const headers = ['Host: localhost', `Content-Length: ${smuggled.length}`];
    cases.push({ name: `${method} with a Content-Length body (a body that is itself a request)`, request: request(target, { method, headers, body: smuggled }), status: 400 });
    cases.push({ name: `${method} with a chunked body`, request: request(target, { method, headers: ['Host: localhost', 'Transfer-Encoding: chunked'], body: '5\r\nhello\r\n0\r\n\r\n' }), status: 400 });
  }
  return cases;
}

/** Every case of the corpus. */
export function attackCorpus(): AttackCase[] {
  return [...traversalCases(), ...pathCases(), ...requestLineCases(), ...headerCases(), ...framingCases()];
}
