// post_big.mjs - t49's Node client: Node's own fetch (undici) sending a
// body that cmsd refuses before reading it (413 over --body-limit, 401
// without credentials...), as a JavaScript client of the API would.
//
//   node post_big.mjs URL METHOD BYTES TRIES [AUTHORIZATION]
//
// Prints one JSON line per try: {status, body} when the answer was read,
// {error, cause} when fetch failed (EPIPE, ECONNRESET...).  Exits 0.
const [url, method, bytes, tries, auth] = process.argv.slice(2);
const body = Buffer.alloc(Number(bytes), 0x78);
const headers = { 'Content-Type': 'application/json' };
if (auth) headers.Authorization = auth;
for (let i = 0; i < Number(tries); i++) {
  try {
    const res = await fetch(url, { method, body, headers, signal: AbortSignal.timeout(20000) });
    console.log(JSON.stringify({ status: res.status, body: await res.text() }));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e), cause: String(e.cause) }));
  }
}
