// Accounts and licence usage: the tenant's protected accounts, the licence (licensed, in use,
// over), and adding or removing accounts.
import { del, enc, get, put, type Account, type Usage } from "../api";
import { meter } from "../chart";
import { button, clear, field, fmtNum, fmtTime, h, input, table } from "../dom";
import { t } from "../i18n";
import type { PageCtx } from "./index";
import { act, formValues, list, section } from "./util";

export async function accountsPage(ctx: PageCtx, h1: HTMLElement): Promise<void> {
  const tn = ctx.tenant;
  const base = `/tenants/${enc(tn)}`;
  const [accounts, usage] = await Promise.all([list<Account>(`${base}/accounts`), get<Usage>(`${base}/usage`)]);
  const usageBox = h("div", { class: "kpis", id: "licence" },
    h("div", { class: "kpi" }, h("span", { class: "kpi-label" }, t("acc.inUse")), h("strong", { class: "kpi-value" }, fmtNum(usage.in_use))),
    h("div", { class: "kpi" }, h("span", { class: "kpi-label" }, t("dash.licence.licensed")),
      h("strong", { class: "kpi-value" }, usage.licensed > 0 ? fmtNum(usage.licensed) : t("dash.licence.unlimited"))),
    h("div", { class: "kpi" }, h("span", { class: "kpi-label" }, t("acc.listed")), h("strong", { class: "kpi-value" }, fmtNum(usage.accounts))),
    h("div", { class: "kpi" }, h("span", { class: "kpi-label" }, t("acc.seen")), h("strong", { class: "kpi-value" }, fmtNum(usage.seen))));
  const over = usage.over ? h("p", { class: "form-error", role: "alert" }, t("acc.over")) : null;
  const form = h("form", { class: "inline-form" },
    field(t("acc.address"), input("address", "", "email", { required: true, placeholder: "user@example.com" })),
    field(t("acc.display"), input("display_name", "")),
    h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("common.add"))));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (await act(() => put(`${base}/accounts/${enc(v["address"] ?? "")}`, { display_name: v["display_name"] ?? "" }), t("acc.added", { address: v["address"] ?? "" })))
      ctx.rerender();
  });
  clear(ctx.main, h1,
    section(t("dash.licence"), usageBox,
      usage.licensed > 0 ? meter(t("dash.licence.meter", { used: usage.in_use, licensed: usage.licensed }), usage.in_use, usage.licensed) : null, over,
      h("p", { class: "muted small" }, usage.term_start || usage.term_end
        ? t("acc.term", { start: fmtTime(usage.term_start), end: fmtTime(usage.term_end) }) : t("acc.termOpen"))),
    ctx.canWrite ? section(t("acc.add"), form) : null,
    section(t("acc.list", { tenant: tn }), table(t("acc.list", { tenant: tn }), [
      { label: t("acc.address"), cell: (a: Account) => a.address },
      { label: t("acc.display"), cell: (a) => a.display_name },
      { label: t("acc.aliases"), cell: (a) => (Array.isArray(a.aliases) ? a.aliases.join(", ") : a.aliases) },
      { label: t("common.created"), cell: (a) => fmtTime(a.created_at) },
      ...(ctx.canWrite ? [{
        label: t("common.actions"), cell: (a: Account) => button(t("common.remove"), async () => {
          if (await act(() => del(`${base}/accounts/${enc(a.address)}`), t("acc.removed", { address: a.address }))) ctx.rerender();
        }, "small danger", { "aria-label": `${t("common.remove")}: ${a.address}` }),
      }] : []),
    ], accounts)));
}
