// The desktop WebSocket (docs/DESKTOP.md §2): server → client messages,
// reconnect with capped exponential backoff and jitter, a ping to keep
// proxies from closing an idle socket. Every (re)connect starts with
// `hello`, from which the listener rebuilds its whole state.

export class DesktopSocket {
  /**
   * @param {object} o
   * @param {(msg: object) => void} o.onMessage every parsed message
   * @param {(state: string, detail?: object) => void} [o.onState] "connecting" | "open" | "waiting" | "closed"
   */
  constructor({ onMessage, onState = () => {}, path = '/api/desktop/ws' }) {
    this.onMessage = onMessage;
    this.onState = onState;
    this.path = path;
    this.attempt = 0;
    this.ws = null;
    this.stopped = false;
    this.timer = null;
    this.pinger = null;
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${this.path}`;
  }

  start() {
    this.stopped = false;
    this.connect();
    window.addEventListener('online', () => this.retryNow());
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) this.ws.close(1000, 'bye');
    this.onState('closed');
  }

  retryNow() {
    if (this.stopped || (this.ws && this.ws.readyState <= 1)) return;
    clearTimeout(this.timer);
    this.connect();
  }

  connect() {
    this.onState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.schedule();
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.onState('open');
      clearInterval(this.pinger);
      this.pinger = setInterval(() => { if (ws.readyState === 1) ws.send('{"type":"ping"}'); }, 25000);
    });
    ws.addEventListener('message', (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (!msg || typeof msg.type !== 'string' || msg.type === 'pong') return;
      if (msg.type === 'hello') this.attempt = 0;
      try { this.onMessage(msg); } catch (e) { console.error('desktop socket: handler failed', e); }
    });
    ws.addEventListener('close', () => {
      clearInterval(this.pinger);
      if (this.ws === ws) this.ws = null;
      if (!this.stopped) this.schedule();
    });
    ws.addEventListener('error', () => { /* close follows */ });
  }

  schedule() {
    // 0.5 s, 1 s, 2 s … capped at 30 s, ±30 % jitter so a restart is not a stampede.
    const base = Math.min(30000, 500 * 2 ** Math.min(this.attempt, 6));
    const delay = Math.round(base * (0.7 + Math.random() * 0.6));
    this.attempt += 1;
    this.onState('waiting', { delayMs: delay, attempt: this.attempt });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
