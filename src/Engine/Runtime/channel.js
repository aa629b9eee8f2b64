// How page messages get to the host when they are not in a batch call's result: coalesced per macrotask and sent
// through the __lpDone binding (PageBindings.Messages), which the host adds over CDP while the page loads: it is
// looked up when a message is sent, not now. Every payload says which data-plane messages it needs (dataplane.js).

import { withNeed } from "./dataplane.js";

const send = (payload) => globalThis.__lpDone(withNeed(payload));

// --- macrotask tick (MessageChannel: not clamped like setTimeout) ---
const channel = new MessageChannel();
let ticks = [];
channel.port1.onmessage = () => {
  const run = ticks;
  ticks = [];
  for (const f of run) f();
};

export function onNextTick(f) {
  ticks.push(f);
  if (ticks.length === 1) channel.port2.postMessage(0);
}

let outbox = [];

export function post(message) {
  outbox.push(message);
  if (outbox.length === 1) {
    onNextTick(() => {
      const messages = outbox;
      outbox = [];
      send(JSON.stringify(messages));
    });
  }
}

// A batch call's answers: what finishes while the batch is open rides back in the call's result (one CDP message);
// later answers are posted through the binding.
export function settle(batch, message) {
  if (batch.open) {
    if (message !== null) batch.out.push(message);
    if (--batch.pending === 0) batch.close();
  } else if (message !== null) {
    post(message);
  }
}
