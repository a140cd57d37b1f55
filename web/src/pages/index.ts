// The route table: each page's path pattern, title, the roles that may open it, and its renderer.
import type { Session } from "../api";
import type { Key } from "../i18n";
import { dashboardPage } from "./dashboard";
import { quarantinePage } from "./quarantine";
import { trackingPage } from "./tracking";
import { policiesPage } from "./policies";
import { sendersPage } from "./senders";
import { connectionPage } from "./connection";
import { domainsPage } from "./domains";
import { accountsPage } from "./accounts";
import { usersPage } from "./users";
import { auditPage } from "./audit";
import { settingsPage } from "./settings";
import { cookiesPage } from "./cookies";

export interface PageCtx {
  session: Session;
  tenant: string; // the tenant the page is about ("" = all, for operators)
  params: Record<string, string>;
  query: URLSearchParams;
  main: HTMLElement;
  rerender: () => void;
  canWrite: boolean;
}

export interface PageDef {
  pattern: string;
  title: Key;
  roles: Session["role"][];
  render: (ctx: PageCtx, h1: HTMLElement) => Promise<void>;
}

const ALL: Session["role"][] = ["operator", "admin", "auditor", "user"];
const STAFF: Session["role"][] = ["operator", "admin", "auditor"];

export const routes: PageDef[] = [
  { pattern: "/dashboard", title: "nav.dashboard", roles: STAFF, render: dashboardPage },
  { pattern: "/quarantine", title: "nav.quarantine", roles: ALL, render: quarantinePage },
  { pattern: "/tracking", title: "nav.tracking", roles: STAFF, render: trackingPage },
  { pattern: "/t/:tenant/policies", title: "nav.policies", roles: STAFF, render: policiesPage },
  { pattern: "/t/:tenant/senders", title: "nav.senders", roles: ALL, render: sendersPage },
  { pattern: "/t/:tenant/connection", title: "nav.connection", roles: STAFF, render: connectionPage },
  { pattern: "/t/:tenant/domains", title: "nav.domains", roles: STAFF, render: domainsPage },
  { pattern: "/t/:tenant/accounts", title: "nav.accounts", roles: STAFF, render: accountsPage },
  { pattern: "/users", title: "nav.users", roles: STAFF, render: usersPage },
  { pattern: "/audit", title: "nav.audit", roles: STAFF, render: auditPage },
  { pattern: "/settings", title: "nav.settings", roles: ALL, render: settingsPage },
  { pattern: "/cookies", title: "nav.cookies", roles: ALL, render: cookiesPage },
];
