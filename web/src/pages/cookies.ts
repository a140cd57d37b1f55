// The cookie page: the console sets only what it strictly needs (the session and its CSRF token).
import { clear, h, table } from "../dom";
import { t } from "../i18n";
import type { PageCtx } from "./index";

export function cookiesView(h1: HTMLElement): HTMLElement[] {
  return [h1, h("p", null, t("ck.intro")),
    table(t("ck.caption"), [
      { label: t("ck.name"), cell: (r: string[]) => h("code", null, r[0] ?? "") },
      { label: t("ck.purpose"), cell: (r) => r[1] ?? "" },
      { label: t("ck.flags"), cell: (r) => r[2] ?? "" },
      { label: t("ck.lifetime"), cell: (r) => r[3] ?? "" },
    ], [
      ["mm_session", t("ck.session"), "HttpOnly; Secure; SameSite=Strict", t("ck.life")],
      ["mm_csrf", t("ck.csrf"), "Secure; SameSite=Strict", t("ck.life")],
    ]),
    h("p", null, t("ck.none")),
    h("p", null, t("ck.lang"))];
}

export async function cookiesPage(ctx: PageCtx, h1: HTMLElement): Promise<void> {
  clear(ctx.main, ...cookiesView(h1));
}
