// Raw TCP: connect(socket, env, ctx) with socket.readable / socket.writable, for each HostMessage.TcpOpen; the other
// Tcp* messages of the connection follow. Flow control both ways: at most TCP_WINDOW bytes are unacknowledged in
// either direction (the host stops reading the socket; the writable's write() waits).
import { Context, current } from "./app.js";
import { post } from "./channel.js";
import { HostMessage, PageMessage, asBytes, dataMessage, decodeData, describe, failure } from "./protocol.js";

const TCP_WINDOW = 256 * 1024;
const TCP_CHUNK = 64 * 1024;
const connections = new Map();

// What the handler gets; the connection's state lives in Connection.
class Socket {
  #connection;
  constructor(connection, remoteAddress, remotePort) {
    this.#connection = connection;
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
    this.readable = connection.readable;
    this.writable = connection.writable;
    this.opened = Promise.resolve({ remoteAddress, remotePort });
    this.closed = connection.closed;
  }
  close() { return this.#connection.close(); }
}

class Connection {
  constructor(id, remoteAddress, remotePort) {
    this.id = id;
    this.queue = [];          // bytes from the client the handler has not pulled yet
    this.pulling = null;      // resolves the readable's pending pull
    this.eof = false;         // the client sent EOF
    this.readDone = false;    // EOF arrived, the readable was cancelled, or the connection is gone
    this.readClosed = false;
    this.writeDone = false;   // the writable was closed or aborted
    this.ended = false;
    this.unacked = 0;         // bytes written and not yet acknowledged by the host
    this.draining = [];       // writes waiting for credit
    this.closed = new Promise((resolve, reject) => { this.resolveClosed = resolve; this.rejectClosed = reject; });
    this.closed.catch(() => {}); // a reset is not an unhandled rejection unless the handler awaits socket.closed
    const self = this;
    this.readable = new ReadableStream({
      start(controller) { self.rc = controller; },
      pull() { return self.pull(); },
      cancel() { self.cancelRead(); },
    }, { highWaterMark: 0 });
    this.writable = new WritableStream({
      start(controller) { self.wc = controller; },
      write(chunk) { return self.write(chunk); },
      close() { self.shutdownWrite(); },
      abort() { self.shutdownWrite(); },
    });
    this.socket = new Socket(this, remoteAddress, remotePort);
  }

  pull() {
    if (this.queue.length) {
      this.deliver(this.queue.shift());
      return undefined;
    }
    if (this.eof || this.readDone) {
      this.closeReadable();
      return undefined;
    }
    return new Promise((resolve) => { this.pulling = resolve; });
  }

  deliver(bytes) {
    this.rc.enqueue(bytes);
    if (!this.ended) post([PageMessage.TcpAck, this.id, bytes.length]);
  }

  wake() {
    const resolve = this.pulling;
    this.pulling = null;
    if (resolve) resolve();
  }

  closeReadable() {
    if (this.readClosed) return;
    this.readClosed = true;
    try { this.rc.close(); } catch { /* cancelled or errored already */ }
  }

  onData(bytes) {
    if (this.readDone) {
      post([PageMessage.TcpAck, this.id, bytes.length]); // cancelled: dropped, but the credit goes back
    } else if (this.pulling) {
      this.deliver(bytes);
      this.wake();
    } else {
      this.queue.push(bytes);
    }
  }

  onEof() {
    this.eof = true;
    this.readDone = true;
    if (this.pulling && this.queue.length === 0) {
      this.closeReadable();
      this.wake();
    }
    this.maybeEnd();
  }

  cancelRead() {
    this.readDone = true;
    this.readClosed = true;
    let dropped = 0;
    for (const bytes of this.queue) dropped += bytes.length;
    this.queue = [];
    if (dropped && !this.ended) post([PageMessage.TcpAck, this.id, dropped]);
    this.maybeEnd();
  }

  write(chunk) {
    if (this.ended) throw new TypeError("The socket is closed.");
    const bytes = asBytes(chunk);
    if (bytes === null) throw new TypeError(`socket.writable takes Uint8Array, ArrayBuffer or string chunks, not ${describe(chunk)}`);
    for (let i = 0; i < bytes.length; i += TCP_CHUNK) post(dataMessage(PageMessage.TcpWrite, this.id, bytes.subarray(i, i + TCP_CHUNK)));
    this.unacked += bytes.length;
    if (this.unacked > TCP_WINDOW) return new Promise((resolve) => this.draining.push(resolve));
    return undefined;
  }

  onAck(count) {
    this.unacked -= count;
    if (this.unacked <= TCP_WINDOW) this.releaseWrites();
  }

  releaseWrites() {
    const waiting = this.draining;
    this.draining = [];
    for (const resolve of waiting) resolve();
  }

  shutdownWrite() {
    if (this.writeDone || this.ended) return;
    this.writeDone = true;
    post([PageMessage.TcpShutdownWrite, this.id]);
    this.maybeEnd();
  }

  // Both directions finished: the connection is done.
  maybeEnd() {
    if (!this.ended && this.readDone && this.writeDone) {
      post([PageMessage.TcpClose, this.id]);
      this.end(null);
    }
  }

  end(error) {
    this.ended = true;
    connections.delete(this.id);
    this.releaseWrites();
    if (error) this.rejectClosed(error);
    else this.resolveClosed();
  }

  close() {
    if (!this.ended) {
      this.readDone = true;
      this.writeDone = true;
      if (!this.readClosed && this.queue.length === 0) {
        this.closeReadable();
        this.wake();
      }
      post([PageMessage.TcpClose, this.id]);
      this.end(null);
    }
    return this.closed;
  }

  // The connection is gone: the client reset it, the server is stopping, or the handler failed.
  fail(error) {
    if (this.ended) return;
    this.readDone = true;
    this.writeDone = true;
    this.readClosed = true;
    try { this.rc.error(error); } catch { /* closed already */ }
    try { this.wc.error(error); } catch { /* closed already */ }
    this.wake();
    this.end(error);
  }

  // The handler returned: streams it never took are finished for it, so an unused direction does not hold the
  // connection open.
  settled() {
    if (this.ended) return;
    if (!this.readable.locked && !this.readDone) this.readable.cancel().catch(() => {});
    if (!this.writable.locked && !this.writeDone) this.writable.close().catch(() => {});
  }

  handlerFailed(error) {
    if (this.ended) return;
    const [, , , message, stack] = failure(this.id, error);
    post([PageMessage.TcpError, this.id, message, stack]);
    this.fail(error);
  }
}

function openConnection(id, remoteAddress, remotePort) {
  const connection = new Connection(id, remoteAddress, remotePort);
  connections.set(id, connection);
  let result;
  try {
    result = current.app.connect(connection.socket, current.env, new Context(remoteAddress, remotePort));
  } catch (e) {
    connection.handlerFailed(e);
    return;
  }
  Promise.resolve(result).then(() => connection.settled(), (e) => connection.handlerFailed(e));
}

// A Tcp* host message: [kind, id, ...].
export function handleTcp(message) {
  const [kind, id] = message;
  if (kind === HostMessage.TcpOpen) {
    openConnection(id, message[2], message[3]);
    return;
  }
  const connection = connections.get(id);
  if (connection === undefined) return; // closed meanwhile
  switch (kind) {
    case HostMessage.TcpData: connection.onData(decodeData(message[2], message[3])); break;
    case HostMessage.TcpEof: connection.onEof(); break;
    case HostMessage.TcpAbort: connection.fail(new Error("The connection was reset.")); break;
    case HostMessage.TcpAck: connection.onAck(message[2]); break;
  }
}

// A connection's handler failed while its message was handled.
export function failConnection(id, error) {
  connections.get(id)?.handlerFailed(error);
}
