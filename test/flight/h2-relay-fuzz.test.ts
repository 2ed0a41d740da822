// Our client HTTP/2 (flight/transport/h2-connection.ts, under grpc-client.ts and FlightClient) fed
// what a real server (FlightServer on node:http2, i.e. nghttp2) sends, corrupted on the way by a
// relay (test/support/h2-mutate.ts): header bits flipped, payload bytes changed, frames cut short,
// dropped, repeated, reordered, made up, the byte stream re-split. Each case is one call on a
// fresh client and connection. Every call must settle, fail only with a FlightError carrying a
// gRPC status (never a TypeError or a crash), and fail at once unless the mutation left the
// client rightly waiting; a re-split must change nothing. The process must see no uncaught
// exception or unhandled rejection, and the client must work as before afterwards.
//
// Seeded, so every run tries the same cases. H2_FUZZ_SEED picks other ones, H2_FUZZ_SCALE runs
// more (or fewer) per mutation, H2_FUZZ_ONLY=<kind>#<index> replays one case, H2_FUZZ_VERBOSE=1
// prints every case's mutation and outcome:
//   H2_FUZZ_SEED=5 H2_FUZZ_ONLY=insert#17 node --import tsx --test test/flight/h2-relay-fuzz.test.ts

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { setLogger, status as Status } from '@grpc/grpc-js';
import { RecordBatch, Table, Utf8, makeVector, vectorFromArray, type Schema } from 'apache-arrow';
import { FlightClient, FlightDescriptor, FlightError, FlightServer, type FlightChunk, type FlightInfo } from '../../flight/index.ts';
import { Prng } from '../fuzz/mutate.ts';
import { FrameFlag, FrameType } from '../support/h2-wire.ts';
import { MutatingRelay, typeName, type FrameTarget, type MutationKind, type MutationPlan } from '../support/h2-mutate.ts';

const SEED = Number(process.env['H2_FUZZ_SEED'] ?? 20260117);
const SCALE = Number(process.env['H2_FUZZ_SCALE'] ?? 1);
const ONLY = process.env['H2_FUZZ_ONLY'];
/** Cases per mutation kind. */
const CASES: Record<Exclude<MutationKind, 'none'>, number> = {
  'header-bits': 70,
  'payload-bytes': 80,
  truncate: 30,
  drop: 30,
  duplicate: 30,
  insert: 80,
  reorder: 30,
  split: 40,
  reframe: 40,
};
/** Cases in flight at once: most wait on the server or on a deadline, not on the CPU. */
const CONCURRENCY = 8;
/** A normal call here takes milliseconds; this is far above it, even on a loaded machine. */
const DEADLINE_MS = 2000;
/** A call not settled this long after its deadline hangs. */
const SETTLE_MS = DEADLINE_MS + 3000;
/** A case the deadline ended that should have failed at once is run again alone with this deadline, to rule out a slow machine. */
const CONFIRM_DEADLINE_MS = 10_000;

const utf8 = new TextEncoder();
const text = new TextDecoder();

function batch(from: number, rows: number): RecordBatch {
  const ids = Int32Array.from({ length: rows }, (_, i) => from + i);
  const names = Array.from(ids, (id) => `row ${id} ${'é✓'.repeat(id % 7)}`);
  return new Table({
    id: makeVector(ids),
    name: vectorFromArray(names, new Utf8()),
    score: makeVector(Float64Array.from(ids, (id) => id / 8)),
  }).batches[0]!;
}

const SMALL = [batch(0, 10), batch(10, 7), batch(17, 1)];
/** About 170 KB in one message: a dozen 16 KiB DATA frames. */
const BIG = [batch(1000, 6000)];
const UPLOAD = new Table([batch(500, 40), batch(540, 3)]);

/** What every case's server answers: small in-memory data, so that a call takes milliseconds. */
function startServer(): Promise<{ server: FlightServer; port: number }> {
  const server = new FlightServer({
    doGet(ticket) {
      const key = text.decode(ticket);
      if (key === 'small') return Object.assign([...SMALL], { schema: SMALL[0]!.schema });
      if (key === 'big') return BIG;
      throw FlightError.notFound(`no ticket ${key}`);
    },
    async *doAction(action) {
      yield utf8.encode('one');
      yield utf8.encode('two');
      yield action.body;
    },
    getFlightInfo: (descriptor): FlightInfo => ({
      schema: SMALL[0]!.schema,
      descriptor,
      endpoints: [{ ticket: utf8.encode('small'), locations: [] }],
      totalRecords: 18,
      totalBytes: -1,
    }),
    async *doPut(reader) {
      let rows = 0;
      for await (const b of reader) rows += b.numRows;
      yield utf8.encode(`rows=${rows}`);
    },
    doExchange(reader) {
      return {
        async *[Symbol.asyncIterator](): AsyncGenerator<FlightChunk> {
          for await (const chunk of reader.chunks()) yield chunk;
        },
      };
    },
  });
  return server.listen('127.0.0.1', 0).then((port) => ({ server, port }));
}

function rows(table: Table): string {
  return JSON.stringify(table.toArray(), (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** Each call a case may make, and a digest of its result to compare with an unmutated run's. */
const CALLS: Record<string, (client: FlightClient, options: { deadline: number }) => Promise<string>> = {
  'DoGet small': async (client, options) => rows(await client.doGet('small', options).readAll()),
  'DoGet big': async (client, options) => rows(await client.doGet('big', options).readAll()),
  DoAction: async (client, options) => {
    const results: string[] = [];
    for await (const r of client.doAction('act', 'body', options)) results.push(Buffer.from(r).toString('hex'));
    return results.join(',');
  },
  GetFlightInfo: async (client, options) => {
    const info = await client.getFlightInfo(FlightDescriptor.path('small'), options);
    const schema = info.schema as Schema | null;
    return JSON.stringify([
      info.totalRecords,
      schema?.fields.map((f) => `${f.name}:${f.type}`),
      info.endpoints.map((e) => text.decode(e.ticket)),
    ]);
  },
  DoPut: async (client, options) => (await client.doPut(FlightDescriptor.path('up'), UPLOAD, options)).map((r) => text.decode(r)).join(','),
  DoExchange: async (client, options) => rows(await client.exchange(FlightDescriptor.path('x'), UPLOAD, options).readAll()),
};
const CALL_NAMES = Object.keys(CALLS);

interface Case {
  id: string;
  call: string;
  plan: MutationPlan;
}

type Outcome =
  { settled: false } | { settled: true; ok: true; digest: string; ms: number } | { settled: true; ok: false; error: unknown; ms: number };

interface Run {
  outcome: Outcome;
  relay: MutatingRelay;
}

async function runCall(port: number, call: string, plan: MutationPlan, deadline: number): Promise<Run> {
  const relay = new MutatingRelay(port, plan);
  const address = await relay.listen();
  const client = new FlightClient(`grpc://${address}`, { transport: 'http2' });
  const started = performance.now();
  let bound: NodeJS.Timeout | undefined;
  try {
    const settled = CALLS[call]!(client, { deadline }).then(
      (digest): Outcome => ({ settled: true, ok: true, digest, ms: performance.now() - started }),
      (error: unknown): Outcome => ({ settled: true, ok: false, error, ms: performance.now() - started }),
    );
    const hung = new Promise<Outcome>(
      (resolve) => (bound = setTimeout(() => resolve({ settled: false }), deadline + SETTLE_MS - DEADLINE_MS)),
    );
    return { outcome: await Promise.race([settled, hung]), relay };
  } finally {
    clearTimeout(bound);
    client.close();
    await relay.close();
  }
}

/** An error that is not a FlightError with a real gRPC status, or one caused by a programming error: why, or null. */
function untyped(error: unknown): string | null {
  if (!(error instanceof FlightError)) return `not a FlightError: ${String(error)} (${(error as Error)?.stack ?? ''})`;
  if (!Number.isInteger(error.code) || error.code < 1 || error.code > 16) return `status code ${error.code} is not a gRPC error code`;
  for (let cause: unknown = error.cause, depth = 0; cause !== undefined && depth < 8; depth++) {
    if (cause instanceof TypeError || cause instanceof RangeError || cause instanceof ReferenceError || cause instanceof SyntaxError) {
      return `caused by ${cause.name}: ${cause.message}\n${cause.stack ?? ''}`;
    }
    cause = (cause as { cause?: unknown }).cause;
  }
  // fromGrpcError turns anything that is not a gRPC status into UNKNOWN: a failure nothing typed.
  const cause = error.cause as { code?: unknown; details?: unknown } | undefined;
  if (error.kind === 'unknown' && !(typeof cause?.code === 'number' && typeof cause.details === 'string')) {
    return `UNKNOWN without a gRPC status behind it: ${String(error.cause)}`;
  }
  return null;
}

function describeOutcome(outcome: Outcome): string {
  if (!outcome.settled) return 'never settled';
  if (outcome.ok) return `OK in ${outcome.ms.toFixed(0)} ms`;
  const error = outcome.error;
  const code = error instanceof FlightError ? Status[error.code] : 'untyped';
  return `${code} in ${outcome.ms.toFixed(0)} ms: ${error instanceof Error ? error.message : String(error)}`;
}

/** The server frames of one unmutated call of each kind, to aim mutations at frames that exist. */
type Profile = Array<{ type: number; flags: number; length: number }>;

function pickTarget(prng: Prng, profile: Profile, kind: MutationKind): FrameTarget {
  // Payload changes need a payload; the rest may hit any frame. The type is picked first, so
  // that a dozen DATA frames do not crowd out the one SETTINGS.
  const eligible = profile.filter((f) => kind !== 'payload-bytes' || f.length > 0);
  const types = [...new Set(eligible.map((f) => f.type))];
  const type = prng.pick(types);
  const count = profile.filter((f) => f.type === type).length;
  return { type, nth: prng.below(count) };
}

function makeCase(kind: Exclude<MutationKind, 'none'>, index: number, profiles: Map<string, Profile>): Case {
  const kindIndex = Object.keys(CASES).indexOf(kind);
  const prng = new Prng((Math.imul(SEED, 0x9e3779b1) ^ Math.imul(kindIndex + 1, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0);
  const call = prng.pick(CALL_NAMES);
  const seed = prng.below(2 ** 32);
  const target = kind === 'split' || kind === 'reframe' ? undefined : pickTarget(prng, profiles.get(call)!, kind);
  return { id: `${kind}#${index}`, call, plan: { kind, target, seed } };
}

/** Mutations no client may tell from the server's own stream: the call must succeed as before. */
function exact(c: Case): boolean {
  return c.plan.kind === 'split' || c.plan.kind === 'reframe';
}

function caseName(c: Case): string {
  const target = c.plan.target ? ` on ${typeName(c.plan.target.type)} #${c.plan.target.nth}` : '';
  return `${c.id} (seed ${SEED}): ${c.call}, ${c.plan.kind}${target}`;
}

/** Runs `work` over `items`, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Heap in use after a full collection (the flag is set for this process only, not for the test runner's). */
function heapAfterGc(): number {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

describe(`HTTP/2 client fuzz: a relay corrupts a real server's frames (seed ${SEED})`, () => {
  let server: FlightServer;
  let port = 0;
  const expected = new Map<string, string>();
  const profiles = new Map<string, Profile>();
  /** Everything the process reported uncaught, with the cases in flight then. */
  const uncaught: string[] = [];
  const inFlight = new Set<string>();
  const onUncaught = (error: unknown) => uncaught.push(`uncaught exception during [${[...inFlight].join(', ')}]: ${String(error)}`);
  const onRejection = (reason: unknown) => uncaught.push(`unhandled rejection during [${[...inFlight].join(', ')}]: ${String(reason)}`);
  const onWarning = (warning: Error) => {
    if (warning.name === 'MaxListenersExceededWarning')
      uncaught.push(`${warning.name} during [${[...inFlight].join(', ')}]: ${warning.message}`);
  };
  let heapBefore = 0;

  before(async () => {
    // A mangled header name or value that HTTP/2 allows and gRPC metadata does not (a '%', a
    // control character) is dropped by grpc-js's Metadata with a log line each: noise here.
    setLogger({ error: () => {} });
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onRejection);
    process.on('warning', onWarning);
    ({ server, port } = await startServer());
    // Unmutated runs: the right answers, and the frames a mutation can aim at.
    for (const call of CALL_NAMES) {
      const { outcome, relay } = await runCall(port, call, { kind: 'none', seed: 0 }, DEADLINE_MS);
      assert.ok(outcome.settled && outcome.ok, `${call} through a pass-through relay: ${describeOutcome(outcome)}`);
      expected.set(call, outcome.digest);
      profiles.set(call, relay.mutators[0]!.seen);
    }
    assert.ok(profiles.get('DoGet big')!.filter((f) => f.type === FrameType.DATA).length >= 4, 'the big DoGet spans several DATA frames');
    heapBefore = heapAfterGc();
  });

  after(async () => {
    setLogger(console);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
    process.off('warning', onWarning);
    await server?.close(100);
  });

  /** What is wrong with one case's outcome, or null. */
  async function check(c: Case, run: Run): Promise<string | null> {
    const { outcome } = run;
    const mutator = run.relay.mutators[0];
    const did =
      c.plan.kind === 'split'
        ? `re-split into ${run.relay.pieces} socket writes`
        : mutator?.log.join('; ') || 'nothing (the target frame never came)';
    const fail = (why: string) =>
      `${caseName(c)}\n    mutation: ${did}\n    outcome: ${describeOutcome(outcome)}\n    ${why}\n    replay: H2_FUZZ_SEED=${SEED} H2_FUZZ_ONLY=${c.id}`;
    if (!outcome.settled) return fail(`the call did not settle within ${SETTLE_MS} ms (its deadline was ${DEADLINE_MS} ms)`);
    if (outcome.ok) {
      if (outcome.digest === expected.get(c.call)) return null;
      if (exact(c)) return fail(`a ${c.plan.kind} stream must give exactly the right data`);
      if (!mutator?.touchedData) return fail('the call succeeded with different data though no DATA frame was touched');
      return null;
    }
    const wrong = untyped(outcome.error);
    if (wrong) return fail(wrong);
    if (exact(c)) return fail(`a ${c.plan.kind} stream must give exactly the right data, not an error`);
    if ((outcome.error as FlightError).code === Status.DEADLINE_EXCEEDED && !mutator?.mayStall) {
      // Rule out a slow machine: alone, with a long deadline, a real hang hangs again.
      const again = await runCall(port, c.call, c.plan, CONFIRM_DEADLINE_MS);
      const o = again.outcome;
      if (!o.settled || (!o.ok && o.error instanceof FlightError && o.error.code === Status.DEADLINE_EXCEEDED)) {
        return fail(`the deadline ended a call this mutation should have failed at once (again with a ${CONFIRM_DEADLINE_MS} ms deadline)`);
      }
    }
    return null;
  }

  for (const kind of Object.keys(CASES) as Array<Exclude<MutationKind, 'none'>>) {
    const count = Math.round(CASES[kind] * SCALE);
    const onlyHere = ONLY === undefined || ONLY.startsWith(`${kind}#`);
    test(
      ['split', 'reframe'].includes(kind)
        ? `${kind}: ${count} cases get exactly the right answer`
        : `${kind}: ${count} cases settle, fail only with a gRPC status, and fail at once unless left waiting`,
      { timeout: 120_000 },
      async (t) => {
        const cases = Array.from({ length: count }, (_, i) => makeCase(kind, i, profiles)).filter(
          (c) => onlyHere && (ONLY === undefined || ONLY === c.id),
        );
        const problems: string[] = [];
        const tally = new Map<string, number>();
        let applied = 0;
        let pieces = 0;
        let frames = 0;
        await pool(cases, CONCURRENCY, async (c) => {
          inFlight.add(c.id);
          const run = await runCall(port, c.call, c.plan, DEADLINE_MS);
          const problem = await check(c, run);
          inFlight.delete(c.id);
          if (problem) problems.push(problem);
          const mutator = run.relay.mutators[0];
          if (mutator?.applied) applied++;
          pieces += run.relay.pieces;
          frames += mutator?.seen.length ?? 0;
          const o = run.outcome;
          const key = !o.settled ? 'unsettled' : o.ok ? 'OK' : o.error instanceof FlightError ? Status[o.error.code]! : 'untyped';
          tally.set(key, (tally.get(key) ?? 0) + 1);
          if (ONLY !== undefined || process.env['H2_FUZZ_VERBOSE'])
            t.diagnostic(`${caseName(c)}: ${mutator?.log.join('; ')} -> ${describeOutcome(o)}`);
        });
        t.diagnostic(`${cases.length} cases: ${[...tally].map(([k, n]) => `${n} ${k}`).join(', ')}`);
        assert.deepEqual(problems, [], `${problems.length} of ${cases.length} cases went wrong:\n${problems.join('\n')}`);
        if (ONLY !== undefined) return;
        if (kind === 'split') {
          // Cut points fall inside frames, so every frame of any size gives more than one piece on average.
          assert.ok(pieces > frames * 1.5, `the re-split wrote ${pieces} pieces for ${frames} frames: it hardly split anything`);
        } else {
          // Targets come from real profiles: nearly every case must have hit its frame.
          assert.ok(applied >= cases.length * 0.8, `only ${applied} of ${cases.length} cases applied their mutation`);
        }
      },
    );
  }

  // Cases the fuzz run found client bugs with, pinned: each names the status the call must end with.
  const regressions: Array<{ name: string; call: string; plan: MutationPlan; code: Status; message: RegExp }> = [
    {
      // insert#26 of seed 20260117: the status was UNAVAILABLE "Connection dropped", which
      // invites a retry of a call that ran, though the connection was fine.
      name: 'DATA with END_STREAM before any trailers: INTERNAL, the server ended the call without a status',
      call: 'DoAction',
      plan: {
        kind: 'insert',
        seed: 0,
        target: { type: FrameType.DATA, nth: 0 },
        frame: { type: FrameType.DATA, flags: FrameFlag.END_STREAM, stream: 1, payload: Buffer.alloc(0) },
      },
      code: Status.INTERNAL,
      message: /ended the call without a gRPC status/,
    },
    {
      // payload-bytes#39 of seed 20260117 turned a trailer name into "grpc-accept-5 s8s4n5": a
      // name HTTP/2 forbids, which the client took, and grpc-js's Metadata dropped with a log line.
      name: 'trailers whose field name has a space: the connection fails, naming the header',
      call: 'DoGet small',
      plan: {
        kind: 'insert',
        seed: 0,
        target: { type: FrameType.HEADERS, nth: 1 },
        frame: {
          type: FrameType.HEADERS,
          flags: FrameFlag.END_HEADERS | FrameFlag.END_STREAM,
          stream: 1,
          payload: Buffer.concat([Buffer.from([0x00, 11]), Buffer.from('grpc status'), Buffer.from([0x01, 0x30])]),
        },
      },
      code: Status.UNAVAILABLE,
      message: /header name "grpc status" has a character HTTP\/2 forbids/,
    },
  ];
  for (const regression of regressions) {
    test(`regression: ${regression.name}`, { timeout: 30_000 }, async () => {
      const { outcome, relay } = await runCall(port, regression.call, regression.plan, DEADLINE_MS);
      assert.ok(relay.mutators[0]!.applied, 'the relay never saw the frame it aimed at');
      assert.ok(outcome.settled && !outcome.ok, describeOutcome(outcome));
      assert.equal(untyped(outcome.error), null);
      const error = outcome.error as FlightError;
      assert.equal(Status[error.code], Status[regression.code], error.message);
      assert.match(error.message, regression.message);
    });
  }

  test('afterwards: a fresh client through a pass-through relay gets every answer right', { timeout: 60_000 }, async () => {
    for (const call of CALL_NAMES) {
      const { outcome } = await runCall(port, call, { kind: 'none', seed: 0 }, DEADLINE_MS * 5);
      assert.ok(outcome.settled && outcome.ok, `${call}: ${describeOutcome(outcome)}`);
      assert.equal(outcome.digest, expected.get(call), call);
    }
  });

  test('afterwards: nothing went uncaught and the heap did not keep what the cases used', { timeout: 30_000 }, async (t) => {
    // Sockets the cases closed finish closing on later ticks.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(uncaught, []);
    const growth = heapAfterGc() - heapBefore;
    t.diagnostic(`heap growth over the run: ${(growth / 1024 / 1024).toFixed(1)} MiB`);
    assert.ok(growth < 48 * 1024 * 1024, `the heap grew by ${(growth / 1024 / 1024).toFixed(1)} MiB over the run`);
  });
});
