// A hostile HTTP/2 client, frames written by hand: one connection that opens many gRPC streams
// (HEADERS only, never a request message) as fast as the socket takes them, ignoring the
// server's SETTINGS_MAX_CONCURRENT_STREAMS, and counts how the server answered each. Also reads
// a process's resident memory, to see what such a client costs the server.

import net from 'node:net';
import { readFileSync } from 'node:fs';
import { encodeHeaders } from '../../flight/transport/hpack.ts';
import { SERVICE_NAME } from '../../flight/index.ts';
import { FrameFlag, FrameParser, FrameType, encodeFrame, settingsFrame } from './h2-wire.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface FloodOutcome {
  /** Streams whose HEADERS went out before the connection ended. */
  opened: number;
  /** Streams the server answered with a response (a status in trailers-only HEADERS, or headers). */
  answered: number;
  /** RST_STREAM frames from the server, by error code. */
  resets: Map<number, number>;
  /** The server's GOAWAY, if any. */
  goaway: { code: number; debug: string } | undefined;
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS, if it announced one. */
  maxConcurrentStreams: number | undefined;
  /** The connection has closed. */
  closed: boolean;
}

export interface Flood {
  /** Resolves once every HEADERS frame went out (or the connection ended first). */
  sent: Promise<void>;
  /** What the server answered so far. */
  outcome(): FloodOutcome;
  /** Resolves once `predicate` holds for the outcome (checked on each frame from the server). */
  until(predicate: (outcome: FloodOutcome) => boolean): Promise<FloodOutcome>;
  close(): void;
}

/** Opens `streams` streams of `method` on one connection to 127.0.0.1:`port`; none sends a message. */
export function floodStreams(port: number, streams: number, method = 'DoAction'): Flood {
  const socket = net.connect(port, '127.0.0.1');
  const parser = new FrameParser(false);
  const state: FloodOutcome = {
    opened: 0,
    answered: 0,
    resets: new Map(),
    goaway: undefined,
    maxConcurrentStreams: undefined,
    closed: false,
  };
  const waiters: Array<{ predicate: (o: FloodOutcome) => boolean; resolve: (o: FloodOutcome) => void }> = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.predicate(state)) waiters.splice(i, 1)[0]!.resolve(state);
    }
  };
  socket.on('error', () => {});
  socket.on('close', () => {
    state.closed = true;
    check();
  });
  socket.on('data', (chunk: Buffer) => {
    for (const frame of parser.push(chunk)) {
      switch (frame.type) {
        case FrameType.SETTINGS:
          if (frame.flags & FrameFlag.ACK) break;
          for (let at = 0; at + 6 <= frame.payload.byteLength; at += 6) {
            if (frame.payload.readUInt16BE(at) === 0x3) state.maxConcurrentStreams = frame.payload.readUInt32BE(at + 2);
          }
          socket.write(encodeFrame(FrameType.SETTINGS, FrameFlag.ACK, 0));
          break;
        case FrameType.PING:
          if (!(frame.flags & FrameFlag.ACK)) socket.write(encodeFrame(FrameType.PING, FrameFlag.ACK, 0, frame.payload));
          break;
        case FrameType.HEADERS:
          state.answered++;
          break;
        case FrameType.RST_STREAM: {
          const code = frame.payload.readUInt32BE(0);
          state.resets.set(code, (state.resets.get(code) ?? 0) + 1);
          break;
        }
        case FrameType.GOAWAY:
          state.goaway = { code: frame.payload.readUInt32BE(4), debug: frame.payload.subarray(8).toString() };
          break;
      }
    }
    check();
  });
  const block = encodeHeaders([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', `/${SERVICE_NAME}/${method}`],
    [':authority', `127.0.0.1:${port}`],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ]);
  const sent = new Promise<void>((resolve) => {
    socket.once('connect', async () => {
      socket.write(Buffer.concat([PREFACE, settingsFrame([])]));
      for (let i = 0; i < streams; i += 256) {
        if (socket.destroyed) break;
        const frames: Buffer[] = [];
        for (let j = i; j < Math.min(streams, i + 256); j++)
          frames.push(encodeFrame(FrameType.HEADERS, FrameFlag.END_HEADERS, 2 * j + 1, block));
        state.opened += frames.length;
        if (!socket.write(Buffer.concat(frames))) {
          await new Promise<void>((drained) => {
            socket.once('drain', drained);
            socket.once('close', drained);
          });
        }
      }
      resolve();
    });
    socket.once('close', () => resolve());
  });
  return {
    sent,
    outcome: () => state,
    until: (predicate) =>
      new Promise((resolve) => {
        if (predicate(state) || socket.destroyed) resolve(state);
        else waiters.push({ predicate: (o) => predicate(o) || socket.destroyed, resolve });
      }),
    close: () => socket.destroy(),
  };
}

/** A process's resident set size in bytes (VmRSS in /proc/<pid>/status). */
export function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}
