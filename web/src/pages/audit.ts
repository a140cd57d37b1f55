// Audit log: every change (who, what with before/after, when, from which address), filtered by
// actor, tenant (operators) and dates.
import { type AuditEntry } from "../api";
import { clear, field, fmtTime, h, input, table } from "../dom";
import { t } from "../i18n";
import { navigate } from "../router";
import type { PageCtx } from "./index";
import { dateToUnix, formValues, list } from "./util";

export async function auditPage(ctx: PageCtx, h1: HTMLElement): Promise<void> {
  const q = ctx.query;
  const isOp = ctx.session.role === "operator";
  const form = h("form", { class: "search", role: "search", "aria-label": t("audit.search") },
    field(t("audit.actor"), input("actor", q.get("actor") ?? "")),
    field(t("track.since"), input("since", q.get("since") ?? "", "date")),
    field(t("track.until"), input("until", q.get("until") ?? "", "date")),
    h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("common.search"))));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    if (q.get("tenant")) p.set("tenant", q.get("tenant") ?? "");
    for (const [k, v] of Object.entries(formValues(form))) if (v) p.set(k, v);
    navigate(`/audit?${p.toString()}`);
  });
  const rows = await list<AuditEntry>("/audit", {
    sort: "-ts", actor: q.get("actor"), tenant: isOp ? q.get("tenant") : null,
    since: dateToUnix(q.get("since") ?? "") || null, until: dateToUnix(q.get("until") ?? "", true) || null,
  });
  const json = (v: unknown) => (v === null || v === undefined || v === "" ? "—" : JSON.stringify(v, null, 2));
  clear(ctx.main, h1, form, table(t("audit.results", { n: rows.length }), [
    { label: t("audit.when"), cell: (a: AuditEntry) => fmtTime(a.ts) },
    { label: t("audit.actor"), cell: (a) => a.actor },
    { label: t("common.tenant"), cell: (a) => a.tenant || "—" },
    { label: t("audit.from"), cell: (a) => a.client_ip },
    { label: t("audit.action"), cell: (a) => h("code", null, a.action) },
    { label: t("audit.target"), cell: (a) => a.target },
    {
      label: t("audit.change"), cell: (a) => h("details", null, h("summary", null, t("audit.show")),
        h("div", { class: "diff" }, h("div", null, h("strong", null, t("audit.before")), h("pre", null, json(a.before))),
          h("div", null, h("strong", null, t("audit.after")), h("pre", null, json(a.after))))),
    },
  ], rows));
}
