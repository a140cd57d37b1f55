// Users and API tokens: console users of the scope (create, disable, reset password, reset the
// second factor) and the caller's own API tokens (create — the secret is shown once — and revoke).
import { del, enc, patch, post, type Token, type User } from "../api";
import { button, clear, field, fmtTime, h, input, say, select, table } from "../dom";
import { t, tv } from "../i18n";
import type { PageCtx } from "./index";
import { act, errText, formValues, list, section } from "./util";

export async function usersPage(ctx: PageCtx, h1: HTMLElement): Promise<void> {
  const isOp = ctx.session.role === "operator";
  const [users, tokens] = await Promise.all([
    list<User>("/users", isOp && ctx.query.get("tenant") ? { tenant: ctx.query.get("tenant") } : {}),
    list<Token>("/tokens"),
  ]);

  const userTable = table(t("usr.list"), [
    { label: t("usr.name"), cell: (u: User) => u.name },
    { label: t("usr.role"), cell: (u) => tv("role", u.role) },
    { label: t("common.tenant"), cell: (u) => u.tenant || "—" },
    { label: t("usr.account"), cell: (u) => u.account || "—" },
    { label: t("usr.state"), cell: (u) => (u.disabled ? t("usr.disabled") : t("usr.active")) + (u.totp ? ` · ${t("usr.totpOn")}` : "") },
    { label: t("usr.pwChanged"), cell: (u) => fmtTime(u.password_changed_at) },
    ...(ctx.canWrite ? [{
      label: t("common.actions"), cell: (u: User) => h("div", { class: "row-actions" },
        button(u.disabled ? t("usr.enable") : t("usr.disable"), async () => {
          if (await act(() => patch(`/users/${enc(u.name)}`, { disabled: !u.disabled }), t("usr.updated", { name: u.name }))) ctx.rerender();
        }, "small", { "aria-label": `${u.disabled ? t("usr.enable") : t("usr.disable")}: ${u.name}` }),
        button(t("usr.resetPw"), async () => {
          const pw = prompt(t("usr.newPw", { name: u.name }));
          if (!pw) return;
          await act(() => patch(`/users/${enc(u.name)}`, { password: pw }), t("usr.pwReset", { name: u.name }));
        }, "small", { "aria-label": `${t("usr.resetPw")}: ${u.name}` }),
        u.totp ? button(t("usr.resetTotp"), async () => {
          if (await act(() => patch(`/users/${enc(u.name)}`, { totp: false }), t("usr.totpReset", { name: u.name }))) ctx.rerender();
        }, "small", { "aria-label": `${t("usr.resetTotp")}: ${u.name}` }) : null),
    }] : []),
  ], users);

  const roleOpts: [string, string][] = (isOp ? ["operator", "admin", "auditor", "user"] : ["admin", "auditor", "user"]).map((r) => [r, tv("role", r)]);
  const uform = h("form", { class: "inline-form", autocomplete: "off" },
    field(t("usr.name"), input("name", "", "text", { required: true })),
    field(t("usr.role"), select("role", roleOpts, "user")),
    isOp ? field(t("common.tenant"), input("tenant", ctx.tenant)) : null,
    field(t("usr.account"), input("account", "", "email"), t("usr.account.hint")),
    field(t("usr.password"), input("password", "", "password", { required: true, autocomplete: "new-password", minlength: 12 })),
    h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("usr.create"))));
  uform.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(uform);
    const body = { name: v["name"], role: v["role"], tenant: isOp ? v["tenant"] : ctx.session.tenant, account: v["account"], password: v["password"] };
    if (await act(() => post("/users", body), t("usr.created", { name: v["name"] ?? "" }))) ctx.rerender();
  });

  const secretBox = h("div", { id: "token-secret", "aria-live": "polite" });
  const tform = h("form", { class: "inline-form" },
    field(t("tok.label"), input("label", "", "text", { required: true })),
    field(t("tok.access"), select("access", [["read", t("tok.read")], ["write", t("tok.write")]], "read")),
    isOp ? field(t("common.tenant"), input("tenant", ""), t("tok.tenant.hint")) : null,
    field(t("tok.days"), input("days", "90", "number", { min: 1, max: 3650 })),
    h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("tok.create"))));
  tform.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(tform);
    try {
      const r = await post<Token>("/tokens", { label: v["label"], access: v["access"], tenant: v["tenant"] ?? "", expires_in: Number(v["days"] || 90) * 86400 });
      const code = h("code", { class: "secret", id: "token-value" }, r.token ?? "");
      clear(secretBox, h("div", { class: "secret-box", role: "alert" },
        h("strong", null, t("tok.once")), h("p", null, code),
        button(t("tok.copy"), () => void navigator.clipboard?.writeText(r.token ?? "").then(() => say(t("tok.copied"))), "small")));
      say(t("tok.created", { label: r.label }));
      tokTable.replaceWith((tokTable = tokensTable(await list<Token>("/tokens"))));
    } catch (x) {
      say(errText(x), "error");
    }
  });

  const tokensTable = (toks: Token[]) => table(t("tok.list"), [
    { label: t("tok.label"), cell: (k: Token) => k.label },
    { label: t("tok.access"), cell: (k) => (k.access === "write" ? t("tok.write") : t("tok.read")) },
    { label: t("common.tenant"), cell: (k) => k.tenant || "—" },
    { label: t("common.created"), cell: (k) => fmtTime(k.created_at) },
    { label: t("tok.expires"), cell: (k) => fmtTime(k.expires_at) },
    { label: t("usr.state"), cell: (k) => (k.revoked ? t("tok.revoked") : t("usr.active")) },
    {
      label: t("common.actions"), cell: (k) => k.revoked ? null : button(t("tok.revoke"), async () => {
        if (await act(() => del(`/tokens/${k.id}`), t("tok.revokedMsg", { label: k.label }))) ctx.rerender();
      }, "small danger", { "aria-label": `${t("tok.revoke")}: ${k.label}` }),
    },
  ], toks);
  let tokTable = tokensTable(tokens);

  clear(ctx.main, h1,
    section(t("usr.title"), userTable),
    ctx.canWrite ? section(t("usr.add"), uform) : null,
    section(t("tok.title"), h("p", { class: "muted" }, t("tok.intro")), secretBox, tform, tokTable));
}
