/**
 * An upstream that resolves request paths the way Tomcat (and Spring on it) does before routing:
 * path parameters (`;...`) removed from every segment, `%XX` decoded, then dot segments removed —
 * so `/a/..;/b` is `/b`. Behind it, any request the gateway forwarded with such a path would land
 * on a resource the gateway never checked.
 */
import type { TestUpstream } from '../helpers/upstream.js';
import { startUpstream } from '../helpers/upstream.js';

/** The path a Tomcat-style container serves for `target` (the query is ignored). */
export function tomcatResolve(target: string): string {
  const path = target.split('?')[0] ?? '';
  const segments = path.split('/').map((segment) => {
    const semicolon = segment.indexOf(';');
    const bare = semicolon === -1 ? segment : segment.slice(0, semicolon);
    try {
      return decodeURIComponent(bare).replaceAll('\\', '/');
    } catch {
      return bare;
    }
  });
  const out: string[] = [];
  for (const segment of segments.join('/').split('/')) {
    if (segment === '..') out.pop();
    else if (segment !== '.') out.push(segment);
  }
  return out.join('/').replace(/\/{2,}/g, '/') || '/';
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A recording upstream that answers with the path it resolved (`{"data":{"served":"/..."}}`). */
export function startTomcatUpstream(t: Teardown): Promise<TestUpstream> {
  return startUpstream(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { served: tomcatResolve(req.url ?? '') } }));
  });
}
