// Charts drawn as SVG by hand: stacked bars (verdicts per time bucket) and horizontal bars (top
// lists). Colours are SVG attributes (no inline style), every chart has a title for screen readers.
const NS = "http://www.w3.org/2000/svg";

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...kids: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of kids) el.append(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}

export interface SeriesDef {
  key: string;
  label: string;
  color: string;
}

// The axis top: four equal integer steps of 1, 2 or 5 times a power of ten.
function niceMax(v: number): number {
  const raw = Math.max(1, Math.ceil(v / 4));
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw) ?? 10 * p;
  return step * 4;
}

// Stacked bars: one bar per row of `data`, stacked by `series`; `tick` labels the x axis.
export function stackedBars(title: string, data: Record<string, number>[], series: SeriesDef[], tick: (row: Record<string, number>) => string): SVGSVGElement {
  const W = 720, H = 240, L = 44, R = 8, T = 10, B = 28;
  const totals = data.map((d) => series.reduce((a, x) => a + (d[x.key] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const iw = W - L - R, ih = H - T - B;
  const bw = data.length ? iw / data.length : iw;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, class: "chart", preserveAspectRatio: "xMidYMid meet" }, s("title", {}, title));
  for (let i = 0; i <= 4; i++) {
    const y = T + ih - (ih * i) / 4;
    svg.append(s("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }),
      s("text", { x: L - 6, y: y + 4, "text-anchor": "end", class: "axis" }, String(Math.round((max * i) / 4))));
  }
  const every = Math.max(1, Math.ceil(data.length / 8));
  data.forEach((d, i) => {
    let y = T + ih;
    const x = L + i * bw;
    for (const ser of series) {
      const v = d[ser.key] ?? 0;
      if (v <= 0) continue;
      const hgt = (v / max) * ih;
      y -= hgt;
      svg.append(s("rect", { x: x + bw * 0.12, y, width: Math.max(1, bw * 0.76), height: hgt, fill: ser.color },
        s("title", {}, `${tick(d)} ${ser.label}: ${v}`)));
    }
    if (i % every === 0)
      svg.append(s("text", { x: x + bw / 2, y: H - 8, "text-anchor": "middle", class: "axis" }, tick(d)));
  });
  return svg;
}

// Horizontal bars for a top-N list.
export function hbars(title: string, rows: { label: string; value: number }[], color = "#b23b3b"): SVGSVGElement {
  const W = 440, row = 26, L = 190, R = 40;
  const H = Math.max(1, rows.length) * row + 8;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, class: "chart hbars" }, s("title", {}, title));
  rows.forEach((r, i) => {
    const y = 4 + i * row;
    const w = ((W - L - R) * r.value) / max;
    const label = r.label.length > 26 ? `${r.label.slice(0, 25)}…` : r.label;
    svg.append(s("text", { x: L - 6, y: y + 15, "text-anchor": "end", class: "axis label" }, label),
      s("rect", { x: L, y: y + 3, width: Math.max(1, w), height: row - 8, fill: color }, s("title", {}, `${r.label}: ${r.value}`)),
      s("text", { x: L + w + 4, y: y + 15, class: "axis value" }, String(r.value)));
  });
  return svg;
}

// A usage meter (used of licensed) as an SVG bar.
export function meter(label: string, used: number, total: number): SVGSVGElement {
  const W = 240, H = 14;
  const frac = total > 0 ? Math.min(1, used / total) : 0;
  const over = total > 0 && used > total;
  return s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, class: "meter" },
    s("title", {}, label),
    s("rect", { x: 0, y: 0, width: W, height: H, rx: 3, fill: "#e3e8ef" }),
    s("rect", { x: 0, y: 0, width: W * frac, height: H, rx: 3, fill: over ? "#b23b3b" : "#2f7d4f" }));
}
