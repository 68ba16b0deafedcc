// Dead letters (GET /v1/admin/dead-letters): what could not be written to Postgres, with the
// reason and the payload as it was kept. The payload is editable: the operator fixes the data
// there, and Replay sends the fixed payload with the letter (POST .../replay { payload }), or
// the stored one when nothing was changed. An event that already landed is not applied twice.
// Discard closes a letter and keeps it for the audit trail (the "discarded" filter lists it).
import { h, mount, tableHead } from "../shop/dom";
import { admin, type DeadLetter, type DeadLetterStatus } from "./api";
import { showError, showOk } from "./notice";

type Filter = DeadLetterStatus | "all";
let filter: Filter = "open";
/** Payloads the operator opened stay open across the page's refreshes, and so does their text being fixed. */
const expanded = new Set<string>();
const edits = new Map<string, string>();
/** What the list was last drawn from: an unchanged list is not redrawn, so a payload being edited keeps its caret. */
let drawn = "";

const storedText = (letter: DeadLetter) => JSON.stringify(letter.payload, null, 2);

/** `{ payload }` when the operator changed the stored payload, `{}` when not; throws on text that is not JSON. */
function replayBody(letter: DeadLetter): { payload?: unknown } {
  const text = edits.get(letter.id);
  if (text === undefined || text === storedText(letter)) return {};
  try {
    return { payload: JSON.parse(text) };
  } catch {
    throw new Error("the edited payload is not valid JSON; fix it or undo the edit");
  }
}

export function deadLettersPath(): string {
  return `/v1/admin/dead-letters?status=${filter}`;
}

async function act(letter: DeadLetter, action: "replay" | "discard", refresh: () => Promise<void>): Promise<void> {
  try {
    const res = await admin<{ applied?: boolean }>(
      "POST",
      `/v1/admin/dead-letters/${encodeURIComponent(letter.id)}/${action}`,
      action === "replay" ? replayBody(letter) : undefined,
    );
    edits.delete(letter.id);
    const what = letter.eventId ?? letter.id;
    if (action === "discard") showOk(`Discarded ${what}; the record is kept.`);
    else if (res.applied) showOk(`Replayed ${what}: it landed in Postgres.`);
    else showOk(`Replayed ${what}: it had already landed, nothing applied again.`);
  } catch (err) {
    showError(err);
  }
  await refresh();
}

async function replayAll(refresh: () => Promise<void>): Promise<void> {
  try {
    const { replayed } = await admin<{ replayed: number }>("POST", "/v1/admin/dead-letters/replay");
    showOk(`Replayed ${replayed} open dead letter${replayed === 1 ? "" : "s"}.`);
  } catch (err) {
    showError(err);
  }
  await refresh();
}

function payloadView(letter: DeadLetter): HTMLElement {
  const editable = letter.status !== "discarded";
  const text = h("textarea", {
    "data-testid": "payload",
    "aria-label": `Payload of ${letter.eventId ?? letter.id}`,
    rows: 12,
    spellcheck: false,
    readOnly: !editable,
    oninput: () => edits.set(letter.id, text.value),
  });
  text.value = edits.get(letter.id) ?? storedText(letter);
  const details = h(
    "details",
    { open: expanded.has(letter.id) },
    h("summary", {}, editable ? "payload (edit to fix the data, then replay)" : "payload"),
    text,
  );
  details.addEventListener("toggle", () => {
    if (details.open) expanded.add(letter.id);
    else expanded.delete(letter.id);
  });
  return details;
}

export function drawDeadLetters(target: HTMLElement, letters: DeadLetter[], refresh: () => Promise<void>): void {
  const key = JSON.stringify([filter, letters]);
  if (key === drawn && target.querySelector("#dead-letter-filter")) return;
  drawn = key;
  const open = letters.filter((l) => l.status === "open").length;
  const choose = h(
    "select",
    {
      id: "dead-letter-filter",
      onchange: () => {
        filter = choose.value as Filter;
        void refresh();
      },
    },
    (["open", "replayed", "discarded", "all"] as const).map((f) =>
      h("option", { value: f, selected: f === filter }, f),
    ),
  );
  mount(
    target,
    h(
      "div",
      { class: "section-head" },
      h("h2", {}, "Dead letters"),
      h("label", { class: "inline" }, "Show", choose),
      h("button", { type: "button", disabled: open === 0, onclick: () => replayAll(refresh) }, "Replay all open"),
    ),
    letters.length === 0
      ? h(
          "p",
          { class: "muted", "data-testid": "no-dead-letters" },
          `No ${filter === "all" ? "" : `${filter} `}dead letters.`,
        )
      : h(
          "table",
          { "data-testid": "dead-letters" },
          tableHead("Received", "Queue", "Event", "Reason", "Status", "Actions"),
          h(
            "tbody",
            {},
            letters.map((l) =>
              h(
                "tr",
                { "data-dead-letter": l.id, "data-event": l.eventId ?? "", "data-status": l.status },
                h("td", {}, new Date(l.receivedAt).toLocaleString()),
                h("td", {}, l.queue),
                h("td", {}, h("code", {}, l.eventId ?? l.id), h("br", {}), h("span", { class: "muted" }, l.type ?? "")),
                h("td", { class: "reason" }, l.reason, payloadView(l)),
                h(
                  "td",
                  { class: `letter-status ${l.status}` },
                  l.status,
                  l.resolvedAt && h("br", {}),
                  l.resolvedAt && h("span", { class: "muted" }, new Date(l.resolvedAt).toLocaleTimeString()),
                ),
                h(
                  "td",
                  { class: "actions" },
                  // A replayed letter may be replayed again (a no-op once its event landed); a discarded one may not.
                  l.status !== "discarded" &&
                    h("button", { type: "button", onclick: () => act(l, "replay", refresh) }, "Replay"),
                  l.status === "open" &&
                    h(
                      "button",
                      { type: "button", class: "danger", onclick: () => act(l, "discard", refresh) },
                      "Discard",
                    ),
                ),
              ),
            ),
          ),
        ),
  );
}
