// The benchmark's peer: the common way to render the same messages, re-rendering from scratch
// on every update (innerHTML of the whole markdown reply; innerHTML of the whole tile list).
// Browser code, bundled by bench/dashboard.ts with esbuild.
import DOMPurify from "dompurify";
import { marked } from "marked";

const reply = document.createElement("div");
reply.id = "peer-reply";
const tiles = document.createElement("div");
document.body.append(reply, tiles);
let text = "";
const fmt = (v, d = 1) => (v === null || v === undefined ? "n/a" : v.toFixed(d));

window.addEventListener("message", (event) => {
  const m = event.data;
  if (m.type === "chat.delta") {
    text += m.text;
    reply.innerHTML = DOMPurify.sanitize(marked.parse(text));
  } else if (m.type === "metrics") {
    tiles.innerHTML = m.snapshot.servers
      .map(
        (s) => `<article class="tile"><header>${s.profileName}</header><div>${s.engine}</div>
        <div><span>Memory</span><span>${fmt(s.memoryBytes / 1e9)} GB</span></div>
        <div><span>CPU</span><span>${fmt(s.cpuPercent, 0)} %</span></div>
        <div><span>Tokens/s last</span><span>${fmt(s.tokensPerSecLast)}</span></div>
        <div><span>Tokens/s 1 min</span><span>${fmt(s.tokensPerSecMinute)}</span></div>
        <div><span>TTFT p50</span><span>${fmt(s.ttftP50Ms, 0)} ms</span></div>
        <div><span>Requests</span><span>${s.requests}</span></div>
        <svg viewBox="0 0 120 28"><polyline points="${s.history.memoryBytes.map(([t, v], i) => `${i * 4},${(v / 1e8) % 28}`).join(" ")}"/></svg>
        <button>Stop</button><button>Restart</button><button>Logs</button><button>Chat</button></article>`,
      )
      .join("");
  }
});
window.__peerReady = true;
