// Policies and content rules: the tenant's class policies per level (tenant, domain, account) and
// its ordered content rules, edited as text and checked whole by the API (a bad line is named).
import { del, enc, put, type PolicyRow } from "../api";
import { button, clear, field, fmtTime, h, input, select, table } from "../dom";
import { t } from "../i18n";
import type { PageCtx } from "./index";
import { act, formValues, list, section } from "./util";

export async function policiesPage(ctx: PageCtx, h1: HTMLElement): Promise<void> {
  const tn = ctx.tenant;
  const base = `/tenants/${enc(tn)}`;
  const rows = await list<PolicyRow>(`${base}/policies`);
  const policies = rows.filter((r) => r.level !== "rules" && r.level !== "attachments");
  const rules = rows.find((r) => r.level === "rules");

  const tbl = table(t("pol.current", { tenant: tn }), [
    { label: t("pol.level"), cell: (r: PolicyRow) => r.level },
    { label: t("pol.target"), cell: (r) => r.target || "—" },
    { label: t("pol.spec"), cell: (r) => h("code", null, r.spec), cls: "spec" },
    { label: t("common.updated"), cell: (r) => fmtTime(r.updated_at) },
    ...(ctx.canWrite ? [{
      label: t("common.actions"), cell: (r: PolicyRow) => r.level === "default" ? null : button(t("common.remove"), async () => {
        if (await act(() => del(`${base}/policies/${enc(r.level)}`, { target: r.target }), t("pol.removed"))) ctx.rerender();
      }, "small danger", { "aria-label": `${t("common.remove")}: ${r.level} ${r.target}` }),
    }] : []),
  ], policies);

  const spec = input("spec", "", "text", { required: true, placeholder: "spam>=high=reject spam=quarantine phishing=quarantine", class: "wide" });
  const form = h("form", { class: "inline-form" },
    field(t("pol.level"), select("level", [["tenant", t("pol.level.tenant")], ["domain", t("pol.level.domain")], ["account", t("pol.level.account")]], "tenant")),
    field(t("pol.target"), input("target", ""), t("pol.target.hint")),
    field(t("pol.spec"), spec, t("pol.spec.hint")),
    h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("common.save"))));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (await act(() => put(`${base}/policies/${enc(v["level"] ?? "tenant")}`, { spec: v["spec"] }, { target: v["target"] }), t("pol.saved"))) ctx.rerender();
  });

  const text = h("textarea", { name: "text", rows: 10, class: "code", spellcheck: "false", id: "rules-text" }, rules?.spec ?? "");
  text.readOnly = !ctx.canWrite;
  const rform = h("form", null,
    field(t("pol.rules"), text, t("pol.rules.hint")),
    ctx.canWrite ? h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("pol.rules.save"))) : null);
  rform.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await act(() => put(`${base}/content-rules`, { text: text.value }), t("pol.rules.saved"))) ctx.rerender();
  });

  clear(ctx.main, h1, h("p", { class: "muted" }, t("pol.intro", { tenant: tn })),
    section(t("pol.policies"), tbl, policies.length ? null : h("p", { class: "muted" }, t("pol.defaultApplies")), ctx.canWrite ? form : null),
    section(t("pol.rules"), rform, rules ? h("p", { class: "muted small" }, t("common.updatedAt", { when: fmtTime(rules.updated_at) })) : null));
}
