// HTTP/2 frames by hand, for testing our client's HTTP/2 (flight/transport/h2-connection.ts) from the other
// end of the socket: a frame builder and parser, a raw server that answers with whatever bytes a
// test crafts and records every frame the client sent, and a TCP relay that records the frames
// a real server and our client exchange.

import net from 'node:net';

export const PREFACE_BYTES = 24; // 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const FrameFlag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8 } as const;

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export function encodeFrame(type: number, flags: number, stream: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(9 + payload.byteLength);
  out.writeUIntBE(payload.byteLength, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(stream, 5);
  out.set(payload, 9);
  return out;
}

export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

/** A SETTINGS frame of [id, value] pairs. */
export function settingsFrame(pairs: ReadonlyArray<readonly [number, number]> = []): Buffer {
  const payload = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return encodeFrame(FrameType.SETTINGS, 0, 0, payload);
}

/** Cuts a byte stream into frames, skipping the client preface when asked to. */
export class FrameParser {
  private pending = Buffer.alloc(0);
  private prefaceLeft: number;

  constructor(preface: boolean) {
    this.prefaceLeft = preface ? PREFACE_BYTES : 0;
  }

  push(chunk: Buffer): Frame[] {
    this.pending = Buffer.concat([this.pending, chunk]);
    if (this.prefaceLeft > 0) {
      const skip = Math.min(this.prefaceLeft, this.pending.byteLength);
      this.pending = this.pending.subarray(skip);
      this.prefaceLeft -= skip;
    }
    const frames: Frame[] = [];
    while (this.pending.byteLength >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.byteLength < 9 + length) break;
      frames.push({
        type: this.pending[3]!,
        flags: this.pending[4]!,
        stream: this.pending.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.pending.subarray(9, 9 + length)),
      });
      this.pending = this.pending.subarray(9 + length);
    }
    return frames;
  }
}

/** One client connection to a RawH2Server. */
export class RawConnection {
  /** Every frame the client sent, in order. */
  readonly frames: Frame[] = [];
  private readonly parser = new FrameParser(true);
  private readonly waiters: Array<{ match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }> = [];

  constructor(readonly socket: net.Socket) {}

  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Resolves with the first frame the client sends (or sent) that matches. */
  frame(match: (frame: Frame) => boolean): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** The GOAWAY the client sent, if any: its error code and debug text. */
  get goaway(): { code: number; debug: string } | undefined {
    const frame = this.frames.find((f) => f.type === FrameType.GOAWAY);
    return frame && { code: frame.payload.readUInt32BE(4), debug: frame.payload.subarray(8).toString() };
  }

  received(chunk: Buffer): Frame[] {
    const frames = this.parser.push(chunk);
    for (const frame of frames) {
      this.frames.push(frame);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i]!.match(frame)) this.waiters.splice(i, 1)[0]!.resolve(frame);
      }
    }
    return frames;
  }
}

export interface RawScenario {
  /** When the client connects (before it has sent anything). */
  onConnect?(connection: RawConnection): void;
  /** For every frame the client sends. */
  onFrame?(connection: RawConnection, frame: Frame): void;
}

/**
 * A TCP server that speaks only what the scenario writes. By default (no onConnect) it sends an
 * empty SETTINGS on connect and acknowledges the client's SETTINGS, so that the client's
 * connection opens and the scenario can misbehave on the client's request.
 */
export class RawH2Server {
  readonly connections: RawConnection[] = [];
  private readonly server: net.Server;
  port = 0;

  constructor(scenario: RawScenario) {
    this.server = net.createServer((socket) => {
      const connection = new RawConnection(socket);
      this.connections.push(connection);
      socket.on('error', () => {});
      if (scenario.onConnect) scenario.onConnect(connection);
      else connection.write(settingsFrame());
      socket.on('data', (chunk: Buffer) => {
        for (const frame of connection.received(chunk)) {
          if (!scenario.onConnect && frame.type === FrameType.SETTINGS && !(frame.flags & FrameFlag.ACK)) {
            connection.write(encodeFrame(FrameType.SETTINGS, FrameFlag.ACK, 0));
          }
          scenario.onFrame?.(connection, frame);
        }
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    for (const connection of this.connections) connection.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface TappedFrame extends Frame {
  /** 'up': client to server; 'down': server to client. */
  direction: 'up' | 'down';
  /** The payload's length on the wire (padding included). */
  length: number;
}

/**
 * A TCP relay on a free port of 127.0.0.1 to a server on `target`: each client gets a connection
 * of its own upstream; what passes between the two is the subclass's to decide.
 */
export abstract class TcpRelay {
  private readonly server = net.createServer((client) => this.connected(client));
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(protected readonly target: number) {}

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private connected(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    // Nagle's delays would stall every window update behind a delayed ACK.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.relay(client, upstream);
  }

  protected abstract relay(client: net.Socket, upstream: net.Socket): void;
}

/**
 * Relays TCP between clients and a server on `target`, recording the frames each way in the
 * order the relay forwarded them (payloads are kept only for frames other than DATA).
 */
export class FrameTap extends TcpRelay {
  readonly frames: TappedFrame[] = [];

  protected relay(client: net.Socket, upstream: net.Socket): void {
    const record = (direction: 'up' | 'down', parser: FrameParser) => (chunk: Buffer) => {
      for (const frame of parser.push(chunk)) {
        const payload = frame.type === FrameType.DATA ? Buffer.alloc(0) : frame.payload;
        this.frames.push({ ...frame, payload, direction, length: frame.payload.byteLength });
      }
    };
    const up = record('up', new FrameParser(true));
    const down = record('down', new FrameParser(false));
    // Forward first, record after: a frame recorded as forwarded has really been passed on.
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      up(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      down(chunk);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.end());
  }
}
