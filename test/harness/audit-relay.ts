// A daemon of the test stack: OpenBao's socket audit device connects here (OpenBao tests the
// device when it starts, so something must always listen), and every byte it sends is passed on
// to the address an operator under test listens on (--vault.audit-listen, VAULT_AUDIT_SOCKET_ADDR).
// The relay is transparent: a connection from OpenBao is mirrored by one to the operator, closed
// when OpenBao's closes; with no operator listening the bytes are dropped, and it never pushes
// back on OpenBao.
//
//   node audit-relay.ts <listen port> <forward port>

import { connect, createServer, type Socket } from 'node:net';

const [listenPort, forwardPort] = process.argv.slice(2).map(Number);
if (!listenPort || !forwardPort) {
  process.stderr.write('usage: audit-relay.ts <listen port> <forward port>\n');
  process.exit(2);
}

/** Bytes held for a slow operator before they are dropped. */
const maxBuffered = 8 * 1024 * 1024;

createServer((upstream) => {
  let downstream: Socket | undefined;
  let connecting: Socket | undefined;
  let closed = false;
  // Bytes that came while the connection to the operator was being made: sent once it is.
  let held: Buffer[] = [];
  let heldBytes = 0;
  const open = (): void => {
    if (downstream || connecting || closed) return;
    const socket = connect(forwardPort, '127.0.0.1');
    connecting = socket;
    socket.once('connect', () => {
      connecting = undefined;
      if (closed) {
        socket.end();
        return;
      }
      downstream = socket;
      for (const chunk of held) socket.write(chunk);
      held = [];
      heldBytes = 0;
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      if (connecting === socket) connecting = undefined;
      if (downstream === socket) downstream = undefined;
      held = [];
      heldBytes = 0;
    });
  };
  open();
  upstream.on('data', (chunk: Buffer) => {
    if (downstream) {
      if (downstream.writableLength < maxBuffered) downstream.write(chunk);
      return;
    }
    if (heldBytes + chunk.length <= maxBuffered) {
      held.push(chunk);
      heldBytes += chunk.length;
    }
    open();
  });
  upstream.on('error', () => undefined);
  upstream.once('close', () => {
    closed = true;
    downstream?.end();
    connecting?.destroy();
  });
}).listen(listenPort, '127.0.0.1', () =>
  process.stdout.write(`relaying :${listenPort} to :${forwardPort}\n`),
);
