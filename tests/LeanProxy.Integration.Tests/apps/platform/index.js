// What a handler may use of the browser platform (ChromiumBinaryTests): each check answers true or the error.
async function check(action) {
  try {
    return await action();
  } catch (e) {
    return `${e.name}: ${e.message}`;
  }
}

export default {
  async fetch() {
    return Response.json({
      canvas: await check(async () => {
        const canvas = new OffscreenCanvas(16, 16);
        canvas.getContext("2d").fillRect(0, 0, 8, 8);
        return (await canvas.convertToBlob({ type: "image/png" })).size > 0;
      }),
      webgl: await check(() => new OffscreenCanvas(1, 1).getContext("webgl2") !== null),
      webcrypto: await check(async () => (await crypto.subtle.digest("SHA-256", new Uint8Array([1]))).byteLength === 32),
      wasm: await check(async () => (await WebAssembly.instantiate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))).instance instanceof WebAssembly.Instance),
      audio: await check(async () => (await new OfflineAudioContext(1, 128, 44100).startRendering()).length === 128),
      compression: await check(async () => (await new Response(new Blob(["x".repeat(1000)]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer()).byteLength < 100),
    });
  },
};
