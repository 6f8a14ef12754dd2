// Closed-loop maximum throughput with autocannon: `connections` keep-alive connections, each
// sending its next request as soon as the previous answer arrives.
import autocannon from 'autocannon';
import { summarize } from './stats.mjs';

/**
 * Runs autocannon against url for durationS with bodies from nextBody(). Latency percentiles
 * are computed here from every response time in ms (autocannon's own histogram has 1 ms steps).
 */
export async function closedLoop({ url, token, connections, durationS, nextBody }) {
  const capacity = 2_000_000;
  const samples = new Float64Array(capacity);
  let n = 0;
  const instance = autocannon({
    url,
    method: 'POST',
    connections,
    duration: durationS,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    requests: [
      {
        setupRequest: (req) => {
          req.body = nextBody();
          return req;
        },
      },
    ],
  });
  instance.on('response', (_client, _status, _bytes, responseTime) => {
    if (n < capacity) samples[n++] = responseTime;
  });
  const result = await instance;
  return {
    connections,
    durationS: result.duration,
    requests: result.requests.total,
    rps: result.requests.total / result.duration,
    latency: summarize(samples, n),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
  };
}
