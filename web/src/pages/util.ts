// Helpers the pages share: whole lists from paged endpoints, a section with a heading, an action
// wrapper that reports the API's answer in the status line, and a "not available" block.
import { ApiError, get, type Page, type Query } from "../api";
import { clear, h, say } from "../dom";
import { t } from "../i18n";

export async function list<T>(path: string, query: Query = {}): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 20; i++) {
    const p: Page<T> = await get<Page<T>>(path, { limit: 500, ...query, cursor });
    out.push(...p.items);
    if (!p.next_cursor) break;
    cursor = p.next_cursor;
  }
  return out;
}

export function section(title: string, ...children: (Node | string | null | false)[]): HTMLElement {
  const s = h("section", { class: "card" }, h("h2", null, title));
  for (const c of children) if (c) s.append(c);
  hideEchoedCaptions(s);
  return s;
}

// A table captioned like its section keeps the caption for screen readers only.
export function hideEchoedCaptions(sec: Element | null): void {
  const title = sec?.querySelector("h2")?.textContent;
  if (sec && title) for (const cap of sec.querySelectorAll("caption")) if (cap.textContent === title) cap.classList.add("sr-only");
}

// Runs an action; success or the API's error goes to the status line. Returns whether it worked.
export async function act(what: () => Promise<unknown>, okText: string): Promise<boolean> {
  try {
    await what();
    say(okText, "ok");
    return true;
  } catch (e) {
    say(errText(e), "error");
    return false;
  }
}

export function errText(e: unknown): string {
  if (e instanceof ApiError)
    return `${t("error.api", { status: e.status, code: e.code })}: ${e.message}${e.field ? ` [${e.field}]` : ""}`;
  return String(e);
}

export function isMissingEndpoint(e: unknown): boolean {
  return e instanceof ApiError && ((e.status === 404 && e.message.startsWith("no such endpoint")) || e.status === 405);
}

export function notAvailable(what: string): HTMLElement {
  return h("p", { class: "not-available", role: "note" }, t("common.notAvailable", { what }));
}

// Replaces a container's content with a list loaded now; a load error is shown in place.
export async function fill(el: HTMLElement, load: () => Promise<HTMLElement>): Promise<void> {
  try {
    clear(el, await load());
    hideEchoedCaptions(el.closest("section"));
  } catch (e) {
    clear(el, h("p", { class: "form-error", role: "alert" }, errText(e)));
  }
}

export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  new FormData(form).forEach((v, k) => {
    if (typeof v === "string") out[k] = v.trim();
  });
  return out;
}

// Date input (YYYY-MM-DD, local time) -> unix seconds, 0 when empty.
export function dateToUnix(v: string | undefined, endOfDay = false): number {
  if (!v) return 0;
  const d = new Date(`${v}T${endOfDay ? "23:59:59" : "00:00:00"}`);
  return Number.isNaN(d.getTime()) ? 0 : Math.floor(d.getTime() / 1000);
}

// Symbols out of a verdict text: "NAME(score)" items, e.g. "spam score=10.00 TEST_X(10),BAYES(1.2)".
export function parseSymbols(text: string): { name: string; score: string }[] {
  const out: { name: string; score: string }[] = [];
  const re = /([A-Z][A-Z0-9_]{2,})\((-?[0-9.]+)\)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) out.push({ name: m[1] ?? "", score: m[2] ?? "" });
  return out;
}
