// History routing: paths like /quarantine or /t/acme/policies (the API server answers index.html
// for any extensionless path outside /api/). Links marked data-link are followed without a reload.
export interface Route {
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
}

type Listener = (r: Route) => void;
let listener: Listener | null = null;

export function current(): Route {
  return { path: location.pathname, params: {}, query: new URLSearchParams(location.search) };
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  listener?.(current());
}

export function startRouter(f: Listener): void {
  listener = f;
  window.addEventListener("popstate", () => f(current()));
  document.addEventListener("click", (e) => {
    const a = (e.target as Element | null)?.closest?.("a[data-link]");
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(a.getAttribute("href") ?? "/");
  });
  f(current());
}

// Matches "/t/:tenant/policies" against a path; null when it does not match.
export function match(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split("/").filter(Boolean);
  const xs = path.split("/").filter(Boolean);
  if (ps.length !== xs.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i] ?? "";
    const x = xs[i] ?? "";
    if (p.startsWith(":")) out[p.slice(1)] = decodeURIComponent(x);
    else if (p !== x) return null;
  }
  return out;
}
