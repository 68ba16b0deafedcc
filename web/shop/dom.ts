// A tiny element builder: h("button", { onclick }, "text"). Text is always set as text, never as HTML.
type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value as EventListener);
    else if (key === "class") el.className = String(value);
    else if (key in el && typeof value !== "string") (el as unknown as Record<string, unknown>)[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** A table's header row: one column header per label. */
export function tableHead(...labels: Child[]): HTMLTableSectionElement {
  return h("thead", {}, h("tr", {}, ...labels.map((label) => h("th", { scope: "col" }, label))));
}

export function mount(target: Element, ...children: Child[]): void {
  target.replaceChildren();
  append(target, children);
}

export function money(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount / 100);
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency}`;
  }
}

export function specText(spec: unknown): string {
  if (!spec) return "";
  if (typeof spec === "string") return spec;
  return Object.entries(spec as Record<string, string>)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
}

/** "4:59" / "1:02:03" until `at`; "0:00" once past. */
export function countdown(at: string | Date, now = Date.now()): string {
  let s = Math.max(0, Math.floor((new Date(at).getTime() - now) / 1000));
  const hh = Math.floor(s / 3600);
  s -= hh * 3600;
  const mm = Math.floor(s / 60);
  const ss = String(s - mm * 60).padStart(2, "0");
  return hh > 0 ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}
