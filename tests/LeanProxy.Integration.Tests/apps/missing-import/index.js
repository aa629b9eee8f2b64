import { helper } from "./does-not-exist.js";

export default { fetch: () => new Response(helper()) };
