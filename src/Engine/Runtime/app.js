// The app's module and env, set once by start() (index.js), and the ctx every handler gets.

export const current = { app: null, env: null };

export class Context {
  constructor(remoteAddress, remotePort) {
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
    this.props = {};
  }
  waitUntil(promise) {
    // The tab outlives the request, so the work goes on; only its failure needs reporting.
    Promise.resolve(promise).catch((e) => console.error("waitUntil promise rejected:", e));
  }
  passThroughOnException() {}
}
