// The mutation fuzzer, bounded for CI: 1,500 streams of FlightData for each of two seeds,
// mutated from valid uploads and exchanges (seeded, so every run tries the same inputs), each
// sent by a raw grpc-js client to a duck-flight process with a deadline. Every call must end
// with a proper status (never a hang, never a crash) and a message, the process must stay up,
// and the canary table must not change. FUZZ_SEED (one seed or a comma-separated list) and
// FUZZ_INPUTS (per seed) pick other inputs:
//   FUZZ_SEED=99 FUZZ_INPUTS=6000 npm test -- test/fuzz/fuzz
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Table } from 'apache-arrow';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { FlightDescriptor, parseLocation } from '../../flight/index.ts';
import { spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { RawFlightClient, type RawOutcome } from '../support/raw-grpc.ts';
import { arrowMatrix } from '../support/arrow-matrix.ts';
import { checksum } from '../reliability/support.ts';
import { CANARY, sampleTable, validFrames } from './inputs.ts';
import { Prng, mutateStream } from './mutate.ts';

const SEEDS = (process.env['FUZZ_SEED'] ?? '20261121,7').split(',').map(Number);
const INPUTS = Number(process.env['FUZZ_INPUTS'] ?? 1500);
const CONCURRENCY = 4;

/** Statuses a hostile input may get: answered, refused, or refused by what DuckDB makes of it. */
const ACCEPTABLE = new Set<number>([
  GrpcStatus.OK,
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.ALREADY_EXISTS,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.UNIMPLEMENTED,
]);

/** The matrix without the types DuckDB has no column for (the upload would be refused whole). */
function uploadableMatrix(): Table {
  const matrix = arrowMatrix();
  const columns = matrix.schema.fields.filter((f) => !['float16', 'decimal256_76_5', 'dense_union'].includes(f.name)).map((f) => f.name);
  return matrix.select(columns);
}

interface Seed {
  name: string;
  method: 'DoPut' | 'DoExchange';
  messages: Buffer[];
}

/**
 * The FlightData decoder's last line of defence turns anything that still throws on client
 * bytes into INVALID_ARGUMENT with this phrase; the checks before it are meant to refuse every
 * input the fuzzer makes with a reason of their own, so reaching it is a failure here too.
 */
const CATCH_ALL = /could not be decoded: /;

describe(`the mutation fuzzer (${INPUTS} inputs for each seed of ${SEEDS.join(', ')})`, () => {
  let duck: ServerProcess;
  let client: DuckDBFlightClient;
  let raw: RawFlightClient;
  let canaryBefore: Awaited<ReturnType<typeof checksum>>;
  const seeds: Seed[] = [];

  before(async () => {
    duck = await spawnServer({ logLevel: 'warn' });
    client = await duck.connect();
    raw = new RawFlightClient(parseLocation(duck.location).address);
    await client.uploadData(CANARY, sampleTable(5000));
    canaryBefore = await checksum(client, CANARY);
    const small = new Table([sampleTable(48, 0).batches[0]!, sampleTable(48, 100).batches[0]!]);
    const matrix = uploadableMatrix();
    seeds.push(
      {
        name: 'upload of ints, doubles and strings with nulls',
        method: 'DoPut',
        messages: validFrames(small, FlightDescriptor.path('fuzz_small')),
      },
      { name: 'upload of the type matrix', method: 'DoPut', messages: validFrames(matrix, FlightDescriptor.path('fuzz_matrix')) },
      {
        name: 'echo exchange of the full type matrix',
        method: 'DoExchange',
        messages: validFrames(arrowMatrix(), FlightDescriptor.command('echo')),
      },
      {
        name: 'my_streaming_exchanger',
        method: 'DoExchange',
        messages: validFrames(small, FlightDescriptor.command('my_streaming_exchanger')),
      },
    );
  });
  after(async () => {
    raw?.close();
    client?.close();
    assert.equal(await duck?.stop(), 0, duck?.stderr());
  });

  test('the seeds themselves go through', async () => {
    for (const seed of seeds) {
      const outcome = await raw.bidi(seed.method, seed.messages);
      assert.equal(outcome.code, GrpcStatus.OK, `${seed.name}: ${GrpcStatus[outcome.code]} ${outcome.details}`);
    }
  });

  for (const prngSeed of SEEDS)
    test(`seed ${prngSeed}: ${INPUTS} mutated streams, a proper status for each, the server up, the canary unchanged`, async () => {
      const random = new Prng(prngSeed);
      // The inputs are drawn up front, in order, so that the seed alone fixes them.
      const inputs = Array.from({ length: INPUTS }, (_, step) => {
        const seed = seeds[random.below(seeds.length)]!;
        const mutated = mutateStream(seed.messages, random);
        return { step, seed, ...mutated };
      });
      const codes = new Map<number, number>();
      const bad: string[] = [];
      const started = performance.now();
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < inputs.length; i = next++) {
          const input = inputs[i]!;
          const outcome: RawOutcome = await raw.bidi(input.seed.method, input.messages);
          codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
          const clear = outcome.code === GrpcStatus.OK || outcome.details.length > 0;
          const rootCaused = !CATCH_ALL.test(outcome.details);
          if (!ACCEPTABLE.has(outcome.code) || !clear || !rootCaused) {
            const note = rootCaused ? '' : " [reached only the decoder's catch-all]";
            bad.push(
              `step ${input.step} (${input.seed.name}; ${input.description}): ${GrpcStatus[outcome.code]} ${outcome.details}${note}`,
            );
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const seconds = (performance.now() - started) / 1000;
      const summary = [...codes]
        .sort((a, b) => b[1] - a[1])
        .map(([code, n]) => `${GrpcStatus[code]} ${n}`)
        .join(', ');
      console.log(`# fuzzer: ${INPUTS} mutated streams (seed ${prngSeed}) in ${seconds.toFixed(1)} s: ${summary}`);
      assert.deepEqual(bad.slice(0, 20), [], `seed ${prngSeed}: ${bad.length} inputs got no proper status`);
      assert.equal(duck.child.exitCode, null, 'the server process is alive');
      assert.deepEqual(await checksum(client, CANARY), canaryBefore, 'the canary is unchanged');
      assert.ok((codes.get(GrpcStatus.INVALID_ARGUMENT) ?? 0) > INPUTS / 4, 'most mutations were caught as invalid');
      // And it still does its job.
      assert.equal((await client.uploadData('after_fuzz', sampleTable(10))).rows, 10);
      assert.equal((await client.exchange('echo', sampleTable(10)).readAll()).numRows, 10);
    });
});
