// Live events over /api/v1/realtime/ws, reconnecting with resume positions.
import { refresh } from "./api";

export type ConnState = "connecting" | "live" | "offline";
export interface Frame {
  type: string;
  topic?: string;
  offset?: number;
  epoch?: string;
  data?: any;
}

function b64url(s: string) {
  return btoa(unescape(encodeURIComponent(s))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export class Realtime {
  private ws: WebSocket | null = null;
  private topics: string[] = [];
  private positions: Record<string, { epoch: string; offset: number }> = {};
  private closed = false;
  private backoff = 500;
  private timer: number | undefined;

  constructor(private onFrame: (f: Frame) => void, private onState: (s: ConnState) => void) {}

  setTopics(topics: string[]) {
    const next = [...new Set(topics)].sort();
    if (next.join(",") === this.topics.join(",") && this.ws) return;
    this.topics = next;
    this.reconnect(0);
  }

  private reconnect(delay: number) {
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
      this.ws = null;
    }
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.open(), delay);
  }

  private open() {
    if (this.closed || this.topics.length === 0) return;
    this.onState("connecting");
    const known: Record<string, { epoch: string; offset: number }> = {};
    for (const t of this.topics) if (this.positions[t]) known[t] = this.positions[t];
    // the access cookie authenticates the upgrade (same origin)
    const q = new URLSearchParams({ topics: this.topics.join(",") });
    if (Object.keys(known).length) q.set("resume", b64url(JSON.stringify(known)));
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/api/v1/realtime/ws?${q}`);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.backoff = 500;
      this.onState("live");
    };
    ws.onmessage = (m) => {
      let f: Frame;
      try {
        f = JSON.parse(m.data);
      } catch {
        return;
      }
      if (f.topic && f.epoch !== undefined && typeof f.offset === "number") {
        this.positions[f.topic] = { epoch: f.epoch, offset: f.offset };
      }
      this.onFrame(f);
    };
    ws.onclose = () => {
      this.ws = null;
      this.onState("offline");
      if (!this.closed) {
        this.backoff = Math.min(this.backoff * 2, 15000);
        // refused before opening: the access cookie may have expired
        if (!opened) refresh().finally(() => this.reconnect(this.backoff));
        else this.reconnect(this.backoff);
      }
    };
  }

  send(frame: object) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  close() {
    this.closed = true;
    window.clearTimeout(this.timer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
    }
  }
}
