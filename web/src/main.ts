// The console's shell: session check, header (tenant choice, language switch, user, logout),
// the navigation the role may use, and the page of the current route in <main>.
import "./style.css";
import { ApiError, get, post, setCsrf, setUnauthorizedHandler, type Session, type Tenant, type Page } from "./api";
import { button, clear, errorBox, h, hush, select, statusRegion } from "./dom";
import { lang, setLang, t, type Key, type Lang } from "./i18n";
import { current, match, navigate, startRouter, type Route } from "./router";
import { loginPage } from "./pages/login";
import { routes, type PageCtx } from "./pages/index";
import { cookiesView } from "./pages/cookies";

const app = document.getElementById("app") as HTMLElement;
let session: Session | null = null;
let tenants: string[] = [];
let chosenTenant = "";

// The navigation is the route table: each page the role may open, in the table's order; pages
// about one tenant link to the chosen one.
interface NavItem {
  key: Key;
  path: (tenant: string) => string;
  roles: Session["role"][];
  needsTenant: boolean;
}
const NAV: NavItem[] = routes.map((r) => ({
  key: r.title,
  path: (tenant: string) => r.pattern.replace(":tenant", encodeURIComponent(tenant)),
  roles: r.roles,
  needsTenant: r.pattern.includes(":tenant"),
}));

export function homePath(s: Session): string {
  return s.role === "user" ? "/quarantine" : "/dashboard";
}

function tenantOf(r: Route, params: Record<string, string>): string {
  // Operators: the tenant of the path or ?tenant= ("" = all tenants); others: their own.
  return params["tenant"] ?? r.query.get("tenant") ?? (session?.role === "operator" ? "" : session?.tenant ?? "");
}

async function loadSession(): Promise<void> {
  try {
    session = await get<Session>("/session");
    setCsrf(session.csrf_token);
    if (session.role === "operator") {
      try {
        const p = await get<Page<Tenant>>("/tenants", { limit: 500, sort: "name" });
        tenants = p.items.map((x) => x.name);
      } catch {
        tenants = [];
      }
      const saved = sessionStorage.getItem("mm.tenant") ?? "";
      chosenTenant = tenants.includes(saved) ? saved : "";
    } else {
      tenants = [session.tenant];
      chosenTenant = session.tenant;
    }
  } catch (e) {
    session = null;
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
  }
}

function header(s: Session, r: Route, routeTenant: string): HTMLElement {
  const langSel = select("lang", [["en", "English"], ["ja", "日本語"]], lang());
  langSel.id = "lang-select";
  langSel.addEventListener("change", () => {
    setLang(langSel.value as Lang);
    render(current());
  });
  const right = h("div", { class: "header-tools" },
    h("label", { for: "lang-select", class: "inline-label" }, t("header.language")), langSel);
  if (s.role === "operator" && tenants.length > 0) {
    const onTenantPage = /^\/t\/[^/]+\//.test(r.path);
    const opts: [string, string][] = tenants.map((x) => [x, x]);
    if (!onTenantPage) opts.unshift(["", t("header.allTenants")]);
    const ts = select("tenant", opts, routeTenant);
    ts.id = "tenant-select";
    ts.addEventListener("change", () => {
      chosenTenant = ts.value;
      sessionStorage.setItem("mm.tenant", chosenTenant);
      const m = /^\/t\/[^/]+\/(.+)$/.exec(r.path);
      if (m) navigate(`/t/${encodeURIComponent(chosenTenant)}/${m[1]}`);
      else navigate(chosenTenant ? `${r.path}?tenant=${encodeURIComponent(chosenTenant)}` : r.path);
    });
    right.prepend(h("label", { for: "tenant-select", class: "inline-label" }, t("header.tenant")), ts);
  } else if (s.tenant) {
    right.prepend(h("span", { class: "badge" }, `${t("header.tenant")}: ${s.tenant}`));
  }
  right.append(
    h("span", { class: "who" }, `${s.user} (${t(`role.${s.role}` as Key)})`),
    button(t("header.logout"), async () => {
      try {
        await post("/logout");
      } catch {
        /* the session is gone either way */
      }
      session = null;
      navigate("/login");
    }, "secondary", { id: "logout" }),
  );
  return h("header", { class: "top" },
    h("a", { href: homePath(s), "data-link": true, class: "brand" }, "mailmoat"), right);
}

function nav(s: Session, path: string, tenant: string): HTMLElement {
  const items = NAV.filter((n) => n.roles.includes(s.role)).map((n) => {
    let href = n.path(tenant || chosenTenant || tenants[0] || "");
    if (!n.needsTenant && s.role === "operator" && tenant && n.key !== "nav.settings" && n.key !== "nav.cookies")
      href += `?tenant=${encodeURIComponent(tenant)}`;
    const active = path === href.split("?")[0] || (n.needsTenant && path.endsWith(href.slice(href.lastIndexOf("/"))) && path.startsWith("/t/"));
    return h("li", null, h("a", { href, "data-link": true, "aria-current": active ? "page" : null }, t(n.key)));
  });
  return h("nav", { "aria-label": t("nav.label"), class: "side" }, h("ul", null, items));
}

let renderSeq = 0;
let lastWhere = "";
async function render(r: Route): Promise<void> {
  const seq = ++renderSeq;
  document.documentElement.lang = lang();
  const skip = document.getElementById("skip-link");
  if (skip) skip.textContent = t("common.skip");
  if (r.path === "/login" || !session) {
    if (!session && r.path !== "/login") await loadSession().catch(() => undefined);
    if (seq !== renderSeq) return;
    if (!session && r.path === "/cookies") {
      const main = h("main", { id: "main", tabindex: -1, class: "login-main" });
      clear(app, main);
      document.title = `${t("nav.cookies")} — mailmoat`;
      clear(main, h("div", { class: "login-card wide" }, ...cookiesView(h("h1", null, t("nav.cookies"))),
        h("p", null, h("a", { href: "/login", "data-link": true }, t("login.title")))));
      return;
    }
    if (!session || r.path === "/login") {
      session = null;
      const main = h("main", { id: "main", tabindex: -1, class: "login-main" });
      clear(app, main);
      loginPage(main, async () => {
        await loadSession();
        const next = new URLSearchParams(location.search).get("next");
        navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : homePath(session as Session), true);
      }, () => render(current()));
      return;
    }
  }
  const s = session;
  const path = r.path;
  if (path === "/" || path === "/index.html") {
    navigate(homePath(s), true);
    return;
  }
  const page = routes.find((p) => match(p.pattern, path) !== null);
  const params = page ? match(page.pattern, path) ?? {} : {};
  const tenant = tenantOf(r, params);
  const main = h("main", { id: "main", tabindex: -1 });
  const status = statusRegion();
  clear(app, header(s, r, tenant), h("div", { class: "layout" }, nav(s, path, tenant), h("div", { class: "content" }, status, main)),
    h("footer", { class: "foot" }, h("a", { href: "/cookies", "data-link": true }, t("nav.cookies")), " · ",
      h("span", null, t("footer.tz", { tz: Intl.DateTimeFormat().resolvedOptions().timeZone }))));
  const where = r.path + location.search;
  if (where !== lastWhere) hush(); // a new page starts without the last page's message
  lastWhere = where;
  if (!page) {
    document.title = `${t("error.notfound.title")} — mailmoat`;
    clear(main, h("h1", null, t("error.notfound.title")), errorBox(t("error.notfound.title"), t("error.notfound.body", { path })));
    return;
  }
  if (!page.roles.includes(s.role)) {
    document.title = `${t("error.forbidden.title")} — mailmoat`;
    clear(main, h("h1", null, t(page.title)), errorBox(t("error.forbidden.title"), t("error.role")));
    return;
  }
  document.title = `${t(page.title)} — mailmoat`;
  const ctx: PageCtx = {
    session: s,
    tenant,
    params,
    query: r.query,
    main,
    rerender: () => render(current()),
    canWrite: s.role !== "auditor" && s.write !== false,
  };
  const h1 = h("h1", { tabindex: -1 }, t(page.title));
  clear(main, h1, h("p", { class: "loading", "aria-busy": "true" }, t("common.loading")));
  try {
    await page.render(ctx, h1);
  } catch (e) {
    if (seq !== renderSeq) return;
    const err = e instanceof ApiError ? e : new ApiError(0, "client", String(e));
    clear(main, h1, apiErrorBox(err));
  }
  if (focusAfterRender) h1.focus();
  focusAfterRender = true;
}
let focusAfterRender = false;

export function apiErrorBox(e: ApiError): HTMLElement {
  let title = t("error.generic");
  if (e.status === 403) title = t("error.forbidden.title");
  else if (e.status === 404) title = t("error.notfound.title");
  else if (e.status === 0) title = t("error.network");
  return errorBox(`${title} (${e.status || e.code})`, e.message);
}

setUnauthorizedHandler(() => {
  session = null;
  navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, true);
});
setLang(lang());
startRouter((r) => {
  render(r).catch((e) => {
    clear(app, h("main", { id: "main" }, errorBox(t("error.generic"), String(e))));
  });
});
