const config = {};

if (!config.ready) {
  throw new Error("configuration missing at load");
}

export default { fetch: () => new Response("unreachable") };
