// The user's own settings: who they are, the console language, the time zone dates are shown in,
// and the TOTP second factor (enrolment shows the secret and the otpauth URI as text; confirming
// with a code turns it on; a code turns it off).
import { ApiError, get, post, type Session } from "../api";
import { clear, field, h, input, select, timeZone } from "../dom";
import { lang, setLang, t, tv, type Lang } from "../i18n";
import type { PageCtx } from "./index";
import { act, errText, isMissingEndpoint, notAvailable, section } from "./util";

export async function settingsPage(ctx: PageCtx, h1: HTMLElement): Promise<void> {
  const s = await get<Session>("/session");
  const langSel = select("lang", [["en", "English"], ["ja", "日本語"]], lang());
  langSel.addEventListener("change", () => {
    setLang(langSel.value as Lang);
    ctx.rerender();
  });
  const totpBox = h("div", { id: "totp" });
  clear(ctx.main, h1,
    section(t("set.account"), h("dl", { class: "facts" },
      h("dt", null, t("usr.name")), h("dd", null, s.user),
      h("dt", null, t("usr.role")), h("dd", null, tv("role", s.role)),
      h("dt", null, t("common.tenant")), h("dd", null, s.tenant || "—"),
      s.addresses?.length ? [h("dt", null, t("set.addresses")), h("dd", null, s.addresses.join(", "))] : null,
      h("dt", null, t("set.tz")), h("dd", null, timeZone()))),
    section(t("header.language"), field(t("header.language"), langSel, t("set.lang.hint"))),
    section(t("set.totp"), totpBox));
  renderTotp(totpBox, s, ctx);
}

function renderTotp(box: HTMLElement, s: Session, ctx: PageCtx): void {
  if (s.totp === undefined) {
    clear(box, notAvailable(t("set.totp")));
    return;
  }
  const code = input("code", "", "text", { inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6, required: true });
  if (s.totp) {
    const f = h("form", { class: "inline-form" }, field(t("set.totp.code"), code),
      h("div", { class: "field actions" }, h("button", { type: "submit", class: "danger" }, t("set.totp.disable"))));
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (await act(() => post("/session/totp/disable", { code: code.value.trim() }), t("set.totp.off"))) ctx.rerender();
    });
    clear(box, h("p", { class: "ok-text" }, t("set.totp.isOn")), f);
    return;
  }
  const start = h("button", { type: "button", class: "primary", id: "totp-start" }, t("set.totp.start"));
  start.addEventListener("click", async () => {
    try {
      const r = await post<{ secret: string; otpauth_uri: string }>("/session/totp");
      const f = h("form", { class: "inline-form" }, field(t("set.totp.code"), code, t("set.totp.code.hint")),
        h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("set.totp.confirm"))));
      f.addEventListener("submit", async (e) => {
        e.preventDefault();
        if (await act(() => post("/session/totp/confirm", { code: code.value.trim() }), t("set.totp.on"))) ctx.rerender();
      });
      clear(box, h("p", null, t("set.totp.scan")),
        h("dl", { class: "facts" }, h("dt", null, t("set.totp.secret")), h("dd", null, h("code", { class: "secret", id: "totp-secret" }, r.secret)),
          h("dt", null, t("set.totp.uri")), h("dd", null, h("code", { class: "secret", id: "totp-uri" }, r.otpauth_uri))),
        f);
      code.focus();
    } catch (e) {
      clear(box, e instanceof ApiError && isMissingEndpoint(e) ? notAvailable(t("set.totp")) : h("p", { class: "form-error", role: "alert" }, errText(e)));
    }
  });
  clear(box, h("p", null, t("set.totp.isOff")), start);
}
