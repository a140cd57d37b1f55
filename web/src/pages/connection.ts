// Connection control: the tenant's allow list, strictness and greylisting, an IP reputation
// lookup, and for operators the operator-wide allow list and the worst-reputed addresses. Each
// part loads on its own: one the API lacks says so and the others still work.
import { del, enc, get, post, put } from "../api";
import { button, clear, field, fmtTime, h, input, select, table } from "../dom";
import { t, tv } from "../i18n";
import type { PageCtx } from "./index";
import { act, dateToUnix, errText, fill, formValues, isMissingEndpoint, list, notAvailable, section } from "./util";

interface AllowEntry {
  id: number | string;
  entry?: string;
  pattern?: string;
  tenant?: string;
  note?: string;
  expires_at?: number;
  created_at?: number;
  created_by?: string;
}
interface ConnSettings {
  strictness: string;
  greylisting: boolean;
  inherited?: boolean; // no level of its own: the server's [connection] default applies
}

export async function connectionPage(ctx: PageCtx, h1: HTMLElement): Promise<void> {
  const tn = ctx.tenant;
  const isOp = ctx.session.role === "operator";
  const settingsBox = h("div");
  const allowBox = h("div");
  const opAllowBox = h("div");
  const topBox = h("div");
  const repOut = h("div", { id: "rep-result", "aria-live": "polite" });

  const ipIn = input("ip", ctx.query.get("ip") ?? "", "text", { required: true, placeholder: "192.0.2.1", id: "rep-ip" });
  const repForm = h("form", { class: "inline-form", role: "search", "aria-label": t("conn.lookup") },
    field(t("conn.ip"), ipIn), h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary", id: "rep-submit" }, t("conn.lookup.go"))));
  repForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    await lookup(ipIn.value.trim());
  });
  async function lookup(ip: string): Promise<void> {
    if (!ip) return;
    clear(repOut, h("p", null, t("common.loading")));
    try {
      const r = await get<Record<string, unknown>>(`/reputation/ips/${enc(ip)}`, { tenant: tn });
      clear(repOut, reputationView(r));
    } catch (e) {
      clear(repOut, isMissingEndpoint(e) ? notAvailable(t("conn.lookup")) : h("p", { class: "form-error", role: "alert" }, errText(e)));
    }
  }

  clear(ctx.main, h1, h("p", { class: "muted" }, t("conn.intro", { tenant: tn })),
    section(t("conn.settings"), settingsBox),
    section(t("conn.allow", { tenant: tn }), allowBox),
    section(t("conn.lookup"), repForm, repOut),
    isOp ? section(t("conn.opAllow"), opAllowBox) : null,
    isOp ? section(t("conn.top"), topBox) : null);

  const base = `/tenants/${enc(tn)}`;
  await Promise.all([
    fill(settingsBox, async () => {
      try {
        return settingsForm(await get<ConnSettings>(`${base}/connection`));
      } catch (e) {
        if (isMissingEndpoint(e)) return notAvailable(t("conn.settings"));
        throw e;
      }
    }),
    fill(allowBox, () => allowList(`${base}/allowlist`, t("conn.allow", { tenant: tn }))),
    isOp ? fill(opAllowBox, () => allowList("/allowlist", t("conn.opAllow"))) : Promise.resolve(),
    isOp ? fill(topBox, async () => {
      try {
        const r = await get<unknown>("/reputation/top", { limit: 20 });
        const items = (Array.isArray(r) ? r : (r as { items?: unknown[] }).items ?? []) as Record<string, unknown>[];
        return table(t("conn.top"), [
          { label: t("conn.source"), cell: (x: Record<string, unknown>) => {
            const src = String(x["source"] ?? x["ip"] ?? "");
            return x["kind"] === "network" ? src : button(src, () => { ipIn.value = src; void lookup(src); }, "link", { "aria-label": `${t("conn.lookup.go")}: ${src}` });
          } },
          { label: t("conn.kind"), cell: (x) => String(x["kind"] ?? "") },
          { label: tv("conn.count", "bad"), cell: (x) => num(x["bad"]), cls: "num" },
          { label: tv("conn.count", "total"), cell: (x) => num((x["counts"] as Counts | undefined)?.total), cls: "num" },
          { label: t("conn.actionCol"), cell: (x) => tv("conn.act", String(x["action"] ?? "—")) },
        ], items);
      } catch (e) {
        if (isMissingEndpoint(e)) return notAvailable(t("conn.top"));
        throw e;
      }
    }) : Promise.resolve(),
  ]);
  if (ipIn.value) await lookup(ipIn.value);

  function settingsForm(s: ConnSettings): HTMLElement {
    const levels = ["off", "low", "normal", "strict"].map((v): [string, string] => [v, tv("conn.strict", v)]);
    if (s.inherited !== undefined)
      levels.unshift(["default", s.inherited ? t("conn.strict.default", { level: tv("conn.strict", s.strictness) }) : t("conn.strict.serverDefault")]);
    const strict = select("strictness", levels, s.inherited ? "default" : s.strictness);
    const grey = h("input", { type: "checkbox", name: "greylisting", id: "greylisting", checked: s.greylisting });
    strict.disabled = grey.disabled = !ctx.canWrite;
    const f = h("form", { class: "inline-form" },
      field(t("conn.strictness"), strict, t("conn.strictness.hint")),
      h("div", { class: "field check" }, grey, h("label", { for: "greylisting" }, t("conn.greylisting"))),
      ctx.canWrite ? h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("common.save"))) : null);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      await act(() => put(`${base}/connection`, { strictness: strict.value, greylisting: grey.checked }), t("conn.saved"));
    });
    return f;
  }

  async function allowList(path: string, caption: string): Promise<HTMLElement> {
    let entries: AllowEntry[];
    try {
      entries = await list<AllowEntry>(path);
    } catch (e) {
      if (isMissingEndpoint(e)) return notAvailable(t("conn.allowShort"));
      throw e;
    }
    const wrap = h("div");
    wrap.append(table(caption, [
      { label: t("conn.entry"), cell: (x: AllowEntry) => x.entry ?? x.pattern ?? "" },
      { label: t("common.created"), cell: (x) => fmtTime(x.created_at) },
      { label: t("conn.note"), cell: (x) => x.note ?? "" },
      { label: t("snd.expires"), cell: (x) => (x.expires_at ? fmtTime(x.expires_at) : t("snd.never")) },
      ...(ctx.canWrite ? [{
        label: t("common.actions"), cell: (x: AllowEntry) => button(t("common.remove"), async () => {
          if (await act(() => del(`${path}/${enc(String(x.id))}`), t("conn.removed"))) ctx.rerender();
        }, "small danger", { "aria-label": `${t("common.remove")}: ${x.entry ?? x.pattern ?? x.id}` }),
      }] : []),
    ], entries));
    if (ctx.canWrite) {
      const f = h("form", { class: "inline-form" },
        field(t("conn.entry"), input("entry", "", "text", { required: true, placeholder: "192.0.2.0/24, *.host.example, sender:example.com" }), t("conn.entry.hint")),
        field(t("conn.note"), input("note", "")),
        field(t("snd.expires"), input("expires", "", "date")),
        h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("common.add"))));
      f.addEventListener("submit", async (e) => {
        e.preventDefault();
        const v = formValues(f);
        const body: Record<string, unknown> = { entry: v["entry"], note: v["note"] ?? "" };
        const exp = dateToUnix(v["expires"], true);
        if (exp) body["expires_at"] = exp;
        if (await act(() => post(path, body), t("conn.added", { entry: v["entry"] ?? "" }))) ctx.rerender();
      });
      wrap.append(f);
    }
    return wrap;
  }
}

// Flattens an object into "a.b" -> value pairs for display.
function flat(o: unknown, prefix = ""): [string, string][] {
  if (o === null || typeof o !== "object") return [[prefix, o === null ? "—" : String(o)]];
  if (Array.isArray(o)) {
    if (o.length === 0) return [[prefix, "—"]];
    return [[prefix, o.map((x) => (typeof x === "object" && x ? flat(x).map(([k, v]) => `${k}=${v}`).join(" ") : String(x))).join("; ")]];
  }
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) out.push(...flat(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

interface Counts {
  clean: number;
  spam: number;
  phishing: number;
  malware: number;
  refused: number;
  bad: number;
  total: number;
}
const pct = (x: unknown) => (typeof x === "number" ? `${(x * 100).toFixed(1)} %` : "—");
const num = (x: unknown) => (typeof x === "number" ? (Math.round(x * 10) / 10).toString() : "—");

function countsTable(caption: string, rows: [string, Counts | undefined][]): HTMLElement {
  const keys: (keyof Counts)[] = ["clean", "spam", "phishing", "malware", "refused", "bad", "total"];
  return table(caption, [
    { label: t("conn.source"), cell: (r: [string, Counts | undefined]) => r[0] },
    ...keys.map((k) => ({ label: tv("conn.count", k), cell: (r: [string, Counts | undefined]) => num(r[1]?.[k]), cls: "num" })),
  ], rows.filter((r) => r[1] !== undefined));
}

// The lookup's answer: the action at the strictness that applies and why, the bad shares, the
// learned counts of the address and its network, the action at each level, and allow entries.
function reputationView(r: Record<string, unknown>): HTMLElement {
  if (!("ip_counts" in r)) {
    const rows = flat(r);
    return h("dl", { class: "facts", id: "rep-facts" }, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
  }
  const actions = (r["actions"] ?? {}) as Record<string, string>;
  const reasons = (r["reasons"] ?? {}) as Record<string, string>;
  const allowed = (r["allowed_by"] ?? []) as AllowEntry[];
  return h("div", { class: "reputation", id: "rep-facts" },
    h("div", { class: "kpis" },
      h("div", { class: "kpi", id: "rep-action" }, h("span", { class: "kpi-label" }, t("conn.action", { level: tv("conn.strict", String(r["strictness"] ?? "")) })),
        h("strong", { class: "kpi-value small" }, tv("conn.act", String(r["action"] ?? "—"))), h("small", null, String(r["reason"] ?? ""))),
      h("div", { class: "kpi" }, h("span", { class: "kpi-label" }, t("conn.badShareIp")), h("strong", { class: "kpi-value" }, pct(r["bad_share_ip"]))),
      h("div", { class: "kpi" }, h("span", { class: "kpi-label" }, t("conn.badShareNet")), h("strong", { class: "kpi-value" }, pct(r["bad_share_network"])))),
    countsTable(t("conn.counts"), [[String(r["ip"] ?? ""), r["ip_counts"] as Counts | undefined],
      [String(r["network"] ?? ""), r["network_counts"] as Counts | undefined]]),
    table(t("conn.perLevel"), [
      { label: t("conn.strictness"), cell: (k: string) => tv("conn.strict", k) },
      { label: t("conn.actionCol"), cell: (k) => tv("conn.act", actions[k] ?? "—") },
      { label: t("conn.reason"), cell: (k) => reasons[k] ?? "" },
    ], ["low", "normal", "strict"].filter((k) => k in actions)),
    h("p", { id: "rep-allowed" }, allowed.length
      ? t("conn.allowedBy", { entries: allowed.map((e) => `${e.entry ?? e.pattern ?? ""} (${e.tenant || t("conn.operatorWide")})`).join(", ") })
      : t("conn.notAllowed")));
}
