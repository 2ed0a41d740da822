// Throwaway TLS material for tests, made with the openssl CLI: a CA, a server certificate for
// localhost / 127.0.0.1 signed by it, and a client certificate for mutual TLS. Files go to a temp
// directory the caller removes (`remove()`).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  dir: string;
  /** PEM paths, for peers that take files. */
  paths: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  /** A second, unrelated CA: a client trusting only it must refuse our server. */
  otherCa: Buffer;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr || String(error)}`);
  }
}

/** Requires the `openssl` command (checked with a clear error). */
export function makeTestCertificates(): TestCertificates {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the TLS tests need the openssl command on PATH to make a throwaway certificate authority');
  }
  const dir = mkdtempSync(join(tmpdir(), 'flight-tls-'));
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const selfSigned = (name: string, subject: string) =>
    openssl(['req', '-x509', ...key, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', subject], dir);
  const signed = (name: string, subject: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(['req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  };
  selfSigned('ca', '/CN=duck-takes-flight test CA');
  selfSigned('other-ca', '/CN=an unrelated CA');
  signed('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  signed('client', '/CN=flight-test-client', 'extendedKeyUsage=clientAuth\n');
  const path = (file: string) => join(dir, file);
  const read = (file: string) => readFileSync(path(file));
  return {
    dir,
    paths: {
      ca: path('ca.pem'),
      serverCert: path('server.pem'),
      serverKey: path('server.key'),
      clientCert: path('client.pem'),
      clientKey: path('client.key'),
    },
    ca: read('ca.pem'),
    serverCert: read('server.pem'),
    serverKey: read('server.key'),
    clientCert: read('client.pem'),
    clientKey: read('client.key'),
    otherCa: read('other-ca.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
