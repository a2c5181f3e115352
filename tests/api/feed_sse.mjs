// feed_sse.mjs - t60's second client of the change feed's Server-Sent Events:
// Node's own fetch (undici), as a dialer written in JavaScript would read it.
//
//   node feed_sse.mjs URL AUTHORIZATION COUNT TIMEOUT_MS [LAST_EVENT_ID]
//
// Prints one JSON line {status, contentType, cursor} once the head is in,
// then one line {id, event, data} per event (comments and retry: are not
// events), and exits 0 after COUNT events; {"timeout": true} and exit 2 if
// TIMEOUT_MS passes first; a non-200 answer prints {body} and exits 0.
const [url, auth, count, timeoutMs, lastId] = process.argv.slice(2);
const ctl = new AbortController();
const timer = setTimeout(() => {
  console.log(JSON.stringify({ timeout: true }));
  ctl.abort();
  process.exit(2);
}, Number(timeoutMs));
const headers = { Accept: 'text/event-stream', Authorization: auth };
if (lastId) headers['Last-Event-ID'] = lastId;
const res = await fetch(url, { headers, signal: ctl.signal });
console.log(JSON.stringify({
  status: res.status,
  contentType: res.headers.get('content-type'),
  cursor: res.headers.get('x-change-cursor'),
}));
if (res.status !== 200) {
  console.log(JSON.stringify({ body: await res.text() }));
  clearTimeout(timer);
  process.exit(0);
}
const dec = new TextDecoder();
let buf = '';
let n = 0;
for await (const chunk of res.body) {
  buf += dec.decode(chunk, { stream: true });
  buf = buf.replace(/\r\n/g, '\n');
  let i;
  while ((i = buf.indexOf('\n\n')) >= 0) {
    const block = buf.slice(0, i);
    buf = buf.slice(i + 2);
    const ev = { id: null, event: null, data: [] };
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? '' : line.slice(c + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') ev.id = value;
      else if (field === 'event') ev.event = value;
      else if (field === 'data') ev.data.push(value);
    }
    if (ev.data.length === 0) continue;
    console.log(JSON.stringify({ id: ev.id, event: ev.event, data: ev.data.join('\n') }));
    if (++n >= Number(count)) {
      clearTimeout(timer);
      ctl.abort();
      process.exit(0);
    }
  }
}
console.log(JSON.stringify({ ended: true, events: n }));
clearTimeout(timer);
process.exit(n >= Number(count) ? 0 : 3);
