// A TCP relay that corrupts what a real HTTP/2 server sends our client, for fuzzing the client's
// HTTP/2 (flight/transport/h2-connection.ts) with traffic nghttp2 really produces. The server's
// byte stream is cut into frames (h2-wire.ts's FrameParser) and, on the first connection through
// the relay, one mutation is applied: bits of a frame header flipped, payload bytes changed, a
// frame cut short and the connection closed, a frame dropped, repeated, moved after the next one,
// a made-up frame put before one; or, changing nothing a client may tell apart, the stream re-split
// at odd boundaries or its frames re-framed (DATA split and padded, header blocks continued).
// Every choice comes from a seeded PRNG, so a case replays from its seed. The client's bytes pass
// through untouched.

import net from 'node:net';
import { Prng } from '../fuzz/mutate.ts';
import { FrameFlag, FrameParser, FrameType, TcpRelay, encodeFrame, u32, type Frame } from './h2-wire.ts';

export type MutationKind =
  'none' | 'header-bits' | 'payload-bytes' | 'truncate' | 'drop' | 'duplicate' | 'insert' | 'reorder' | 'split' | 'reframe';

/** A server frame on a connection: the nth (from 0) of its type. */
export interface FrameTarget {
  type: number;
  nth: number;
}

export interface MutationPlan {
  kind: MutationKind;
  /** The frame the mutation hits (every kind but 'none', 'split' and 'reframe'). */
  target?: FrameTarget | undefined;
  /** Seeds the choices made when the target frame is seen (and the cut points of a re-split). */
  seed: number;
  /** For 'insert': the frame to put before the target, instead of one made up from the seed. */
  frame?: Frame | undefined;
}

const TYPE_NAMES = [
  'DATA',
  'HEADERS',
  'PRIORITY',
  'RST_STREAM',
  'SETTINGS',
  'PUSH_PROMISE',
  'PING',
  'GOAWAY',
  'WINDOW_UPDATE',
  'CONTINUATION',
];

export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `type 0x${type.toString(16)}`;
}

function frameName(frame: Frame): string {
  return `${typeName(frame.type)}(flags 0x${frame.flags.toString(16)}, stream ${frame.stream}, ${frame.payload.byteLength} bytes)`;
}

function encode(frame: Frame): Buffer {
  return encodeFrame(frame.type, frame.flags, frame.stream, frame.payload);
}

const PRIORITY_FLAG = 0x20;
const EDGE_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
const EDGE_32 = [0, 1, 4, 0x3fff, 0x4000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

/** A frame the server never sent, of any type, mostly well-formed, sometimes not. */
function madeUpFrame(prng: Prng): Frame {
  const types = [
    FrameType.DATA,
    FrameType.HEADERS,
    FrameType.PRIORITY,
    FrameType.RST_STREAM,
    FrameType.SETTINGS,
    FrameType.PUSH_PROMISE,
    FrameType.PING,
    FrameType.GOAWAY,
    FrameType.WINDOW_UPDATE,
    FrameType.CONTINUATION,
    0x0a + prng.below(0xf6), // an extension type the client must ignore
  ];
  const type = prng.pick(types);
  // Stream 1 is the call's: most frames go there, or to stream 0 for the connection.
  const stream = prng.pick([0, 1, 1, 1, 1, 2, 3, 0x7fffffff]);
  const random = (n: number) => Buffer.from(Array.from({ length: n }, () => prng.below(256)));
  let flags = 0;
  let payload: Buffer;
  switch (type) {
    case FrameType.DATA:
      flags = prng.pick([0, 0, FrameFlag.END_STREAM, FrameFlag.PADDED]);
      payload = Buffer.concat([Buffer.from([0]), u32(prng.below(40)), random(prng.below(40))]);
      break;
    case FrameType.HEADERS:
    case FrameType.CONTINUATION:
      flags = prng.pick([FrameFlag.END_HEADERS, FrameFlag.END_HEADERS | FrameFlag.END_STREAM, 0, FrameFlag.END_HEADERS | PRIORITY_FLAG]);
      // Indexed :status 200 (0x88), then a literal grpc-status with a random digit, or noise.
      payload = prng.below(2)
        ? Buffer.concat([Buffer.from([0x88, 0x00, 0x0b]), Buffer.from('grpc-status'), Buffer.from([0x01, 0x30 + prng.below(10)])])
        : random(prng.below(24));
      break;
    case FrameType.PUSH_PROMISE:
      flags = FrameFlag.END_HEADERS;
      payload = Buffer.concat([u32(2), Buffer.from([0x82, 0x84, 0x86])]);
      break;
    case FrameType.PRIORITY:
      payload = random(prng.pick([5, 5, 4, 6]));
      break;
    case FrameType.RST_STREAM:
      payload = prng.below(5) ? u32(prng.pick([0, 1, 2, 3, 5, 7, 8, 0xb, 0xc, 0xd, 0xffffffff])) : random(prng.pick([0, 3, 5]));
      break;
    case FrameType.SETTINGS: {
      flags = prng.pick([0, 0, 0, FrameFlag.ACK]);
      const pairs = 1 + prng.below(3);
      payload = Buffer.alloc(6 * pairs + (prng.below(6) === 0 ? 1 : 0));
      for (let i = 0; i < pairs; i++) {
        payload.writeUInt16BE(prng.pick([1, 2, 3, 4, 5, 6, 8, 0xffff]), 6 * i);
        payload.writeUInt32BE(prng.pick(EDGE_32), 6 * i + 2);
      }
      break;
    }
    case FrameType.PING:
      flags = prng.pick([0, FrameFlag.ACK]);
      payload = random(prng.pick([8, 8, 8, 0, 7, 9]));
      break;
    case FrameType.GOAWAY:
      payload = Buffer.concat([u32(prng.pick([0, 1, 3, 0x7fffffff])), u32(prng.pick([0, 1, 2, 0xb, 0xffffffff])), random(prng.below(12))]);
      if (prng.below(6) === 0) payload = payload.subarray(0, prng.below(8));
      break;
    case FrameType.WINDOW_UPDATE:
      payload = prng.below(6) ? u32(prng.pick(EDGE_32)) : random(prng.pick([0, 3, 5]));
      break;
    default:
      flags = prng.below(256);
      payload = random(prng.below(32));
  }
  // Now and then a made-up frame is also damaged.
  if (payload.byteLength > 0 && prng.below(4) === 0) payload[prng.below(payload.byteLength)]! ^= 1 << prng.below(8);
  return { type, flags, stream, payload };
}

/**
 * Applies one MutationPlan to the server frames of one connection, and says what it did: whether
 * it touched DATA (then a call may succeed with other bytes: HTTP/2 has no checksum) and whether
 * the client may be left waiting for something that never comes (a frame dropped, a length that
 * promises more bytes), so that only the call's deadline ends it.
 */
export class FrameMutator {
  /** What was done, for a failure message. */
  readonly log: string[] = [];
  applied = false;
  touchedData = false;
  mayStall = false;
  /** Server frames seen, in order (type, flags, payload length), for profiles. */
  readonly seen: Array<{ type: number; flags: number; length: number }> = [];
  private readonly counts = new Map<number, number>();
  private readonly prng: Prng;
  private held: Buffer | null = null;

  constructor(readonly plan: MutationPlan) {
    this.prng = new Prng(plan.seed);
  }

  /** The bytes to send the client for one server frame, in order; 'close' ends the connection after them. */
  feed(frame: Frame): Array<Buffer | 'close'> {
    this.seen.push({ type: frame.type, flags: frame.flags, length: frame.payload.byteLength });
    const nth = this.counts.get(frame.type) ?? 0;
    this.counts.set(frame.type, nth + 1);
    const out: Array<Buffer | 'close'> = [];
    if (this.plan.kind === 'reframe') return this.reframe(frame);
    const { target } = this.plan;
    const hit = !this.applied && target !== undefined && target.type === frame.type && target.nth === nth;
    if (!hit) {
      out.push(encode(frame));
      if (this.held) {
        // The frame held back by a reorder follows the one after it.
        out.push(this.held);
        this.held = null;
      }
      return out;
    }
    this.applied = true;
    if (frame.type === FrameType.DATA) this.touchedData = true;
    const what = `${frameName(frame)} #${nth}`;
    switch (this.plan.kind) {
      case 'header-bits':
        out.push(this.flipHeader(frame, what));
        break;
      case 'payload-bytes':
        out.push(this.changePayload(frame, what));
        break;
      case 'truncate': {
        const bytes = encode(frame);
        const keep = 1 + this.prng.below(bytes.byteLength - 1);
        this.log.push(`cut ${what} to its first ${keep} of ${bytes.byteLength} bytes, then closed the connection`);
        out.push(bytes.subarray(0, keep), 'close');
        break;
      }
      case 'drop':
        this.log.push(`dropped ${what}`);
        // Without the server's SETTINGS the client never starts, without the trailers a call never
        // ends, and an upload larger than a window waits for the WINDOW_UPDATE. Anything else
        // lost must fail the call at once or not matter.
        this.mayStall =
          (frame.type === FrameType.SETTINGS && !(frame.flags & FrameFlag.ACK)) ||
          (frame.type === FrameType.HEADERS && (frame.flags & FrameFlag.END_STREAM) !== 0) ||
          frame.type === FrameType.WINDOW_UPDATE;
        break;
      case 'duplicate':
        this.log.push(`sent ${what} twice`);
        out.push(encode(frame), encode(frame));
        break;
      case 'insert': {
        const made = this.plan.frame ?? madeUpFrame(this.prng);
        this.log.push(`put ${frameName(made)} [${made.payload.toString('hex')}] before ${what}`);
        // A made-up SETTINGS may shrink the windows or the stream limit to nothing: the client
        // then rightly waits for more window or a free stream.
        this.mayStall = made.type === FrameType.SETTINGS;
        if (made.type === FrameType.DATA || made.type === FrameType.HEADERS || made.type === FrameType.CONTINUATION) {
          this.touchedData = true; // a well-formed forged response or message is data the client cannot tell from the server's
        }
        out.push(encode(made), encode(frame));
        break;
      }
      case 'reorder':
        this.log.push(`held ${what} back until after the next frame`);
        this.held = encode(frame);
        break;
      default:
        out.push(encode(frame));
    }
    return out;
  }

  /**
   * The same stream in other frames, as a server may send it: DATA split in two and padded, a
   * header block padded, given a priority, or continued in CONTINUATION frames.
   */
  private reframe(frame: Frame): Buffer[] {
    const { type, flags, stream, payload } = frame;
    const prng = this.prng;
    if (prng.below(3) === 0 || (type !== FrameType.DATA && type !== FrameType.HEADERS)) return [encode(frame)];
    this.applied = true;
    const pad = (body: Buffer) => {
      const length = prng.below(24);
      return Buffer.concat([Buffer.from([length]), body, Buffer.alloc(length)]);
    };
    if (type === FrameType.DATA) {
      const at = prng.below(payload.byteLength + 1);
      const end = flags & FrameFlag.END_STREAM;
      const parts = [payload.subarray(0, at), payload.subarray(at)];
      this.log.push(`split DATA #${this.counts.get(type)! - 1} of ${payload.byteLength} bytes at ${at}, padded`);
      return parts.map((part, i) => {
        const last = i === parts.length - 1 ? end : 0;
        return prng.below(2) ? encodeFrame(type, last | FrameFlag.PADDED, stream, pad(part)) : encodeFrame(type, last, stream, part);
      });
    }
    let first = payload;
    let rest: Buffer[] = [];
    if (payload.byteLength > 1 && prng.below(2)) {
      const cuts = [...new Set([1 + prng.below(payload.byteLength - 1), 1 + prng.below(payload.byteLength - 1)])].sort((a, b) => a - b);
      first = payload.subarray(0, cuts[0]);
      rest = cuts.map((at, i) => payload.subarray(at, cuts[i + 1] ?? payload.byteLength));
    }
    let headFlags = (flags & FrameFlag.END_STREAM) | (rest.length === 0 ? FrameFlag.END_HEADERS : 0);
    let head = first;
    if (prng.below(2)) {
      head = Buffer.concat([Buffer.from([0x80, 0, 0, 0]), Buffer.from([prng.below(256)]), head]); // exclusive, on stream 0
      headFlags |= PRIORITY_FLAG;
    }
    if (prng.below(2)) {
      head = pad(head);
      headFlags |= FrameFlag.PADDED;
    }
    this.log.push(`re-framed HEADERS #${this.counts.get(type)! - 1} (flags 0x${headFlags.toString(16)}) with ${rest.length} CONTINUATION`);
    return [
      encodeFrame(type, headFlags, stream, head),
      ...rest.map((part, i) => encodeFrame(FrameType.CONTINUATION, i === rest.length - 1 ? FrameFlag.END_HEADERS : 0, stream, part)),
    ];
  }

  /** Nothing more came from the server for a while: a frame held back by a reorder goes now. */
  idle(): Buffer[] {
    const held = this.held;
    this.held = null;
    return held ? [held] : [];
  }

  private flipHeader(frame: Frame, what: string): Buffer {
    const bytes = encode(frame);
    const fields = { length: [0, 3], type: [3, 1], flags: [4, 1], stream: [5, 4] } as const;
    const field = this.prng.pick(Object.keys(fields) as Array<keyof typeof fields>);
    const [start, size] = fields[field];
    const flips = 1 + this.prng.below(2);
    const before = bytes.readUIntBE(start, size);
    for (let i = 0; i < flips; i++) bytes[start + this.prng.below(size)]! ^= 1 << this.prng.below(8);
    const after = bytes.readUIntBE(start, size);
    this.log.push(`flipped ${flips} bit(s) of the ${field} of ${what}: ${before} -> ${after}`);
    // A longer length waits for bytes that may never come (a shorter one reads the next header
    // from the payload, which may promise more); a frame of an unknown type is ignored, and a
    // header block without END_HEADERS waits for its CONTINUATION: the trailers may be lost
    // either way. Any other change must fail the call at once or not matter.
    this.mayStall =
      field === 'length' ||
      (field === 'type' && after > FrameType.CONTINUATION) ||
      (field === 'flags' && frame.type === FrameType.HEADERS && !(after & FrameFlag.END_HEADERS));
    if (field === 'type' && after === FrameType.DATA) this.touchedData = true;
    return bytes;
  }

  private changePayload(frame: Frame, what: string): Buffer {
    const payload = Buffer.from(frame.payload);
    const edits = 1 + this.prng.below(3);
    const changes: string[] = [];
    for (let i = 0; i < edits && payload.byteLength > 0; i++) {
      // DATA: often the gRPC message prefix (compressed flag and length) when the frame starts a message.
      const at =
        frame.type === FrameType.DATA && this.prng.below(5) < 2
          ? this.prng.below(Math.min(5, payload.byteLength))
          : this.prng.below(payload.byteLength);
      const old = payload[at]!;
      payload[at] = this.prng.below(5) < 3 ? old ^ (1 << this.prng.below(8)) : this.prng.pick(EDGE_BYTES);
      changes.push(`[${at}] ${old} -> ${payload[at]}`);
    }
    this.log.push(`changed payload bytes of ${what}: ${changes.join(', ')}`);
    // New SETTINGS may close the windows or allow no stream, a smaller WINDOW_UPDATE stops uploads.
    this.mayStall = frame.type === FrameType.SETTINGS || frame.type === FrameType.WINDOW_UPDATE;
    return encode({ ...frame, payload });
  }
}

/** Where a re-split cuts one frame's bytes: inside the header, at its end, inside the gRPC prefix, anywhere. */
function cutPoints(prng: Prng, size: number): number[] {
  const cuts = new Set<number>();
  const count = prng.below(4);
  for (let i = 0; i < count; i++) {
    const at = prng.pick([1 + prng.below(8), 9, 9 + 1 + prng.below(5), 1 + prng.below(size - 1)]);
    if (at > 0 && at < size) cuts.add(at);
  }
  return [...cuts].sort((a, b) => a - b);
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Relays TCP from clients to a server on `target`, mutating the server's frames to the first
 * client as `plan` says (later connections pass through). A 'split' plan forwards every frame
 * unchanged, in pieces written a timer tick apart so that the client reads them apart.
 */
export class MutatingRelay extends TcpRelay {
  /** One per connection, the first one applying the plan. */
  readonly mutators: FrameMutator[] = [];
  /** Socket writes to clients of a split plan's connection: more than its frames when it split them. */
  pieces = 0;

  constructor(
    target: number,
    private readonly plan: MutationPlan,
  ) {
    super(target);
  }

  protected relay(client: net.Socket, upstream: net.Socket): void {
    const first = this.mutators.length === 0;
    const mutator = new FrameMutator(first ? this.plan : { kind: 'none', seed: 0 });
    this.mutators.push(mutator);
    const split = first && this.plan.kind === 'split' ? new Prng(this.plan.seed) : null;
    const parser = new FrameParser(false);

    // The server's side goes out through one queue, so that a re-split's delays keep the order.
    const queue: Array<Buffer | 'close'> = [];
    let pumping = false;
    let upstreamEnded = false;
    let idleTimer: NodeJS.Timeout | undefined;
    const pump = async () => {
      if (pumping) return;
      pumping = true;
      while (queue.length > 0 && !client.destroyed) {
        const item = queue.shift()!;
        if (item === 'close') {
          queue.length = 0;
          client.end();
          upstream.destroy();
          break;
        }
        if (!split) {
          client.write(item);
          continue;
        }
        let from = 0;
        for (const at of [...cutPoints(split, item.byteLength), item.byteLength]) {
          client.write(item.subarray(from, at));
          this.pieces++;
          from = at;
          await tick();
        }
      }
      pumping = false;
      if (upstreamEnded && queue.length === 0) client.end();
    };
    const enqueue = (items: Array<Buffer | 'close'>) => {
      queue.push(...items);
      void pump();
    };

    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      for (const frame of parser.push(chunk)) enqueue(mutator.feed(frame));
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => enqueue(mutator.idle()), 20);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => {
      clearTimeout(idleTimer);
      upstream.destroy();
    });
    upstream.on('close', () => {
      clearTimeout(idleTimer);
      upstreamEnded = true;
      enqueue(mutator.idle());
    });
  }
}
