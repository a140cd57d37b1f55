// Message tracking: search the summaries; a message's details show its path (every event, in
// order) and the "why" (the scan's symbols with their scores, from the events' verdict texts).
import { enc, type Summary, type TrackEvent } from "../api";
import { button, chips, clear, field, fmtTime, h, input, select, table } from "../dom";
import { t, tv } from "../i18n";
import { navigate } from "../router";
import type { PageCtx } from "./index";
import { dateToUnix, errText, formValues, list, parseSymbols } from "./util";

const emptySummary: Summary = {
  queue_id: "", tenant: "", ts_us: 0, sender: "", recipients: "", subject: "", message_id: "", client_ip: "", verdict: "", score: 0, action: "",
};
const FIELDS = ["tenant", "sender", "recipient", "subject", "queue_id", "message_id", "client_ip", "verdict", "since", "until"];

export async function trackingPage(ctx: PageCtx, h1: HTMLElement): Promise<void> {
  const q = ctx.query;
  const isOp = ctx.session.role === "operator";
  const form = h("form", { class: "search", role: "search", "aria-label": t("track.search") },
    field(t("q.sender"), input("sender", q.get("sender") ?? "")),
    field(t("q.recipient"), input("recipient", q.get("recipient") ?? "")),
    field(t("q.subject"), input("subject", q.get("subject") ?? "")),
    field(t("track.queueId"), input("queue_id", q.get("queue_id") ?? "")),
    field(t("track.messageId"), input("message_id", q.get("message_id") ?? "")),
    field(t("q.clientIp"), input("client_ip", q.get("client_ip") ?? "")),
    field(t("q.verdict"), select("verdict", [["", t("common.any")], ...["clean", "bulk", "spam", "phishing", "malware", "unscannable"]
      .map((v): [string, string] => [v, tv("verdict", v)])], q.get("verdict") ?? "")),
    field(t("track.since"), input("since", q.get("since") ?? "", "date")),
    field(t("track.until"), input("until", q.get("until") ?? "", "date")),
    h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary", id: "track-search" }, t("common.search"))));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    if (q.get("tenant")) p.set("tenant", q.get("tenant") ?? "");
    for (const [k, v] of Object.entries(formValues(form))) if (v) p.set(k, v);
    p.set("run", "1");
    navigate(`/tracking?${p.toString()}`);
  });
  const details = h("section", { class: "card", id: "track-details", "aria-live": "polite", hidden: true });
  const results = h("div", { id: "track-results" });
  clear(ctx.main, h1, h("p", { class: "muted" }, t("track.intro")), form, results, details);
  if (!q.has("run") && ![...FIELDS].some((k) => q.get(k))) return;

  const query: Record<string, string | number> = { sort: "-ts_us" };
  for (const k of FIELDS) {
    const v = q.get(k);
    if (!v) continue;
    if (k === "since") query[k] = dateToUnix(v);
    else if (k === "until") query[k] = dateToUnix(v, true);
    else query[k] = v;
  }
  const rows = await list<Summary>("/messages", query);

  async function show(m: Summary): Promise<void> {
    details.hidden = false;
    clear(details, h("p", null, t("common.loading")));
    try {
      const evs = await list<TrackEvent>(`/messages/${enc(m.queue_id)}/events`);
      evs.sort((a, b) => a.ts_us - b.ts_us);
      const syms = new Map<string, string>();
      for (const e of evs) for (const s of parseSymbols(e.detail)) if (!syms.has(s.name)) syms.set(s.name, s.score);
      // A release or rescan goes on as a new queue id: offer to follow it.
      const follow = [...new Set(evs.flatMap((e) => [...e.detail.matchAll(/\b(?:released|rescanned|queued) as ([A-Z0-9]{8,})/g)]
        .map((x) => x[1] ?? "")))].filter((id) => id && id !== m.queue_id);
      const heading = h("h2", { tabindex: -1 }, t("track.details", { id: m.queue_id }));
      clear(details, heading,
        m.ts_us === 0 ? null : h("dl", { class: "facts" },
          h("dt", null, t("q.sender")), h("dd", null, m.sender || "<>"),
          h("dt", null, t("q.recipient")), h("dd", null, m.recipients),
          h("dt", null, t("q.subject")), h("dd", null, m.subject),
          h("dt", null, t("q.verdict")), h("dd", null, `${tv("verdict", m.verdict)} (${m.score.toFixed(2)})`),
          h("dt", null, t("track.action")), h("dd", null, m.action)),
        h("h3", null, t("track.why")),
        syms.size ? h("div", { id: "track-symbols" }, chips([...syms].map(([n, s]) => `${n} (${s})`)))
          : h("p", { class: "muted" }, t("track.noSymbols")),
        h("h3", null, t("track.path")),
        h("ol", { class: "timeline", id: "track-path" }, evs.map((e) =>
          h("li", null, h("time", null, fmtTime(e.ts_us, true)), " ", h("strong", null, tv("event", e.event)),
            e.recipient ? ` → ${e.recipient}` : "", h("div", { class: "detail" }, e.detail)))),
        follow.length ? h("div", { class: "row-actions" }, follow.map((id) =>
          button(t("track.follow", { id }), () => void showId(id), "small", { "data-action": "follow" }))) : null);
      heading.focus();
    } catch (e) {
      clear(details, h("p", { class: "form-error", role: "alert" }, errText(e)));
    }
  }

  async function showId(id: string): Promise<void> {
    try {
      const found = await list<Summary>("/messages", { queue_id: id });
      await show(found[0] ?? { ...emptySummary, queue_id: id });
    } catch (e) {
      clear(details, h("p", { class: "form-error", role: "alert" }, errText(e)));
    }
  }

  clear(results, table(t("track.results", { n: rows.length }), [
    { label: t("track.time"), cell: (m: Summary) => fmtTime(m.ts_us, true) },
    ...(isOp ? [{ label: t("common.tenant"), cell: (m: Summary) => m.tenant }] : []),
    { label: t("q.sender"), cell: (m) => m.sender || "<>" },
    { label: t("q.recipient"), cell: (m) => m.recipients },
    { label: t("q.subject"), cell: (m) => m.subject, cls: "subject" },
    { label: t("q.verdict"), cell: (m) => h("span", { class: `verdict v-${m.verdict}` }, `${tv("verdict", m.verdict)} ${m.score.toFixed(1)}`) },
    { label: t("track.action"), cell: (m) => m.action },
    { label: t("common.actions"), cell: (m) => button(t("track.show"), () => void show(m), "small", { "aria-label": `${t("track.show")}: ${m.queue_id}`, "data-action": "details" }) },
  ], rows));
}
