// Approved and blocked senders: the tenant's lists (administrators) or the end user's own.
import { del, enc, post, type SenderEntry } from "../api";
import { button, clear, field, fmtTime, h, input, select, table } from "../dom";
import { t } from "../i18n";
import type { PageCtx } from "./index";
import { act, dateToUnix, formValues, list, section } from "./util";

export async function sendersPage(ctx: PageCtx, h1: HTMLElement): Promise<void> {
  const tn = ctx.tenant;
  const base = `/tenants/${enc(tn)}/senders`;
  const isUser = ctx.session.role === "user";
  const entries = await list<SenderEntry>(base);
  const mk = (kind: "allow" | "block") => table(t(kind === "allow" ? "snd.approved" : "snd.blocked"), [
    { label: t("snd.pattern"), cell: (e: SenderEntry) => e.pattern },
    { label: t("snd.owner"), cell: (e) => e.owner || t("snd.wholeTenant") },
    { label: t("snd.expires"), cell: (e) => (e.expires_at ? fmtTime(e.expires_at) : t("snd.never")) },
    { label: t("snd.by"), cell: (e) => `${e.created_by} · ${fmtTime(e.created_at)}` },
    ...(ctx.canWrite ? [{
      label: t("common.actions"), cell: (e: SenderEntry) => button(t("common.remove"), async () => {
        if (await act(() => del(`${base}/${e.id}`), t("snd.removed", { pattern: e.pattern }))) ctx.rerender();
      }, "small danger", { "aria-label": `${t("common.remove")}: ${e.pattern}` }),
    }] : []),
  ], entries.filter((e) => e.kind === kind), (e) => ({ "data-pattern": e.pattern }));

  const owners = ctx.session.addresses ?? [];
  const form = h("form", { class: "inline-form", id: "sender-form" },
    field(t("snd.list"), select("kind", [["allow", t("snd.kind.allow")], ["block", t("snd.kind.block")]], "allow")),
    field(t("snd.pattern"), input("pattern", "", "text", { required: true, placeholder: "sender@example.com, example.com, *.example.com" }), t("snd.pattern.hint")),
    isUser ? (owners.length > 1 ? field(t("snd.owner"), select("owner", owners.map((a): [string, string] => [a, a]), owners[0] ?? "")) : null)
      : field(t("snd.owner"), input("owner", ""), t("snd.owner.hint")),
    field(t("snd.expires"), input("expires", "", "date"), t("snd.expires.hint")),
    h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("common.add"))));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const owner = isUser ? (v["owner"] || owners[0] || "") : (v["owner"] ?? "");
    const body = { kind: v["kind"], pattern: v["pattern"], owner, expires_at: dateToUnix(v["expires"], true) };
    if (await act(() => post(base, body), t("snd.added", { pattern: v["pattern"] ?? "" }))) ctx.rerender();
  });

  clear(ctx.main, h1, h("p", { class: "muted" }, isUser ? t("snd.userIntro") : t("snd.intro", { tenant: tn })),
    ctx.canWrite ? section(t("snd.add"), form) : null,
    section(t("snd.approved"), mk("allow")), section(t("snd.blocked"), mk("block")));
}
