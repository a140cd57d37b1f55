// English and Japanese UI strings. The choice is kept in localStorage (never a cookie); t() looks a
// key up in the current language and fills {name} placeholders. The Japanese dictionary has the
// type of the English one, so a missing key fails the type check.
import { en } from "./lang/en";
import { ja } from "./lang/ja";

export type Key = keyof typeof en;
export type Lang = "en" | "ja";
const dicts: Record<Lang, Record<Key, string>> = { en, ja };
const STORE = "mm.lang";

let current: Lang = initial();

function initial(): Lang {
  try {
    const v = localStorage.getItem(STORE);
    if (v === "en" || v === "ja") return v;
  } catch {
    /* storage disabled: fall back to the browser's language */
  }
  return navigator.language.toLowerCase().startsWith("ja") ? "ja" : "en";
}

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  try {
    localStorage.setItem(STORE, l);
  } catch {
    /* not remembered */
  }
  document.documentElement.lang = l;
}

export function t(key: Key, params: Record<string, string | number> = {}): string {
  const s = dicts[current][key] ?? en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k: string) => (k in params ? String(params[k]) : `{${k}}`));
}

// Some API values (verdicts, events, roles) have a label of their own when the dictionary has one.
export function tv(prefix: string, value: string): string {
  const k = `${prefix}.${value}` as Key;
  return k in en ? t(k) : value;
}
