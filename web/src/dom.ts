// Small DOM helpers: elements are built with h() (text always goes in as text nodes, never as
// HTML), tables with headers, forms with labelled fields, the aria-live status line, and dates
// in the user's time zone. No innerHTML anywhere: quarantined mail is shown as text only.
import { lang, t } from "./i18n";

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs)
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
      else if (k === "class") el.className = String(v);
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let seq = 0;
export function uid(prefix = "f"): string {
  seq += 1;
  return `${prefix}-${seq}`;
}

// A labelled field: <label for> + control. `control` gets the id.
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || uid();
  control.id = id;
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), control);
  if (hint) {
    const hid = uid("hint");
    control.setAttribute("aria-describedby", hid);
    wrap.appendChild(h("small", { id: hid, class: "hint" }, hint));
  }
  return wrap;
}

export function input(name: string, value = "", type = "text", extra: Attrs = {}): HTMLInputElement {
  return h("input", { name, type, value, ...extra });
}

export function select(name: string, options: [string, string][], value = ""): HTMLSelectElement {
  const s = h("select", { name });
  for (const [v, label] of options) s.appendChild(h("option", { value: v, selected: v === value }, label));
  return s;
}

export function button(label: string, onclick: (e: Event) => void, cls = "", extra: Attrs = {}): HTMLButtonElement {
  return h("button", { type: "button", class: cls, onclick: onclick as EventListener, ...extra }, label);
}

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
  cls?: string;
}

// A table with a caption and column headers (scope=col); an empty list shows one "none" row.
export function table<T>(caption: string, cols: Column<T>[], rows: T[], rowAttrs?: (r: T) => Attrs): HTMLElement {
  const head = h("tr", null, cols.map((c) => h("th", { scope: "col", class: c.cls ?? null }, c.label)));
  const body = h("tbody");
  if (rows.length === 0)
    body.appendChild(h("tr", null, h("td", { colspan: cols.length, class: "empty" }, t("common.none"))));
  for (const r of rows)
    body.appendChild(h("tr", rowAttrs ? rowAttrs(r) : null,
      cols.map((c) => h("td", { class: c.cls ?? null, "data-label": c.label || null }, c.cell(r)))));
  return h("div", { class: "table-wrap" }, h("table", null, h("caption", null, caption), h("thead", null, head), body));
}

// Dates: unix seconds (or microseconds with us=true) in the user's own time zone and language.
export function fmtTime(ts: number | null | undefined, us = false): string {
  if (!ts) return "—";
  const ms = us ? Math.floor(ts / 1000) : ts * 1000;
  return new Intl.DateTimeFormat(lang() === "ja" ? "ja-JP" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "medium",
  }).format(new Date(ms));
}

export function fmtShortTime(ts: number, withDate: boolean): string {
  return new Intl.DateTimeFormat(lang() === "ja" ? "ja-JP" : "en-GB",
    withDate ? { month: "short", day: "numeric" } : { hour: "2-digit", minute: "2-digit" }).format(new Date(ts * 1000));
}

export function fmtNum(n: number): string {
  return new Intl.NumberFormat(lang() === "ja" ? "ja-JP" : "en-GB").format(n);
}

export function timeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

// The page-wide status line (role=status / alert, aria-live): successes and errors of actions.
let statusEl: HTMLElement | null = null;
// One element for the whole session: a page re-rendered after an action keeps the action's message.
export function statusRegion(): HTMLElement {
  statusEl ??= h("div", { id: "status", class: "status", role: "status", "aria-live": "polite" });
  return statusEl;
}
export function say(text: string, kind: "ok" | "error" | "info" = "ok"): void {
  if (!statusEl) return;
  statusEl.className = `status status-${kind}`;
  statusEl.setAttribute("role", kind === "error" ? "alert" : "status");
  statusEl.textContent = text;
}
export function hush(): void {
  if (statusEl) {
    statusEl.className = "status";
    statusEl.textContent = "";
  }
}

// A block telling the page could not be shown (e.g. another tenant's page: 403/404).
export function errorBox(title: string, detail: string): HTMLElement {
  return h("div", { class: "error-box", role: "alert" }, h("strong", null, title), h("p", null, detail));
}

export function chips(items: string[]): HTMLElement {
  return h("ul", { class: "chips" }, items.map((s) => h("li", null, s)));
}
