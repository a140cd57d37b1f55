// Login: name and password, then the TOTP code step when the API answers totp_required.
import { ApiError, post, setCsrf } from "../api";
import { clear, field, h, input, select } from "../dom";
import { lang, setLang, t, type Lang } from "../i18n";

export function loginPage(main: HTMLElement, done: () => Promise<void>, relang: () => void): void {
  document.title = `${t("login.title")} — mailmoat`;
  const name = input("name", "", "text", { autocomplete: "username", required: true });
  const password = input("password", "", "password", { autocomplete: "current-password", required: true });
  const code = input("totp_code", "", "text", { inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6 });
  const codeField = field(t("login.totp"), code, t("login.totp.hint"));
  codeField.hidden = true;
  const err = h("div", { class: "form-error", role: "alert", "aria-live": "assertive", id: "login-error" });
  const submit = h("button", { type: "submit", class: "primary", id: "login-submit" }, t("login.submit"));
  let step: "password" | "totp" = "password";

  const form = h("form", { class: "login-form", "aria-labelledby": "login-h", novalidate: true },
    field(t("login.name"), name), field(t("login.password"), password), codeField, err, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    if (!name.value || !password.value) {
      err.textContent = t("login.missing");
      return;
    }
    submit.disabled = true;
    try {
      const body: Record<string, string> = { name: name.value, password: password.value };
      if (step === "totp") body["totp_code"] = code.value.trim();
      const r = await post<{ csrf_token: string }>("/login", body);
      setCsrf(r.csrf_token);
      await done();
    } catch (x) {
      const e2 = x instanceof ApiError ? x : new ApiError(0, "client", String(x));
      if (e2.code === "totp_required") {
        step = "totp";
        codeField.hidden = false;
        err.textContent = t("login.totp.needed");
        code.focus();
      } else if (e2.code === "totp_invalid") {
        err.textContent = t("login.totp.invalid");
        code.select();
      } else if (e2.status === 401) {
        err.textContent = `${t("login.failed")}: ${e2.message}`;
        password.select();
      } else if (e2.status === 429) {
        err.textContent = `${t("login.locked")}: ${e2.message}`;
      } else {
        err.textContent = `${t("error.generic")}: ${e2.message}`;
      }
    } finally {
      submit.disabled = false;
    }
  });

  const langSel = select("lang", [["en", "English"], ["ja", "日本語"]], lang());
  langSel.id = "lang-select";
  langSel.addEventListener("change", () => {
    setLang(langSel.value as Lang);
    relang();
  });
  clear(main,
    h("div", { class: "login-card" },
      h("div", { class: "login-lang" }, h("label", { for: "lang-select", class: "inline-label" }, t("header.language")), langSel),
      h("h1", { id: "login-h" }, t("login.title")),
      h("p", { class: "muted" }, t("login.intro")),
      form,
      h("p", { class: "small" }, h("a", { href: "/cookies", "data-link": true }, t("nav.cookies")))));
}
