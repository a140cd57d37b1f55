// The API client: same-origin fetch with the session cookie, the CSRF token (from the mm_csrf
// cookie or the login answer) on every write, and errors turned into ApiError from the API's body
// {"error":{"code","message","field"}}.
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public field: string | null = null,
  ) {
    super(message);
  }
}

export interface Page<T> {
  items: T[];
  total: number;
  next_cursor: string | null;
}

let csrf = "";
export function setCsrf(token: string | null | undefined): void {
  csrf = token ?? "";
}
function csrfToken(): string {
  const m = /(?:^|;\s*)mm_csrf=([^;]+)/.exec(document.cookie);
  return m?.[1] ? decodeURIComponent(m[1]) : csrf;
}

// Called when any request answers 401 outside the login (session expired): back to the login.
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function qs(q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== null && v !== undefined && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}

export async function api<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}${qs(query)}`, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, "network", e instanceof Error ? e.message : String(e));
  }
  const text = await res.text();
  let data: unknown = null;
  if (text && (res.headers.get("Content-Type") ?? "").includes("json")) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string; field?: string | null } } | null)?.error;
    const e = new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? (text.slice(0, 200) || res.statusText), err?.field ?? null);
    if (res.status === 401 && path !== "/login" && path !== "/session" && onUnauthorized) onUnauthorized();
    throw e;
  }
  return data as T;
}

export const get = <T>(path: string, query?: Query) => api<T>("GET", path, undefined, query);
export const post = <T>(path: string, body?: unknown, query?: Query) => api<T>("POST", path, body ?? {}, query);
export const put = <T>(path: string, body?: unknown, query?: Query) => api<T>("PUT", path, body ?? {}, query);
export const patch = <T>(path: string, body?: unknown) => api<T>("PATCH", path, body ?? {});
export const del = <T>(path: string, query?: Query) => api<T>("DELETE", path, undefined, query);

export const enc = encodeURIComponent;

// --- shapes (docs/openapi.json) ---
export type Role = "operator" | "admin" | "auditor" | "user";
export interface Session {
  user: string;
  role: Role;
  tenant: string;
  addresses?: string[];
  write?: boolean;
  csrf_token?: string | null;
  totp?: boolean;
}
export interface Tenant {
  name: string;
  licensed_accounts: number;
  suspended_inbound: boolean;
  suspended_outbound: boolean;
  suspend_reason: string;
  quarantine_days: number;
  tracking_days: number;
  user_release: string;
  contact: { name: string; email: string; phone: string };
}
export interface QItem {
  id: string;
  tenant: string;
  queue_id: string;
  recipient: string;
  sender: string;
  subject: string;
  message_id: string;
  client_ip: string;
  verdict: string;
  score: number;
  reason: string;
  symbols: string;
  size: number;
  received_at: number;
  expires_at: number;
  status: string;
  acted_at: number;
  acted_by: string;
}
export interface Summary {
  queue_id: string;
  tenant: string;
  ts_us: number;
  sender: string;
  recipients: string;
  subject: string;
  message_id: string;
  client_ip: string;
  verdict: string;
  score: number;
  action: string;
}
export interface TrackEvent {
  queue_id: string;
  ts_us: number;
  event: string;
  recipient: string;
  detail: string;
  tenant: string;
}
export interface SenderEntry {
  id: number;
  tenant: string;
  owner: string;
  kind: "allow" | "block";
  pattern: string;
  expires_at: number;
  created_at: number;
  created_by: string;
}
export interface PolicyRow {
  tenant: string;
  level: string;
  target: string;
  spec: string;
  updated_at: number;
}
export interface Domain {
  name: string;
  tenant: string;
  recipient_validation: boolean;
  tls: string;
  routes: { host: string; port: number; preference: number }[];
  created_at: number;
}
export interface Account {
  id: number;
  tenant: string;
  address: string;
  aliases: string[] | string;
  display_name: string;
  created_at: number;
}
export interface Usage {
  tenant: string;
  licensed: number;
  accounts: number;
  seen: number;
  in_use: number;
  over: boolean;
  term_start: number;
  term_end: number;
  term_active: boolean;
}
export interface User {
  name: string;
  tenant: string;
  role: Role;
  account: string;
  disabled: boolean;
  created_at: number;
  password_changed_at: number;
  totp?: boolean;
}
export interface Token {
  id: number;
  user: string;
  label: string;
  tenant: string;
  access: "read" | "write";
  created_at: number;
  expires_at: number;
  revoked: boolean;
  token?: string;
}
export interface AuditEntry {
  id: number;
  ts: number;
  actor: string;
  tenant: string;
  client_ip: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}
export interface Stats {
  bucket: string;
  from: number;
  to: number;
  series: Record<string, number>[];
  top_blocked_senders: { sender: string; count: number }[];
  top_blocked_ips?: { ip: string; count: number }[];
  queue: { messages: number; deferred: number; held: number } | null;
  licence: { tenant: string; licensed: number; used: number }[];
}
