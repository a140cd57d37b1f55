// Quarantine: search, a safe preview (the API's text rendering, shown as text — the message's
// HTML is never rendered), release, release and approve the sender, delete, and the same for
// several messages at once (checkboxes). End users see their own messages only (the API decides).
import { del, enc, get, post, type QItem } from "../api";
import { button, chips, clear, field, fmtTime, h, input, say, select, table } from "../dom";
import { t, tv } from "../i18n";
import { navigate } from "../router";
import type { PageCtx } from "./index";
import { act, errText, formValues, list, parseSymbols } from "./util";

export async function quarantinePage(ctx: PageCtx, h1: HTMLElement): Promise<void> {
  const q = ctx.query;
  const isUser = ctx.session.role === "user";
  const isOp = ctx.session.role === "operator";
  const form = h("form", { class: "search", role: "search", "aria-label": t("q.search") },
    field(t("q.sender"), input("sender", q.get("sender") ?? "")),
    isUser ? null : field(t("q.recipient"), input("recipient", q.get("recipient") ?? "")),
    field(t("q.subject"), input("subject", q.get("subject") ?? "")),
    field(t("q.verdict"), select("verdict", [["", t("common.any")], ...["spam", "phishing", "malware", "bulk", "unscannable", "blocked", "dmarc_fail"]
      .map((v): [string, string] => [v, tv("verdict", v)])], q.get("verdict") ?? "")),
    field(t("q.status"), select("status", [["held", t("q.status.held")], ["released", t("q.status.released")],
      ["deleted", t("q.status.deleted")], ["any", t("common.any")]], q.get("status") ?? "held")),
    h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("common.search"))));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(form);
    const p = new URLSearchParams();
    if (q.get("tenant")) p.set("tenant", q.get("tenant") ?? "");
    for (const [k, x] of Object.entries(v)) if (x) p.set(k, x);
    navigate(`/quarantine?${p.toString()}`);
  });

  const query: Record<string, string> = { sort: "-received_at" };
  for (const k of ["tenant", "sender", "recipient", "subject", "verdict", "status"]) {
    const v = q.get(k);
    if (v) query[k] = v;
  }
  const items = await list<QItem>("/quarantine", query);

  const selected = new Set<string>();
  const preview = h("section", { class: "card preview", id: "preview", "aria-live": "polite", hidden: true });
  const count = h("span", { class: "muted", id: "selected-count" }, t("q.selected", { n: 0 }));
  const bulkRelease = button(t("q.bulk.release"), () => void bulk("release"), "", { id: "bulk-release", disabled: true });
  const bulkDelete = button(t("q.bulk.delete"), () => void bulk("delete"), "danger", { id: "bulk-delete", disabled: true });
  const syncBulk = () => {
    count.textContent = t("q.selected", { n: selected.size });
    bulkRelease.disabled = bulkDelete.disabled = selected.size === 0;
  };
  const boxes: HTMLInputElement[] = [];
  const all = h("input", { type: "checkbox", id: "select-all" });
  all.addEventListener("change", () => {
    for (const b of boxes) {
      b.checked = all.checked;
      if (all.checked) selected.add(b.value);
      else selected.delete(b.value);
    }
    syncBulk();
  });

  async function bulk(action: "release" | "delete"): Promise<void> {
    if (action === "delete" && !confirm(t("q.confirmDelete", { n: selected.size }))) return;
    try {
      const r = await post<{ results: { id: string; ok: boolean; error?: string }[] }>("/quarantine/bulk", { action, ids: [...selected] });
      const bad = r.results.filter((x) => !x.ok);
      say(bad.length ? t("q.bulk.partial", { ok: r.results.length - bad.length, bad: bad.length, why: bad.map((x) => `${x.id}: ${x.error}`).join("; ") })
        : t("q.bulk.done", { n: r.results.length }), bad.length ? "error" : "ok");
      ctx.rerender();
    } catch (e) {
      say(errText(e), "error");
    }
  }

  async function showPreview(it: QItem): Promise<void> {
    preview.hidden = false;
    clear(preview, h("h2", { tabindex: -1 }, t("q.preview.title", { subject: it.subject || t("q.noSubject") })), h("p", null, t("common.loading")));
    try {
      const p = await get<{ id: string; preview: string }>(`/quarantine/${enc(it.id)}/preview`);
      const syms = parseSymbols(it.symbols);
      const heading = h("h2", { tabindex: -1 }, t("q.preview.title", { subject: it.subject || t("q.noSubject") }));
      clear(preview, heading,
        h("dl", { class: "facts" },
          h("dt", null, t("q.sender")), h("dd", null, it.sender || "<>"),
          h("dt", null, t("q.recipient")), h("dd", null, it.recipient),
          h("dt", null, t("q.verdict")), h("dd", null, `${tv("verdict", it.verdict)} (${it.score.toFixed(1)})`),
          h("dt", null, t("q.reason")), h("dd", null, it.reason),
          h("dt", null, t("q.clientIp")), h("dd", null, it.client_ip)),
        syms.length ? h("div", null, h("h3", null, t("track.why")), chips(syms.map((s) => `${s.name} (${s.score})`))) : null,
        h("p", { class: "muted small" }, t("q.preview.safe")),
        h("pre", { class: "preview-text", id: "preview-text", tabindex: 0 }, p.preview), // text only
        rowActions(it, true));
      heading.focus();
    } catch (e) {
      clear(preview, h("p", { class: "form-error", role: "alert" }, errText(e)));
    }
  }

  function rowActions(it: QItem, big = false): HTMLElement {
    const label = (k: "q.preview" | "q.release" | "q.releaseApprove" | "q.delete") =>
      (!big && k === "q.releaseApprove" ? t("q.releaseApproveShort") : t(k));
    const aria = (k: "q.preview" | "q.release" | "q.releaseApprove" | "q.delete") => `${t(k)}: ${it.subject || it.id}`;
    const held = it.status === "held" && ctx.canWrite;
    return h("div", { class: big ? "row-actions big" : "row-actions" },
      big ? null : button(label("q.preview"), () => void showPreview(it), "small", { "aria-label": aria("q.preview"), "data-action": "preview" }),
      held ? button(label("q.release"), async () => {
        if (await act(() => post(`/quarantine/${enc(it.id)}/release`, {}), t("q.released", { subject: it.subject }))) ctx.rerender();
      }, "small", { "aria-label": aria("q.release"), "data-action": "release" }) : null,
      held ? button(label("q.releaseApprove"), async () => {
        if (await act(() => post(`/quarantine/${enc(it.id)}/release`, { approve_sender: true }), t("q.releasedApproved", { sender: it.sender }))) ctx.rerender();
      }, "small", { "aria-label": aria("q.releaseApprove"), "data-action": "release-approve" }) : null,
      held ? button(label("q.delete"), async () => {
        if (!confirm(t("q.confirmDelete", { n: 1 }))) return;
        if (await act(() => del(`/quarantine/${enc(it.id)}`), t("q.deleted"))) ctx.rerender();
      }, "small danger", { "aria-label": aria("q.delete"), "data-action": "delete" }) : null);
  }

  const tbl = table(t("q.results", { n: items.length }), [
    {
      label: "", cls: "check", cell: (it: QItem) => {
        if (it.status !== "held" || !ctx.canWrite) return null;
        const b = h("input", { type: "checkbox", value: it.id, "aria-label": t("q.select", { subject: it.subject || it.id }) });
        b.addEventListener("change", () => {
          if (b.checked) selected.add(it.id);
          else selected.delete(it.id);
          syncBulk();
        });
        boxes.push(b);
        return b;
      },
    },
    { label: t("q.received"), cell: (it) => fmtTime(it.received_at), cls: "time" },
    ...(isOp ? [{ label: t("common.tenant"), cell: (it: QItem) => it.tenant }] : []),
    { label: t("q.sender"), cell: (it) => it.sender || "<>" },
    { label: t("q.recipient"), cell: (it) => it.recipient },
    { label: t("q.subject"), cell: (it) => it.subject || t("q.noSubject"), cls: "subject" },
    { label: t("q.verdict"), cell: (it) => h("span", { class: `verdict v-${it.verdict}` }, `${tv("verdict", it.verdict)} ${it.score.toFixed(1)}`) },
    { label: t("q.status"), cell: (it) => tv("q.status", it.status), cls: "nowrap" },
    { label: t("common.actions"), cell: (it) => rowActions(it) },
  ], items, (it) => ({ "data-id": it.id }));
  const thCheck = tbl.querySelector("th");
  if (thCheck) thCheck.replaceChildren(h("span", { class: "sr-only" }, t("q.selectCol")));

  clear(ctx.main, h1,
    isUser ? h("p", { class: "muted" }, t("q.userIntro", { addresses: (ctx.session.addresses ?? []).join(", ") })) : null,
    form,
    !ctx.canWrite ? null : h("div", { class: "toolbar bulk", role: "group", "aria-label": t("q.bulk") },
      h("span", { class: "field check" }, all, h("label", { for: "select-all" }, t("q.selectAll"))), count, bulkRelease, bulkDelete),
    tbl, preview);
}
