// A tiny static server for the third-party adapter, on its own origin.
// Usage: node serve.mjs PORT DIALTONE_ORIGIN
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const [port, dialtone] = process.argv.slice(2);
if (!port || !dialtone) { console.error('usage: node serve.mjs PORT DIALTONE_ORIGIN'); process.exit(2); }
const root = fileURLToPath(new URL('.', import.meta.url));
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(root, path === '/' ? 'index.html' : path);
  if (!file.startsWith(root) || !types[extname(file)]) { res.writeHead(404).end('not found'); return; }
  try {
    let body = await readFile(file, 'utf8');
    if (extname(file) === '.html') body = body.replaceAll('__DIALTONE__', dialtone);
    res.writeHead(200, { 'Content-Type': types[extname(file)], 'Cache-Control': 'no-store' }).end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
}).listen(Number(port), '127.0.0.1', () => console.log(`adapter on http://127.0.0.1:${port}`));
