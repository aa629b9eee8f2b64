export function describe(request) {
  return `${request.method} ${new URL(request.url).pathname}`;
}
