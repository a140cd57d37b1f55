// Domains and routes: the tenant's protected domains and where their mail goes. Changes are for
// operators (as in the CLI); others see the list.
import { del, enc, put, type Domain } from "../api";
import { button, clear, field, fmtTime, h, input, select, table } from "../dom";
import { t } from "../i18n";
import type { PageCtx } from "./index";
import { act, formValues, list, section } from "./util";

function parseRoutes(text: string): { host: string; port: number; preference: number }[] {
  return text.split(/[\s,]+/).filter(Boolean).map((r, i) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(r);
    return { host: (m?.[1] ?? r).replace(/^\[|\]$/g, ""), port: m?.[2] ? Number(m[2]) : 25, preference: (i + 1) * 10 };
  });
}

export async function domainsPage(ctx: PageCtx, h1: HTMLElement): Promise<void> {
  const tn = ctx.tenant;
  const base = `/tenants/${enc(tn)}/domains`;
  const isOp = ctx.session.role === "operator";
  const domains = await list<Domain>(base);
  const routeText = (d: Domain) => d.routes.map((r) => `${r.host.includes(":") ? `[${r.host}]` : r.host}:${r.port}`).join(", ");

  const name = input("name", "", "text", { required: true, placeholder: "example.com" });
  const routes = input("routes", "", "text", { placeholder: "mail.example.com:25, 192.0.2.10:2525", class: "wide" });
  const tls = select("tls", [["opportunistic", t("dom.tls.opportunistic")], ["required", t("dom.tls.required")], ["none", t("dom.tls.none")]], "opportunistic");
  const form = h("form", { class: "inline-form" }, field(t("dom.name"), name), field(t("dom.routes"), routes, t("dom.routes.hint")),
    field(t("dom.tls"), tls), h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("common.save"))));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (await act(() => put(`${base}/${enc(v["name"] ?? "")}`, { routes: parseRoutes(v["routes"] ?? ""), tls: v["tls"] }), t("dom.saved", { name: v["name"] ?? "" })))
      ctx.rerender();
  });

  clear(ctx.main, h1, h("p", { class: "muted" }, isOp ? t("dom.intro.op", { tenant: tn }) : t("dom.intro", { tenant: tn })),
    section(t("dom.list", { tenant: tn }), table(t("dom.list", { tenant: tn }), [
      { label: t("dom.name"), cell: (d: Domain) => d.name },
      { label: t("dom.routes"), cell: (d) => routeText(d) || t("dom.mx") },
      { label: t("dom.tls"), cell: (d) => d.tls },
      { label: t("dom.validation"), cell: (d) => (d.recipient_validation ? t("common.yes") : t("common.no")) },
      { label: t("common.created"), cell: (d) => fmtTime(d.created_at) },
      ...(isOp ? [{
        label: t("common.actions"), cell: (d: Domain) => h("div", { class: "row-actions" },
          button(t("common.edit"), () => {
            name.value = d.name;
            routes.value = routeText(d);
            tls.value = d.tls;
            name.focus();
          }, "small", { "aria-label": `${t("common.edit")}: ${d.name}` }),
          button(t("common.remove"), async () => {
            if (!confirm(t("dom.confirmRemove", { name: d.name }))) return;
            if (await act(() => del(`${base}/${enc(d.name)}`), t("dom.removed", { name: d.name }))) ctx.rerender();
          }, "small danger", { "aria-label": `${t("common.remove")}: ${d.name}` })),
      }] : []),
    ], domains)),
    isOp ? section(t("dom.edit"), form) : null);
}
