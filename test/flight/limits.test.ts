// What one client may hold of a FlightServer, on either transport: calls refused from their
// headers before a handler runs, calls whose request never comes closed after a timeout, the
// per-connection stream limit that our client queues behind, and the bound on what DoExchange
// reads ahead for a client that is not reading.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { Table, makeVector } from 'apache-arrow';
import {
  DEFAULT_MAX_CONCURRENT_STREAMS,
  FlightClient,
  FlightDescriptor,
  FlightError,
  FlightServer,
  SERVICE_NAME,
  basicAuthHeader,
  staticUsers,
  type FlightHandlers,
  type FlightServerOptions,
} from '../../flight/index.ts';
import { echoHandlers, type StoredFlight } from '../support/echo-server.ts';

const utf8 = new TextEncoder();
const USERS = new Map([['alice', 'secret']]);

interface RawAnswer {
  status: number | undefined;
  message: string;
  /** Milliseconds from the request to the answer. */
  ms: number;
}

/**
 * Opens one call with node:http2 and never sends its request (nor ends it): what a client that
 * holds streams open looks like. Resolves with the gRPC status the server answers with.
 */
async function silentCall(port: number, method: string, headers: http2.OutgoingHttpHeaders = {}): Promise<RawAnswer> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  const started = performance.now();
  try {
    return await new Promise<RawAnswer>((resolve, reject) => {
      const stream = session.request(
        { ':method': 'POST', ':path': `/${SERVICE_NAME}/${method}`, 'content-type': 'application/grpc', te: 'trailers', ...headers },
        { endStream: false },
      );
      stream.on('error', () => {});
      let status: number | undefined;
      let message = '';
      // The status ends the call for the client (grpc-js's server then leaves the stream to it to close).
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
        if (h['grpc-status'] !== undefined) {
          status = Number(h['grpc-status']);
          resolve({ status, message, ms: performance.now() - started });
        }
      };
      stream.on('response', take);
      stream.on('trailers', take);
      stream.resume();
      stream.on('close', () =>
        status === undefined
          ? reject(new Error(`the stream closed without a status (rst ${stream.rstCode})`))
          : resolve({ status, message, ms: performance.now() - started }),
      );
    });
  } finally {
    session.destroy();
  }
}

/** Echo handlers that count the calls their DoAction and DoExchange handlers saw. */
function countingHandlers(): { handlers: FlightHandlers; counts: { doAction: number; doExchange: number } } {
  const store = new Map<string, StoredFlight>();
  const echo = echoHandlers(store);
  const counts = { doAction: 0, doExchange: 0 };
  return {
    counts,
    handlers: {
      ...echo,
      doAction: (action, context) => {
        counts.doAction++;
        return echo.doAction!(action, context);
      },
      doExchange: (reader, context) => {
        counts.doExchange++;
        return echo.doExchange!(reader, context);
      },
    },
  };
}

for (const transport of ['http2', 'grpc-js'] as const) {
  describe(`${transport}: calls are admitted from their headers and must send their request in time`, () => {
    let server: FlightServer;
    let port: number;
    let counts: { doAction: number; doExchange: number };

    before(async () => {
      const counting = countingHandlers();
      counts = counting.counts;
      server = new FlightServer(counting.handlers, { transport, auth: { validate: staticUsers(USERS) }, firstMessageTimeoutMs: 400 });
      port = await server.listen('127.0.0.1', 0);
    });
    after(() => server.close(100));

    test('a call without credentials is refused UNAUTHENTICATED from its headers, before its request comes and before its handler runs', async () => {
      for (const method of ['DoAction', 'DoExchange', 'DoGet', 'GetFlightInfo']) {
        const answer = await silentCall(port, method);
        assert.equal(answer.status, 16, `${method}: ${answer.message}`);
        assert.match(answer.message, /authentication required/);
        // Refused at once, not when the first-message timeout (400 ms) closed it.
        assert.ok(answer.ms < 300, `${method} answered after ${answer.ms.toFixed(0)} ms`);
      }
      const badToken = await silentCall(port, 'DoAction', { authorization: 'Bearer not-a-token-of-ours' });
      assert.equal(badToken.status, 16);
      assert.match(badToken.message, /invalid or expired bearer token/);
      assert.deepEqual(counts, { doAction: 0, doExchange: 0 });
    });

    test('an authenticated call that never sends its request is closed with DEADLINE_EXCEEDED after firstMessageTimeoutMs', async () => {
      const headers = { authorization: basicAuthHeader('alice', 'secret') };
      for (const method of ['DoAction', 'DoExchange']) {
        const answer = await silentCall(port, method, headers);
        assert.equal(answer.status, 4, `${method}: ${answer.message}`);
        assert.match(answer.message, /within 400 ms of the call's headers.*firstMessageTimeoutMs/);
        assert.ok(answer.ms >= 350, `${method} closed after ${answer.ms.toFixed(0)} ms`);
      }
      // The server keeps serving.
      const client = new FlightClient(`grpc://127.0.0.1:${port}`);
      try {
        await client.authenticateBasicToken('alice', 'secret');
        const results: Uint8Array[] = [];
        for await (const body of client.doAction('echo', 'still here')) results.push(body);
        assert.deepEqual(
          results.map((r) => Buffer.from(r).toString()),
          ['still here'],
        );
      } finally {
        client.close();
      }
    });
  });
}

describe('the per-connection stream limit', () => {
  test(`our client queues calls beyond the server's ${DEFAULT_MAX_CONCURRENT_STREAMS} concurrent streams: 300 at once all succeed`, async () => {
    let active = 0;
    let most = 0;
    const server = new FlightServer({
      async *doAction(action) {
        active++;
        most = Math.max(most, active);
        try {
          await sleep(300);
          yield action.body;
        } finally {
          active--;
        }
      },
    });
    const port = await server.listen('127.0.0.1', 0);
    const client = new FlightClient(`grpc://127.0.0.1:${port}`);
    try {
      const answers = await Promise.all(
        Array.from({ length: 300 }, async (_, i) => {
          const out: string[] = [];
          for await (const body of client.doAction('echo', `call ${i}`)) out.push(Buffer.from(body).toString());
          return out.join();
        }),
      );
      assert.deepEqual(
        answers,
        Array.from({ length: 300 }, (_, i) => `call ${i}`),
      );
      assert.equal(most, DEFAULT_MAX_CONCURRENT_STREAMS, 'the server saw at most the limit at once, and the limit was reached');
    } finally {
      client.close();
      await server.close(100);
    }
  });
});

for (const transport of ['http2', 'grpc-js'] as const) {
  describe(`${transport}: DoExchange read-ahead for a client that writes without reading`, () => {
    const MiB = 1024 * 1024;
    let server: FlightServer;
    let port: number;

    before(async () => {
      const options: FlightServerOptions = { transport, maxReadAheadBytes: 16 * MiB };
      server = new FlightServer(echoHandlers(new Map()), options);
      port = await server.listen('127.0.0.1', 0);
    });
    after(() => server.close(100));

    test('past maxReadAheadBytes: RESOURCE_EXHAUSTED naming the option, after what was echoed; the server keeps serving', async () => {
      const client = new FlightClient(`grpc://127.0.0.1:${port}`);
      try {
        const exchange = client.doExchange(FlightDescriptor.command('echo'), { deadline: 60_000 });
        const values = 256 * 1024; // 1 MiB a batch
        for (let i = 0; i < 96; i++) {
          const data = new Int32Array(values);
          data[0] = i;
          await exchange.write(new Table({ i: makeVector(data) }).batches[0]!, utf8.encode(`m${i}`));
        }
        exchange.end();
        let n = 0;
        await assert.rejects(
          async () => {
            for await (const chunk of exchange.reader.chunks()) {
              assert.equal(chunk.batch!.getChild('i')!.get(0), n, 'echoed in order');
              n++;
            }
          },
          (error: unknown) => {
            assert.ok(error instanceof FlightError, String(error));
            assert.equal(error.kind, 'resource-exhausted', error.message);
            assert.match(error.message, /more than 16777216 bytes \(maxReadAheadBytes, --max-read-ahead-mb\)/);
            return true;
          },
        );
        assert.ok(n < 96, `${n} batches came back before the error`);
        // A client that reads as it writes is not limited: 48 MiB through the same server.
        const batches = Array.from(
          { length: 48 },
          (_, i) => new Table({ i: makeVector(Int32Array.from({ length: values }, () => i)) }).batches[0]!,
        );
        let back = 0;
        for await (const chunk of client.exchange(FlightDescriptor.command('echo'), [batches[0]!.schema, ...batches]).chunks()) {
          if (chunk.batch) assert.equal(chunk.batch.getChild('i')!.get(0), back++);
        }
        assert.equal(back, 48);
      } finally {
        client.close();
      }
    });
  });
}
