// Dashboard: mail volume and verdicts over time (GET /api/v1/stats), top blocked senders and IPs,
// licence usage and the queue size. Without the stats endpoint, the licence usage still shows.
import { get, type Stats, type Usage } from "../api";
import { hbars, meter, stackedBars, type SeriesDef } from "../chart";
import { append, clear, fmtNum, fmtShortTime, fmtTime, h, select, table } from "../dom";
import { t } from "../i18n";
import type { PageCtx } from "./index";
import { errText, isMissingEndpoint, list, notAvailable, section } from "./util";

const SERIES: [string, string][] = [
  ["clean", "#2f7d4f"], ["bulk", "#8a9a3b"], ["spam", "#d08a1e"], ["phishing", "#b23b3b"],
  ["malware", "#6b2a8a"], ["unscannable", "#5b6777"],
];

export async function dashboardPage(ctx: PageCtx, h1: HTMLElement): Promise<void> {
  const range = select("range", [["24h", t("dash.range.24h")], ["7d", t("dash.range.7d")], ["30d", t("dash.range.30d")]],
    ctx.query.get("range") ?? "24h");
  range.id = "dash-range";
  const body = h("div", { class: "dash" });
  const load = async () => {
    const now = Math.floor(Date.now() / 1000);
    const r = range.value;
    const q = r === "24h" ? { bucket: "hour", from: now - 86400, to: now } :
      r === "7d" ? { bucket: "day", from: now - 7 * 86400, to: now } : { bucket: "day", from: now - 30 * 86400, to: now };
    clear(body, h("p", { class: "loading" }, t("common.loading")));
    let stats: Stats | null = null;
    let statsErr = "";
    try {
      stats = await get<Stats>("/stats", { ...q, tenant: ctx.session.role === "operator" ? ctx.query.get("tenant") ?? "" : "" });
    } catch (e) {
      statsErr = isMissingEndpoint(e) ? "" : errText(e);
      if (!isMissingEndpoint(e) && !statsErr) throw e;
    }
    clear(body);
    if (stats) renderStats(body, stats, q.bucket);
    else append(body, [section(t("dash.volume"), statsErr ? h("p", { class: "form-error", role: "alert" }, statsErr) : notAvailable(t("dash.volume")))]);
    if (!stats || stats.licence.length === 0) {
      // The licence usage from /usage (always there) when the stats do not carry it.
      try {
        const usage = await list<Usage>("/usage");
        body.append(licenceSection(usage.map((u) => ({ tenant: u.tenant, licensed: u.licensed, used: u.in_use }))));
      } catch (e) {
        body.append(section(t("dash.licence"), h("p", { class: "form-error" }, errText(e))));
      }
    }
  };
  range.addEventListener("change", () => void load());
  clear(ctx.main, h1, h("div", { class: "toolbar" }, h("label", { for: "dash-range" }, t("dash.range")), range), body);
  await load();
}

function renderStats(body: HTMLElement, st: Stats, bucket: string): void {
  const defs: SeriesDef[] = SERIES.map(([k, c]) => ({ key: k, label: t(`verdict.${k}` as never), color: c }));
  const multiDay = bucket === "day";
  const tick = (row: Record<string, number>) => fmtShortTime(row["t"] ?? 0, multiDay);
  const sum = (k: string) => st.series.reduce((a, r) => a + (r[k] ?? 0), 0);
  const total = sum("total");
  const kpis = h("div", { class: "kpis" },
    kpi(t("dash.total"), fmtNum(total), "kpi-total"),
    kpi(t("verdict.clean"), fmtNum(sum("clean"))),
    kpi(t("dash.blocked"), fmtNum(sum("spam") + sum("phishing") + sum("malware"))),
    kpi(t("dash.quarantined"), fmtNum(sum("quarantined"))),
    kpi(t("dash.rejected"), fmtNum(sum("rejected"))),
    st.series.some((r) => "refused" in r) ? kpi(t("dash.refused"), fmtNum(sum("refused"))) : null,
    st.queue ? kpi(t("dash.queue"), `${fmtNum(st.queue.messages)}`, "kpi-queue",
      t("dash.queue.detail", { deferred: st.queue.deferred, held: st.queue.held })) : null);
  const legend = h("ul", { class: "legend" }, defs.map((d) => {
    const sw = h("span", { class: "swatch" });
    sw.style.backgroundColor = d.color; // CSSOM, allowed by the CSP
    return h("li", null, sw, d.label);
  }));
  const chartTitle = t("dash.chart", { from: fmtTime(st.from), to: fmtTime(st.to) });
  const dataTable = h("details", null, h("summary", null, t("dash.asTable")),
    table(chartTitle, [
      { label: t("dash.time"), cell: (r: Record<string, number>) => fmtTime(r["t"]) },
      { label: t("dash.total"), cell: (r) => r["total"] ?? 0, cls: "num" },
      ...defs.map((d) => ({ label: d.label, cell: (r: Record<string, number>) => r[d.key] ?? 0, cls: "num" })),
      { label: t("dash.quarantined"), cell: (r: Record<string, number>) => r["quarantined"] ?? 0, cls: "num" },
      { label: t("dash.rejected"), cell: (r: Record<string, number>) => r["rejected"] ?? 0, cls: "num" },
    ], st.series));
  body.append(kpis,
    section(t("dash.volume"), stackedBars(chartTitle, st.series, defs, tick), legend, dataTable));
  const tops = h("div", { class: "two-col" },
    section(t("dash.topSenders"), st.top_blocked_senders.length
      ? hbars(t("dash.topSenders"), st.top_blocked_senders.map((x) => ({ label: x.sender || "<>", value: x.count })))
      : h("p", { class: "muted" }, t("common.none"))),
    section(t("dash.topIps"), st.top_blocked_ips && st.top_blocked_ips.length
      ? hbars(t("dash.topIps"), st.top_blocked_ips.map((x) => ({ label: x.ip, value: x.count })), "#6b2a8a")
      : h("p", { class: "muted" }, t("common.none"))));
  body.append(tops);
  if (st.licence.length) body.append(licenceSection(st.licence));
}

function kpi(label: string, value: string, id?: string, detail?: string): HTMLElement {
  return h("div", { class: "kpi", id: id ?? null }, h("span", { class: "kpi-label" }, label), h("strong", { class: "kpi-value" }, value),
    detail ? h("small", null, detail) : null);
}

function licenceSection(rows: { tenant: string; licensed: number; used: number }[]): HTMLElement {
  return section(t("dash.licence"), table(t("dash.licence"), [
    { label: t("common.tenant"), cell: (r) => r.tenant },
    { label: t("dash.licence.used"), cell: (r) => fmtNum(r.used), cls: "num" },
    { label: t("dash.licence.licensed"), cell: (r) => (r.licensed > 0 ? fmtNum(r.licensed) : t("dash.licence.unlimited")), cls: "num" },
    { label: t("dash.licence.share"), cell: (r) => (r.licensed > 0 ? meter(t("dash.licence.meter", { used: r.used, licensed: r.licensed }), r.used, r.licensed) : "—") },
  ], rows));
}
